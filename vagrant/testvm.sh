#!/usr/bin/env bash
# testvm.sh — the local Debian trixie test VM for rprov's end-to-end tests.
#
# For machines without Vagrant (developers' machines and CI): builds a Debian
# trixie image with debootstrap and boots it under qemu (software emulation,
# TCG), with sshd forwarded to 127.0.0.1:${RPROV_VM_PORT:-2222}. Same user,
# key and host key as the Vagrant box (see Vagrantfile and README.md), so the
# inventory group `vagrant` works for both.
#
# Run `testvm.sh help` for the commands.
set -euo pipefail

# ---------------------------------------------------------------- settings --

SCRIPT_PATH=$(readlink -f "${BASH_SOURCE[0]}")
VAGRANT_DIR=$(dirname "$SCRIPT_PATH")
VM_DIR="$VAGRANT_DIR/.vm"                      # keys, pid, console log (gitignored)
CACHE_ROOT="${XDG_CACHE_HOME:-$HOME/.cache}/rprov/vm"

PORT="${RPROV_VM_PORT:-2222}"
# Caddy in the guest, reachable from the controller (the main job prints these).
HTTP_PORT="${RPROV_VM_HTTP_PORT:-8080}"
HTTPS_PORT="${RPROV_VM_HTTPS_PORT:-8443}"
MEMORY_MB="${RPROV_VM_MEMORY:-2048}"
CPUS="${RPROV_VM_CPUS:-2}"
BOOT_TIMEOUT="${RPROV_VM_BOOT_TIMEOUT:-240}"    # seconds to wait for ssh
# The Debian mirror for the build and for backports: RPROV_VM_MIRROR, else the
# one this machine's apt uses (see resolve_mirror), else deb.debian.org.
MIRROR="${RPROV_VM_MIRROR:-}"

SUITE=trixie
IMAGE_SIZE=6G
VM_HOSTNAME=rprov-vm
VM_USER=vagrant
# Fixed, so that journal and anything keyed on it are stable across builds.
MACHINE_ID=3f1c0a6e2b7d4e5f9a8b7c6d5e4f3a2b

# What the roles need must already be in the image: the guest has no network
# beyond the forwarded ssh port (no apt, no registry).
PACKAGES=(
  systemd-sysv dbus dbus-user-session libpam-systemd systemd-container
  openssh-server sudo curl ca-certificates iproute2
  podman uidmap passt netavark aardvark-dns catatonit fuse-overlayfs
  caddy busybox-static
  ufw fail2ban unattended-upgrades netcat-openbsd
  linux-image-cloud-amd64 initramfs-tools
  # ansible-core's system integration targets (tests/vm_conformance.rs):
  # ansible-playbook needs python3 (and python3-apt for its apt module) in
  # the guest; the cron target's setup_cron role installs cron and
  # libfaketime, and the user and group targets libuser (luseradd and
  # lgroupadd, for `local: true`), which must be there already.
  # libnss-myhostname resolves whatever the host name is: the hostname
  # target renames the guest, and sudo would otherwise wait on a DNS server
  # it cannot reach, longer than ansible waits for its become prompt.
  python3 python3-apt cron libfaketime libuser libnss-myhostname
)

USER_KEY="$VM_DIR/id_ed25519"                  # authorized for $VM_USER
HOST_KEY="$VM_DIR/ssh_host_ed25519_key"        # the guest's sshd host key
KNOWN_HOSTS="$VM_DIR/known_hosts"
PID_FILE="$VM_DIR/qemu.pid"
CONSOLE_LOG="$VM_DIR/console.log"

SSH_OPTS=(
  -F none
  -i "$USER_KEY"
  -o IdentitiesOnly=yes
  -o UserKnownHostsFile="$KNOWN_HOSTS"
  -o GlobalKnownHostsFile=/dev/null
  -o StrictHostKeyChecking=yes
  -o BatchMode=yes
  -o ConnectTimeout=10
  -o LogLevel=ERROR
  -p "$PORT"
)

# ----------------------------------------------------------------- helpers --

