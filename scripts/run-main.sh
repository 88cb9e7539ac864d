#!/usr/bin/env bash
# The main job on a fresh machine: build rprov, build and boot the local test VM
# (a Debian trixie guest under qemu, ssh on 127.0.0.1:2222 — the `vagrant` group
# of inventory/hosts.ini), apply site.yml to it, and say where to look.
# Each step prints the time elapsed since the start, and the end a summary of
# how long each step took. The VM keeps running afterwards; stop it with
# `vagrant/testvm.sh down`. Arguments are passed to `rprov apply` (e.g. --check).
set -euo pipefail
cd "$(dirname "$0")/.."

T0=$SECONDS
STEP=""
STEP_T0=$SECONDS
TIMINGS=()
mmss() { printf '%d:%02d' $(($1 / 60)) $(($1 % 60)); }
# step "what": ends the previous step (its duration goes in the summary) and
# announces the next, with the time elapsed so far.
step() {
  [[ -z $STEP ]] || TIMINGS+=("$(mmss $((SECONDS - STEP_T0)))  $STEP")
  STEP=$1
  STEP_T0=$SECONDS
  printf '\n==> [%s] %s\n' "$(mmss $((SECONDS - T0)))" "$2"
}

step "VM deps" "test VM prerequisites: qemu and debootstrap (apt-get, only when missing)"
vagrant/testvm.sh deps

# On first use the VM image is built (debootstrap from the Debian mirror,
# mostly waiting on the network) while cargo compiles: one does not wait for
# the other.
image_log=""
image_pid=""
if [[ ! -f "$(vagrant/testvm.sh path)/rootfs.img" ]]; then
  mkdir -p vagrant/.vm
  image_log=vagrant/.vm/image-build.log
  step "VM image (background)" "build the test VM image in the background (debootstrap, 2-6 min, once per image; log: $image_log)"
  vagrant/testvm.sh build >"$image_log" 2>&1 &
  image_pid=$!
  trap '[[ -z $image_pid ]] || kill "$image_pid" 2>/dev/null || true' EXIT
fi

step "build rprov" "build rprov (cargo build --release; the first build takes 5-15 min on 2 cores, later ones seconds)"
cargo build --release
RPROV=./target/release/rprov

if [[ -n $image_pid ]]; then
  step "wait for the image" "wait for the VM image build (log: $image_log)"
  if ! wait "$image_pid"; then
    image_pid=""
    tail -n 30 "$image_log" >&2
    echo "run-main: building the VM image failed (log above, all of it in $image_log)" >&2
    exit 1
  fi
  image_pid=""
  tail -n 1 "$image_log"
fi

step "VM boot" "boot the test VM (qemu emulation, about 1 min)"
vagrant/testvm.sh up

step "stand-ins" "stand-in container images in the VM (no registry there): podman import of busybox httpd"
scripts/vm-standins.sh

step "apply" "apply site.yml to the vagrant group (a fresh VM: 2-3 min; again: seconds)"
# The example secrets.age is encrypted to the documented test identity.
export RPROV_AGE_IDENTITY="${RPROV_AGE_IDENTITY:-$PWD/inventory/test-identity.txt}"
status=0
"$RPROV" apply -i inventory/hosts.ini --limit vagrant "$@" || status=$?
TIMINGS+=("$(mmss $((SECONDS - STEP_T0)))  $STEP")

port="${RPROV_VM_HTTP_PORT:-8080}"
printf '\n==> [%s] done (rprov apply exited %d). Time per step:\n' "$(mmss $((SECONDS - T0)))" "$status"
printf '    %s\n' "${TIMINGS[@]}"
cat <<MSG

Where to look (through the VM's forwarded port $port; *.localhost is the loopback):
  kollektivkart:         http://kollektivkart.localhost:$port/
  PDS health:            http://pds.localhost:$port/xrpc/_health
  from inside the VM:    vagrant/testvm.sh ssh 'curl -s http://kollektivkart.localhost/'
  the nightly ETL timer: vagrant/testvm.sh ssh 'sudo systemctl --user -M kollektivkart@ list-timers'
  ssh into the VM:       vagrant/testvm.sh ssh
  apply again (no-op):   RPROV_AGE_IDENTITY=inventory/test-identity.txt $RPROV apply -i inventory/hosts.ini --limit vagrant
  dry run with diffs:    RPROV_AGE_IDENTITY=inventory/test-identity.txt $RPROV apply -i inventory/hosts.ini --limit vagrant --check
  stop the VM:           vagrant/testvm.sh down
MSG
exit "$status"
