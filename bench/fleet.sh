#!/bin/bash
# bench/fleet.sh — N sshd hosts in network namespaces for the benchmarks.
#
#   bench/fleet.sh up N     start hosts h1..hN (10.214.0.2 .. 10.214.0.(N+1), port 22)
#   bench/fleet.sh down     stop them and remove namespaces and bridge
#
# Same approach as crates/rprov-testbed (fleet.rs, sshd.rs), in shell so bench/ runs
# as a script: one bridge `rpbench0` (10.214.0.1/24) in the root namespace, one
# namespace `rpbench-I` per host with a veth into the bridge, one /usr/sbin/sshd per
# namespace at LogLevel VERBOSE (one "Starting session: command for USER" line per
# exec request, which is how every tool's remote commands are counted).
#
# Every tool uses the same login: user $BENCH_USER (default rprovtest, passwordless
# sudo, from scripts/testenv.sh), the same client key bench/work/fleet/client_ed25519
# and the same known_hosts file bench/work/fleet/known_hosts (strict checking).
# The namespaces share the filesystem and users with the machine.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="${BENCH_WORK:-$HERE/work}"
FLEET="$WORK/fleet"
USER_="${BENCH_USER:-rprovtest}"
BR=rpbench0
NET=10.214.0

die() { echo "fleet.sh: $*" >&2; exit 1; }

down() {
    # Stop every sshd we started (by pid file), then the network.
    if [ -d "$FLEET" ]; then
        for pidf in "$FLEET"/h*/sshd.pid; do
            [ -e "$pidf" ] || continue
            pid="$(cat "$pidf" 2>/dev/null || true)"
            [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
        done
    fi
    for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep '^rpbench-' || true); do
        # Session children of a killed sshd may linger in the namespace.
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill "$pid" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
    ip link del "$BR" 2>/dev/null || true
}

up() {
    local n="$1"
    [ "$(id -u)" -eq 0 ] || die "must run as root (namespaces, sshd for another user)"
    [ "$n" -ge 1 ] && [ "$n" -le 250 ] || die "1..250 hosts"
    id "$USER_" >/dev/null 2>&1 || die "user $USER_ missing: run scripts/testenv.sh"
    [ -x /usr/sbin/sshd ] || die "/usr/sbin/sshd missing: run scripts/testenv.sh"
    down
    mkdir -p /run/sshd "$FLEET"
    # sshd reads authorized_keys as the target user: keep the path traversable.
    chmod 755 "$WORK" "$FLEET"
    if [ ! -e "$FLEET/client_ed25519" ]; then
        ssh-keygen -q -t ed25519 -N '' -C rprov-bench-client -f "$FLEET/client_ed25519"
    fi
    if [ ! -e "$FLEET/host_ed25519" ]; then
        ssh-keygen -q -t ed25519 -N '' -C rprov-bench-host -f "$FLEET/host_ed25519"
    fi
    cp "$FLEET/client_ed25519.pub" "$FLEET/authorized_keys"
    chmod 644 "$FLEET/authorized_keys"
    : > "$FLEET/known_hosts"
    : > "$FLEET/hosts.txt"

    ip link add name "$BR" type bridge
    ip addr add "$NET.1/24" dev "$BR"
    ip link set "$BR" up
    local hostkey
    hostkey="$(awk '{print $1" "$2}' "$FLEET/host_ed25519.pub")"
    for i in $(seq 1 "$n"); do
        local ns="rpbench-$i" addr="$NET.$((i + 1))" d="$FLEET/h$i"
        ip netns add "$ns"
        ip link add "rpb${i}" type veth peer name eth0 netns "$ns"
        ip link set "rpb${i}" master "$BR" up
        ip -n "$ns" link set lo up
        ip -n "$ns" addr add "$addr/24" dev eth0
        ip -n "$ns" link set eth0 up
        mkdir -p "$d"
        cat > "$d/sshd_config" <<EOF
ListenAddress $addr
Port 22
HostKey $FLEET/host_ed25519
PidFile $d/sshd.pid
AuthorizedKeysFile $FLEET/authorized_keys
StrictModes no
UsePAM yes
UseDNS no
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
LogLevel VERBOSE
MaxSessions 100
MaxStartups 200
Subsystem sftp internal-sftp
EOF
        : > "$d/sshd.log"
        ip netns exec "$ns" /usr/sbin/sshd -f "$d/sshd_config" -E "$d/sshd.log"
        echo "$addr $hostkey" >> "$FLEET/known_hosts"
        echo "h$i $addr $d/sshd.log" >> "$FLEET/hosts.txt"
    done
    # Wait until every server answers.
    for i in $(seq 1 "$n"); do
        local ok=""
        for _ in $(seq 1 100); do
            if timeout 1 bash -c "exec 3<>/dev/tcp/$NET.$((i + 1))/22" 2>/dev/null; then ok=1; break; fi
            sleep 0.05
        done
        [ -n "$ok" ] || die "sshd h$i ($NET.$((i + 1))) does not answer; see $FLEET/h$i/sshd.log"
    done
    echo "fleet.sh: $n hosts up ($NET.2 .. $NET.$((n + 1))), user $USER_, key $FLEET/client_ed25519"
}

case "${1:-}" in
    up) up "${2:?usage: fleet.sh up N}" ;;
    down) down; echo "fleet.sh: down" ;;
    *) die "usage: fleet.sh up N | down" ;;
esac