T0=$SECONDS
log()  { printf '[testvm %4ds] %s\n' "$((SECONDS - T0))" "$*" >&2; }
die()  { printf 'testvm: error: %s\n' "$*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

usage() {
  cat <<EOF
Usage: vagrant/testvm.sh COMMAND [ARGS...]

The local Debian trixie test VM (qemu, software emulation), for machines
without Vagrant. sshd is forwarded to 127.0.0.1:$PORT, user $VM_USER.

Commands:
  deps          install debootstrap, qemu-system-x86 (from backports on
                bookworm), e2fsprogs and openssh-client via apt (root)
  build         build the image if not cached (root; needs network to the
                Debian mirror). Cache: $CACHE_ROOT/<sha256>/
  up            build if needed, boot the VM and wait until ssh answers
  down          stop the VM (SIGTERM, SIGKILL after a grace period)
  status        say whether the VM runs and answers ssh
  ssh [CMD...]  run CMD in the VM as $VM_USER (a login shell without CMD)
  reboot        reboot the guest and wait until ssh answers again
  path          print the cache directory of the current image
  mirror        print the Debian mirror (and proxy) build and deps would use
  clean         remove cached images other than the current one
  help          this text

Environment:
  RPROV_VM_PORT          host port forwarded to the guest's sshd (2222)
  RPROV_VM_MEMORY        guest memory in MiB (2048)
  RPROV_VM_CPUS          guest vCPUs (2)
  RPROV_VM_BOOT_TIMEOUT  seconds to wait for ssh after boot (240)
  RPROV_VM_MIRROR        Debian mirror for the build and backports (default: the
                         one in this machine's apt sources, else deb.debian.org)
  XDG_CACHE_HOME         cache root (~/.cache)

Files in vagrant/.vm/: id_ed25519 (the login key), ssh_host_ed25519_key
(the guest's host key), known_hosts, qemu.pid, console.log (serial console).
The disk runs with snapshot=on: every 'up' starts from the clean image; a
'reboot' keeps the state, a 'down' throws it away.
EOF
}

# Sets MIRROR, unless RPROV_VM_MIRROR gave it, to the Debian archive this
# machine's apt is configured with (the source of its own release, as `apt-get
# indextargets` reads sources.list and sources.list.d), so that a build behind a
# local mirror or an apt cache goes where apt goes; and, when apt has an HTTP
# proxy (Acquire::http::Proxy) and the environment none, exports it for
# debootstrap. Only on Debian: another distribution's mirror has no trixie.
resolve_mirror() {
  if [[ -z $MIRROR ]]; then
    local id codename
    # shellcheck disable=SC1091
    id=$(. /etc/os-release && echo "${ID:-}")
    # shellcheck disable=SC1091
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    if [[ $id == debian && -n $codename ]] && have apt-get; then
      # shellcheck disable=SC2016
      MIRROR=$(apt-get indextargets --no-release-info --format '$(RELEASE) $(REPO_URI)' 'Identifier: Packages' 2>/dev/null |
        awk -v s="$codename" '$1 == s { print $2; exit }')
      MIRROR=${MIRROR%/}
    fi
    if [[ -n $MIRROR ]]; then
      log "mirror: $MIRROR (from this machine's apt sources; set RPROV_VM_MIRROR to override)"
    else
      MIRROR=http://deb.debian.org/debian
      log "mirror: $MIRROR (none found in apt's sources; set RPROV_VM_MIRROR to override)"
    fi
  fi
  if [[ -z ${http_proxy:-} ]] && have apt-config; then
    local proxy
    proxy=$(apt-config shell P Acquire::http::Proxy 2>/dev/null | sed -n "s/^P='\(.*\)'$/\1/p")
    if [[ -n $proxy && $proxy != DIRECT ]]; then
      export http_proxy=$proxy
      log "proxy: $proxy (apt's Acquire::http::Proxy)"
    fi
  fi
}

need_root() { [[ $(id -u) -eq 0 ]] || die "'$1' must run as root (it uses ${2:-apt-get})"; }

need_cmds() {
  local missing=() c
  for c in "$@"; do have "$c" || missing+=("$c"); done
  ((${#missing[@]} == 0)) ||
    die "missing command(s): ${missing[*]} — run 'vagrant/testvm.sh deps' (as root)"
}

# ---------------------------------------------------------------------- deps --

# Commands this script needs, and the Debian package providing each.
declare -A DEP_PKG=(
  [debootstrap]=debootstrap
  [mke2fs]=e2fsprogs
  [ssh]=openssh-client
  [ssh-keygen]=openssh-client
  [qemu-system-x86_64]=qemu-system-x86
  [flock]=util-linux
)

cmd_deps() {
  local missing=() c
  for c in "${!DEP_PKG[@]}"; do have "$c" || missing+=("${DEP_PKG[$c]}"); done
  if ((${#missing[@]} == 0)); then
    log "deps: all present ($(qemu-system-x86_64 --version | head -n1))"
    return 0
  fi
  need_root deps
  resolve_mirror
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  log "deps: installing ${missing[*]}"

  local codename
  # shellcheck disable=SC1091
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  local apt_opts=() target=()
  local tmp
  tmp=$(mktemp -d)
  # shellcheck disable=SC2064
  trap "rm -rf '$tmp'" RETURN
  if [[ $codename == bookworm ]] && [[ " ${missing[*]} " == *" qemu-system-x86 "* ]]; then
    # bookworm's qemu 7.2 conflicts with qemu-utils 10 (from backports) on
    # these machines: take qemu from bookworm-backports. The extra source is
    # given to apt on the command line only; /etc/apt is not touched.
    mkdir -p "$tmp/sources.list.d"
    local f
    for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
      [[ -e $f ]] && ln -s "$f" "$tmp/sources.list.d/"
    done
    cat >"$tmp/sources.list.d/rprov-bookworm-backports.sources" <<EOF
Types: deb
URIs: $MIRROR
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    apt_opts=(-o "Dir::Etc::SourceParts=$tmp/sources.list.d")
    target=(-t bookworm-backports)
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get "${apt_opts[@]}" update -q >"$tmp/update.log" 2>&1 ||
    { tail -n 20 "$tmp/update.log" >&2; die "apt-get update failed"; }
  apt-get "${apt_opts[@]}" install -y -q --no-install-recommends "${target[@]}" "${missing[@]}" \
    >"$tmp/install.log" 2>&1 ||
    { tail -n 30 "$tmp/install.log" >&2; die "apt-get install ${missing[*]} failed"; }
  for c in "${!DEP_PKG[@]}"; do have "$c" || die "still missing after install: $c"; done
  log "deps: done ($(qemu-system-x86_64 --version | head -n1))"
}

# ---------------------------------------------------------------------- keys --

ensure_keys() {
  mkdir -p "$VM_DIR"
  if [[ ! -f $USER_KEY ]]; then
    need_cmds ssh-keygen
    log "generating login key $USER_KEY"
    ssh-keygen -q -t ed25519 -N '' -C "rprov-testvm" -f "$USER_KEY"
  fi
  if [[ ! -f $HOST_KEY ]]; then
    need_cmds ssh-keygen
    log "generating guest host key $HOST_KEY"
    ssh-keygen -q -t ed25519 -N '' -C "root@$VM_HOSTNAME" -f "$HOST_KEY"
  fi
  write_known_hosts
}

# ssh checks the guest strictly against the host key baked into the image.
write_known_hosts() {
  local line
  line="[127.0.0.1]:$PORT $(cut -d' ' -f1,2 "$HOST_KEY.pub")"
  [[ -f $KNOWN_HOSTS ]] && grep -qxF "$line" "$KNOWN_HOSTS" && return 0
  # Drop a stale entry for this port, keep entries for other ports.
  {
    if [[ -f $KNOWN_HOSTS ]]; then grep -v "^\[127\.0\.0\.1\]:$PORT " "$KNOWN_HOSTS" || true; fi
    echo "$line"
  } >"$KNOWN_HOSTS.tmp"
  mv "$KNOWN_HOSTS.tmp" "$KNOWN_HOSTS"
}

# The cache key: this script and every file it copies into the image.
cache_key() {
  cat "$SCRIPT_PATH" "$USER_KEY.pub" "$HOST_KEY" "$HOST_KEY.pub" | sha256sum | cut -c1-64
}

image_dir() { echo "$CACHE_ROOT/$(cache_key)"; }

# --------------------------------------------------------------------- build --

BUILD_TMP=""
build_cleanup() {
  [[ -n $BUILD_TMP && -d $BUILD_TMP ]] || return 0
  # debootstrap mounts proc/sys (and may bind /dev) inside the rootfs.
  local m
  findmnt -rn -o TARGET | grep -F "$BUILD_TMP/" | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf --one-file-system "$BUILD_TMP"
}

# step "description" command...: run a build step, log its duration, and on
# failure print the tail of its log.
step() {
  local what=$1; shift
  local t=$SECONDS
  log "$what ..."
  if ! "$@" >>"$BUILD_TMP/build.log" 2>&1; then
    tail -n 30 "$BUILD_TMP/build.log" >&2
    die "image build failed during: $what (log above)"
  fi
  log "$what: done in $((SECONDS - t))s"
}

cmd_build() {
  ensure_keys
  local dest
  dest=$(image_dir)
  if [[ -f $dest/rootfs.img ]]; then
    log "image present: $dest"
    return 0
  fi
  need_root build debootstrap
  need_cmds debootstrap mke2fs chroot flock findmnt sha256sum
  resolve_mirror
  mkdir -p "$CACHE_ROOT"
  exec 9>"$CACHE_ROOT/.lock"
  if ! flock -n 9; then
    log "another image build holds $CACHE_ROOT/.lock; waiting for it to finish"
    flock 9
  fi
  if [[ -f $dest/rootfs.img ]]; then # built by a concurrent run meanwhile
    log "image present: $dest"
    exec 9>&-
    return 0
  fi
  # Under the lock, a leftover build dir is from a run that was killed.
  local stale
  for stale in "$CACHE_ROOT"/.build.*; do
    [[ -d $stale ]] || continue
    log "removing leftover $stale"
    BUILD_TMP=$stale build_cleanup
  done
  local t0=$SECONDS
  BUILD_TMP=$(mktemp -d "$CACHE_ROOT/.build.XXXXXX")
  trap build_cleanup EXIT
  local root="$BUILD_TMP/rootfs"
  log "building Debian $SUITE image in $BUILD_TMP (log: build.log there)"

  step "debootstrap $SUITE (minbase + ${#PACKAGES[@]} packages)" \
    debootstrap --variant=minbase --include="$(IFS=,; echo "${PACKAGES[*]}")" \
    "$SUITE" "$root" "$MIRROR"
  # A separate process, so that errexit holds inside (it does not in a
  # function called from an 'if').
  step "configure the guest" bash "$SCRIPT_PATH" _configure "$root"
  step "mke2fs $IMAGE_SIZE" \
    mke2fs -F -q -t ext4 -L rprov-root -d "$root" "$BUILD_TMP/rootfs.img" "$IMAGE_SIZE"

  log "copying kernel and initrd, writing the manifest, removing the tree ..."
  local kernel initrd
  kernel=$(find "$root/boot" -name 'vmlinuz-*' | sort -V | tail -n1)
  initrd=$(find "$root/boot" -name 'initrd.img-*' | sort -V | tail -n1)
  [[ -n $kernel && -n $initrd ]] || die "image build failed: no kernel or initrd in $root/boot"
  cp "$kernel" "$BUILD_TMP/vmlinuz"
  cp "$initrd" "$BUILD_TMP/initrd.img"
  # shellcheck disable=SC2016 # dpkg-query's format, not shell
  chroot "$root" dpkg-query -W -f '${Package} ${Version}\n' >"$BUILD_TMP/packages.txt"
  {
    echo "suite: $SUITE"
    echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "build_seconds: $((SECONDS - t0))"
    echo "kernel: $(basename "$kernel")"
    echo "used: $(du -sh --apparent-size "$root" | cut -f1)"
    grep -E '^(podman|caddy|systemd|openssh-server|passt) ' "$BUILD_TMP/packages.txt" | sed 's/^/package: /'
  } >"$BUILD_TMP/manifest"
  rm -rf --one-file-system "$root"

  # Only a complete build becomes a cache entry.
  mv "$BUILD_TMP" "$dest"
  BUILD_TMP=""
  trap - EXIT
  log "image ready in $((SECONDS - t0))s: $dest ($(du -sh "$dest/rootfs.img" | cut -f1) on disk)"
  # Let go of the build lock: `up` goes on to start qemu, which would
  # otherwise inherit it and hold it for as long as the VM runs, so that
  # any other checkout's build waited for that VM to stop.
  exec 9>&-
}

# Configure the debootstrapped tree at $1 (runs with output to build.log).
configure_rootfs() {
  local r=$1
  set -x
  echo "$VM_HOSTNAME" >"$r/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost ip6-localhost ip6-loopback\n' \
    "$VM_HOSTNAME" >"$r/etc/hosts"
  echo "$MACHINE_ID" >"$r/etc/machine-id"
  echo '/dev/vda / ext4 rw,errors=remount-ro 0 1' >"$r/etc/fstab"

  # Network: static address on qemu's user-mode net, so boot doesn't wait
  # for DHCP.
  cat >"$r/etc/systemd/network/10-qemu-user.network" <<'EOF'
[Match]
Name=en* eth*

[Network]
Address=10.0.2.15/24
Gateway=10.0.2.2
DNS=10.0.2.3
LinkLocalAddressing=no
IPv6AcceptRA=no
EOF
  systemctl --root="$r" enable systemd-networkd.service
  systemctl --root="$r" mask systemd-networkd-wait-online.service
  systemctl --root="$r" enable serial-getty@ttyS0.service

  # sshd: only our fixed host key, no reverse DNS, keys only.
  rm -f "$r"/etc/ssh/ssh_host_*
  install -m 0600 "$HOST_KEY" "$r/etc/ssh/ssh_host_ed25519_key"
  install -m 0644 "$HOST_KEY.pub" "$r/etc/ssh/ssh_host_ed25519_key.pub"
  cat >"$r/etc/ssh/sshd_config.d/10-rprov-testvm.conf" <<'EOF'
HostKey /etc/ssh/ssh_host_ed25519_key
UseDNS no
PasswordAuthentication no
KbdInteractiveAuthentication no
EOF
  systemctl --root="$r" enable ssh.service

  # The login user, as on a Vagrant box: passwordless sudo, our key.
  chroot "$r" useradd --create-home --shell /bin/bash --groups sudo "$VM_USER"
  chroot "$r" usermod --password '*' "$VM_USER"   # no password, not "locked"
  grep -q "^$VM_USER:" "$r/etc/subuid" 2>/dev/null || echo "$VM_USER:100000:65536" >>"$r/etc/subuid"
  grep -q "^$VM_USER:" "$r/etc/subgid" 2>/dev/null || echo "$VM_USER:100000:65536" >>"$r/etc/subgid"
  echo "$VM_USER ALL=(ALL) NOPASSWD:ALL" >"$r/etc/sudoers.d/$VM_USER"
  chmod 0440 "$r/etc/sudoers.d/$VM_USER"
  install -d -m 0700 "$r/home/$VM_USER/.ssh"
  install -m 0600 "$USER_KEY.pub" "$r/home/$VM_USER/.ssh/authorized_keys"
  chroot "$r" chown -R "$VM_USER:$VM_USER" "/home/$VM_USER/.ssh"

  # The kernel's postinst may have run before initramfs-tools was set up.
  if ! compgen -G "$r/boot/initrd.img-*" >/dev/null; then
    local kver
    kver=$(basename "$(find "$r/lib/modules" -mindepth 1 -maxdepth 1 | sort -V | tail -n1)")
    mount -t proc proc "$r/proc"
    chroot "$r" update-initramfs -c -k "$kver" || { umount "$r/proc"; return 1; }
    umount "$r/proc"
  fi

  # Smaller image: no downloaded .debs.
  rm -f "$r"/var/cache/apt/archives/*.deb "$r"/var/cache/apt/*.bin
  set +x
}

cmd_clean() {
  ensure_keys
  local cur d
  cur=$(image_dir)
  for d in "$CACHE_ROOT"/*/; do
    d=${d%/}
    [[ -d $d && $d != "$cur" ]] || continue
    log "removing $d ($(du -sh "$d" | cut -f1))"
    rm -rf --one-file-system "$d"
  done
  log "kept $cur"
}

# ------------------------------------------------------------------- running --

qemu_pid() {
  # Print the pid if the pid file names a live qemu process.
  [[ -f $PID_FILE ]] || return 1
  local pid
  pid=$(<"$PID_FILE")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q qemu-system || return 1
  echo "$pid"
}

# During boot, sshd may accept a connection but the login (PAM, logind) can
# hang for a while: bound each try.
ssh_ok() {
  timeout 20 ssh "${SSH_OPTS[@]}" -o ConnectTimeout=5 "$VM_USER@127.0.0.1" true </dev/null >/dev/null 2>&1
}

# The console log holds systemd's colours and cursor moves.
strip_ansi() { sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/\r//g'; }

console_tail() {
  if [[ -s $CONSOLE_LOG ]]; then
    echo "---- last lines of $CONSOLE_LOG ----" >&2
    tail -n 40 "$CONSOLE_LOG" | strip_ansi >&2
    echo "----" >&2
  else
    echo "(console log $CONSOLE_LOG is empty)" >&2
  fi
}

# wait_ssh WHAT [BOOT_ID_TO_DIFFER_FROM]: poll until ssh answers (and, after a
# reboot, answers from a new boot); fail with the console tail on timeout.
wait_ssh() {
  local what=$1 old_boot=${2:-} t=$SECONDS last=0 pid
  while :; do
    pid=$(qemu_pid) || { console_tail; die "qemu exited while waiting for $what"; }
    if ssh_ok; then
      if [[ -z $old_boot ]]; then break; fi
      local now
      now=$(ssh "${SSH_OPTS[@]}" "$VM_USER@127.0.0.1" cat /proc/sys/kernel/random/boot_id </dev/null 2>/dev/null || true)
      [[ -n $now && $now != "$old_boot" ]] && break
    fi
    if ((SECONDS - t >= BOOT_TIMEOUT)); then
      console_tail
      if [[ ${RPROV_VM_KEEP:-} == 1 ]]; then
        die "ssh did not answer within ${BOOT_TIMEOUT}s ($what); the VM still runs (pid $pid, RPROV_VM_KEEP=1)"
      fi
      cmd_down
      die "ssh did not answer within ${BOOT_TIMEOUT}s ($what); stopped the VM (RPROV_VM_KEEP=1 keeps it running)"
    fi
    if ((SECONDS - last >= 10)); then
      last=$SECONDS
      local hint=""
      [[ -s $CONSOLE_LOG ]] && hint=$(tail -n1 "$CONSOLE_LOG" | strip_ansi | cut -c1-70)
      log "waiting for ssh ($what), $((SECONDS - t))s${hint:+ — console: $hint}"
    fi
    sleep 2
  done
  log "ssh answers after $((SECONDS - t))s ($what)"
}

cmd_up() {
  need_cmds qemu-system-x86_64 ssh ssh-keygen
  local pid
  if pid=$(qemu_pid); then
    ensure_keys
    if ssh_ok; then
      log "already running (pid $pid), ssh answers on 127.0.0.1:$PORT"
      return 0
    fi
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "hostfwd=tcp:127.0.0.1:$PORT-:22" ||
      die "the VM (pid $pid) runs with another ssh port than $PORT (RPROV_VM_PORT); 'vagrant/testvm.sh down' first"
    log "qemu runs (pid $pid) but ssh does not answer yet; waiting"
    wait_ssh "boot"
    return 0
  fi
  rm -f "$PID_FILE"
  cmd_build
  local dir
  dir=$(image_dir)
  [[ -f $dir/rootfs.img && -f $dir/vmlinuz && -f $dir/initrd.img ]] ||
    die "image incomplete in $dir: remove it and run 'vagrant/testvm.sh build'"
  # No KVM on purpose: /dev/kvm on these machines cannot run a stock kernel
  # at speed, so qemu emulates (TCG) everywhere.

  log "booting (qemu TCG, $CPUS vCPU, ${MEMORY_MB} MiB, ssh on 127.0.0.1:$PORT, console: $CONSOLE_LOG)"
  : >"$CONSOLE_LOG"
  local err
  if ! err=$(qemu-system-x86_64 \
      -name rprov-testvm \
      -nodefaults -display none \
      -accel tcg,thread=multi -cpu max \
      -smp "$CPUS" -m "$MEMORY_MB" \
      -drive "file=$dir/rootfs.img,if=virtio,format=raw,snapshot=on" \
      -netdev "user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:$PORT-:22,hostfwd=tcp:127.0.0.1:$HTTP_PORT-:80,hostfwd=tcp:127.0.0.1:$HTTPS_PORT-:443" \
      -device virtio-net-pci,netdev=net0,romfile= \
      -device virtio-rng-pci \
      -kernel "$dir/vmlinuz" -initrd "$dir/initrd.img" \
      -append "root=/dev/vda rw console=ttyS0" \
      -serial "file:$CONSOLE_LOG" \
      -daemonize -pidfile "$PID_FILE" 2>&1); then
    die "qemu failed to start: $err"
  fi
  [[ -z $err ]] || log "qemu: $err"
  pid=$(qemu_pid) || die "qemu started but its pid file $PID_FILE names no qemu process"
  log "qemu runs (pid $pid)"
  wait_ssh "boot"
}

cmd_down() {
  local pid
  if ! pid=$(qemu_pid); then
    rm -f "$PID_FILE"
    log "not running"
    return 0
  fi
  log "stopping qemu (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 20; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "still alive after 10s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PID_FILE"
  log "stopped"
}

cmd_status() {
  local pid
  if ! pid=$(qemu_pid); then
    echo "not running"
    local dir
    dir=$(image_dir)
    if [[ -f $dir/rootfs.img ]]; then echo "image: $dir"; else echo "image: not built ($dir)"; fi
    return 3
  fi
  echo "running: qemu pid $pid, ssh port 127.0.0.1:$PORT"
  echo "disk: $(tr '\0' '\n' <"/proc/$pid/cmdline" | grep -m1 -o 'file=[^,]*' | cut -d= -f2)"
  if ssh_ok; then echo "ssh: answers"; else echo "ssh: no answer"; return 1; fi
}

cmd_ssh() {
  qemu_pid >/dev/null || die "the VM is not running: 'vagrant/testvm.sh up' first"
  [[ -f $USER_KEY ]] || die "no login key $USER_KEY"
  if (($# == 0)); then
    exec ssh "${SSH_OPTS[@]}" -o BatchMode=no -t "$VM_USER@127.0.0.1"
  fi
  exec ssh "${SSH_OPTS[@]}" "$VM_USER@127.0.0.1" "$@"
}

cmd_reboot() {
  qemu_pid >/dev/null || die "the VM is not running: 'vagrant/testvm.sh up' first"
  local boot
  boot=$(ssh "${SSH_OPTS[@]}" "$VM_USER@127.0.0.1" cat /proc/sys/kernel/random/boot_id </dev/null) ||
    die "ssh does not answer; cannot reboot the guest"
  log "rebooting the guest"
  ssh "${SSH_OPTS[@]}" "$VM_USER@127.0.0.1" sudo systemctl reboot </dev/null >/dev/null 2>&1 || true
  wait_ssh "reboot" "$boot"
}

# ---------------------------------------------------------------------- main --

main() {
  local cmd=${1:-help}
  (($# > 0)) && shift
  case $cmd in
    deps)   cmd_deps ;;
    build)  cmd_build ;;
    up)     cmd_up ;;
    down)   cmd_down ;;
    status) cmd_status ;;
    ssh)    cmd_ssh "$@" ;;
    reboot) cmd_reboot ;;
    clean)  cmd_clean ;;
    path)   ensure_keys >/dev/null 2>&1; image_dir ;;
    mirror) resolve_mirror; echo "$MIRROR${http_proxy:+ (proxy $http_proxy)}" ;;
    _configure) configure_rootfs "$1" ;; # internal, used by build
    help | -h | --help) usage ;;
    *) usage >&2; die "unknown command: $cmd" ;;
  esac
}

main "$@"
