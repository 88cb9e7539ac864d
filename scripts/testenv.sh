#!/bin/sh
# Idempotent setup of what rprov's integration tests need on a fresh Debian machine:
# OpenSSH server (started per test by rprov-testbed, never as a system service),
# sudo, iproute2 (network namespaces for multi-host fleets), vagrant (only to
# `vagrant validate` vagrant/Vagrantfile: no provider is installed), cron (its `crontab`
# for the cron module; the daemon is never started), acl (`setfacl`, with which
# ansible-core lets an unprivileged `become_user` read its module files, as on
# ansible-test's hosts), locales (the en_US.UTF-8 locale, which ansible-core's
# `tags` target runs its listings under, as ansible-test's containers have it),
# and two local users:
#   rprovtest  passwordless sudo        (the normal test login)
#   rprovpw    sudo that wants a password (for the "sudo wants a password" test)
# Safe to re-run: it checks before it changes anything. Runs as root, no stdin.
set -eu

if [ "$(id -u)" -ne 0 ]; then
    echo "testenv.sh: must run as root" >&2
    exit 1
fi

PACKAGES="openssh-server openssh-client sudo iproute2 passwd age bsdutils vagrant cron acl locales"

missing=""
for p in $PACKAGES; do
    if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed'; then
        missing="$missing $p"
    fi
done

if [ -n "$missing" ]; then
    echo "testenv.sh: installing$missing"
    # policy-rc.d (exit 101) keeps the package scripts from starting a system sshd
    # on :22; the tests start their own. Create one only if the machine has none,
    # and leave an existing one untouched.
    created_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        created_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        $missing </dev/null
    if [ -n "$created_policy" ]; then
        rm -f /usr/sbin/policy-rc.d
    fi
fi

# The en_US.UTF-8 locale, generated once.
if ! locale -a 2>/dev/null | grep -qi '^en_US\.utf-\?8$'; then
    echo "testenv.sh: generating the en_US.UTF-8 locale"
    sed -i 's/^# *\(en_US\.UTF-8 UTF-8\)/\1/' /etc/locale.gen
    grep -q '^en_US\.UTF-8 UTF-8' /etc/locale.gen || echo 'en_US.UTF-8 UTF-8' >> /etc/locale.gen
    locale-gen >/dev/null
fi

# sshd refuses to start without its privilege-separation directory.
mkdir -p /run/sshd
chmod 755 /run/sshd

ensure_user() {
    if ! id "$1" >/dev/null 2>&1; then
        echo "testenv.sh: creating user $1"
        useradd --create-home --home-dir "/home/$1" --shell /bin/sh "$1"
    fi
    # A locked account ("!" in shadow) is refused by sshd even for key logins
    # when UsePAM is off; "*" means "no password" without locking.
    if [ "$(getent shadow "$1" | cut -d: -f2)" = "!" ]; then
        usermod -p '*' "$1"
    fi
}

write_sudoers() {
    # $1 = user, $2 = rule. Validated with visudo before it is put in place.
    file="/etc/sudoers.d/$1"
    tmp="$(mktemp)"
    printf '%s\n' "$2" > "$tmp"
    if ! cmp -s "$tmp" "$file" 2>/dev/null; then
        visudo -cq -f "$tmp"
        install -m 0440 -o root -g root "$tmp" "$file"
        echo "testenv.sh: wrote $file"
    fi
    rm -f "$tmp"
}

ensure_user rprovtest
write_sudoers rprovtest 'rprovtest ALL=(ALL:ALL) NOPASSWD: ALL'

ensure_user rprovpw
# A real password hash nobody knows: sudo asks for it, and with -n it fails.
write_sudoers rprovpw 'rprovpw ALL=(ALL:ALL) ALL'

echo "testenv.sh: ready"
