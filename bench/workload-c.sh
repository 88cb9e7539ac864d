#!/bin/bash
# bench/workload-c.sh — workload (c): the full site.yml on the test VM (1 host).
#
# Opt in with BENCH_VM=1: it boots, uses and stops the test VM (vagrant/testvm.sh),
# which other work on this machine may want, so it holds /tmp/rprov-vm.lock while it
# does. For each of BENCH_C_REPS (default BENCH_REPS, 5) first runs it boots a fresh
# throw-away VM (the disk is a snapshot), builds the stand-in images there and applies
# site.yml to the `vagrant` group; then it measures as many no-change runs. Wall time,
# CPU, peak RSS and rprov's remote-command count per run go into the results file of
# the bench run before it (bench/work/last-results), or a new one in bench/results/.
#
# ansible-playbook is not run on (c): site.yml uses rprov's own `quadlet` and
# `rolling_restart` modules and age-encrypted secrets, which ansible-core has no
# equivalent for without collections (containers.podman) that this offline
# machine cannot install. Workloads (a) and (b) are the like-for-like comparison.
set -euo pipefail
BENCH="$(cd "$(dirname "$0")" && pwd)"
REPO="$(dirname "$BENCH")"
if [ -z "${BENCH_VM:-}" ]; then
    echo "workload (c) skipped: set BENCH_VM=1 to apply site.yml to the test VM"
    exit 0
fi
cd "$REPO"
[ -x target/release/rprov ] || cargo build --release -q
[ -x /usr/bin/time ] || DEBIAN_FRONTEND=noninteractive apt-get install -y -q time </dev/null
vagrant/testvm.sh deps
vagrant/testvm.sh build
python=python3
[ -x "$BENCH/.venv/bin/python" ] && python="$BENCH/.venv/bin/python"
# The VM is stopped inside the lock, so nobody else's VM is touched.
flock /tmp/rprov-vm.lock sh -c '"$1" "$2" --workload-c; rc=$?; vagrant/testvm.sh down >/dev/null 2>&1; exit $rc' \
    sh "$python" "$BENCH/bench.py"
