#!/bin/bash
# bench/workload-c.sh — workload (c): the full site.yml on the test VM (1 host).
#
# Opt in with BENCH_VM=1 (a first run changes the VM: use a fresh throw-away VM,
# `vagrant/testvm.sh up` boots one with snapshot=on). When $REPO/site.yml and
# $REPO/inventory/hosts.ini exist and `vagrant/testvm.sh status` says the VM
# answers, this applies site.yml to the `vagrant` group with rprov (first run,
# then a no-change run) and prints wall time, CPU, peak RSS and the recap with
# rprov's remote-command count. Otherwise it prints why it skipped.
#
# ansible-playbook is not run on (c): site.yml uses rprov's own `quadlet` and
# `rolling_restart` modules and age-encrypted secrets, which ansible-core has no
# equivalent for without collections (containers.podman) that this offline
# machine cannot install. Workloads (a) and (b) are the like-for-like comparison.
set -euo pipefail
BENCH="$(cd "$(dirname "$0")" && pwd)"
REPO="$(dirname "$BENCH")"
if [ -z "${BENCH_VM:-}" ]; then
    # A first run changes the VM, which other work may be using: opt in explicitly.
    echo "workload (c) skipped: set BENCH_VM=1 to apply site.yml to the test VM"
    exit 0
fi
if [ ! -e "$REPO/site.yml" ] || [ ! -e "$REPO/inventory/hosts.ini" ]; then
    echo "workload (c) skipped: no site.yml yet"
    exit 0
fi
if ! "$REPO/vagrant/testvm.sh" status >/dev/null 2>&1; then
    echo "workload (c) skipped: the test VM is not up (vagrant/testvm.sh up)"
    exit 0
fi
cd "$REPO"
# The repository's example secrets are encrypted to a documented test identity.
if [ -z "${RPROV_AGE_IDENTITY:-}" ] && [ -e inventory/test-identity.txt ]; then
    export RPROV_AGE_IDENTITY="$REPO/inventory/test-identity.txt"
fi
# No registry in the VM: the roles' images are stand-ins built there (idempotent).
scripts/vm-standins.sh >/dev/null
for phase in first nochange; do
    echo "-- rprov $phase"
    /usr/bin/time -f 'rprov wall %e s, cpu %U+%S s, rss %M KB' \
        ./target/release/rprov apply -i inventory/hosts.ini --limit vagrant site.yml --output json | tail -1
done
echo "-- ansible-playbook: not run on (c), see the header of this script"
