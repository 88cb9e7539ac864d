#!/usr/bin/env bash
# The main job on a fresh machine: build rprov and install it into cargo's bin
# directory (`cargo install --path . --locked`, so `rprov` is on PATH where
# rustup put cargo), build and boot the local test VM (a Debian trixie guest
# under qemu, ssh on 127.0.0.1:2222 — the `vagrant` group of
# inventory/hosts.ini), apply site.yml to it, and say where to look.
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

# say "what": a line of the current step, with the time elapsed so far.
say() { printf '    [%s] %s\n' "$(mmss $((SECONDS - T0)))" "$1"; }

step "VM deps" "test VM prerequisites: qemu and debootstrap (apt-get, only when missing)"
vagrant/testvm.sh deps

# On first use the VM image is built (debootstrap from the Debian mirror,
# mostly waiting on the network) while cargo compiles: one does not wait for
# the other.
# Its own duration is written to $image_secs when it ends, for the summary:
# the build overlaps cargo's, so no step of this script measures it.
image_log=""
image_pid=""
image_secs=vagrant/.vm/image-build.secs
if [[ ! -f "$(vagrant/testvm.sh path)/rootfs.img" ]]; then
  mkdir -p vagrant/.vm
  rm -f "$image_secs"
  image_log=vagrant/.vm/image-build.log
  printf '\n==> [%s] %s\n' "$(mmss $((SECONDS - T0)))" \
    "build the test VM image in the background, while rprov builds (debootstrap; 1-6 min on a 2-core machine at load 1-13, once per image; log: $image_log)"
  (
    s=$SECONDS
    rc=0
    vagrant/testvm.sh build || rc=$?
    echo $((SECONDS - s)) >"$image_secs"
    exit "$rc"
  ) >"$image_log" 2>&1 &
  image_pid=$!
  trap '[[ -z $image_pid ]] || kill "$image_pid" 2>/dev/null || true' EXIT
fi

# `cargo install --path` builds in this checkout's target/release (a later
# `cargo build --release` reuses it) and copies the binary to cargo's bin
# directory. The build is silent for minutes at a time in a log: its start
# and end are printed with the time they took.
step "build rprov" "build and install rprov (cargo install --path . --locked; the first build took 4-10 min on a 2-core machine at load 1-13, later ones seconds)"
build_t0=$SECONDS
say "release build started at $(date +%H:%M:%S)"
cargo install --path . --locked
bin_dir="${CARGO_INSTALL_ROOT:-${CARGO_HOME:-$HOME/.cargo}}/bin"
RPROV="$bin_dir/rprov"
say "release build and install done in $(mmss $((SECONDS - build_t0))): $RPROV"
# The README's commands say `rprov`: say how to get it on PATH when it is not.
path_line=""
if [[ "$(command -v rprov 2>/dev/null || true)" != "$RPROV" ]]; then
  path_line="export PATH=\"$bin_dir:\$PATH\""
  say "note: $bin_dir is not first on your PATH; before the README's rprov commands, run: $path_line"
fi

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
  waited=$((SECONDS - STEP_T0))
  built=$(cat "$image_secs" 2>/dev/null || echo 0)
  if ((waited > 0)); then
    how="the boot waited $(mmss "$waited") for it"
  else
    how="done before the build: the boot did not wait"
  fi
  TIMINGS+=("$(mmss "$built")  VM image, in the background during the build ($how)")
else
  TIMINGS+=("0:00  VM image (cached: $(vagrant/testvm.sh path))")
fi

step "VM boot" "boot the test VM (qemu emulation; 30-65 s on a 2-core machine at load 1-8)"
vagrant/testvm.sh up

step "stand-ins" "stand-in container images in the VM (no registry there): podman import of busybox httpd"
scripts/vm-standins.sh

step "apply" "apply site.yml to the vagrant group (a fresh VM on a 2-core machine: 2-2.5 min at load 1-3, 7 min at load 4-8; again: about 10 s at load 1-3)"
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
  stop the VM:           vagrant/testvm.sh down

rprov is installed as $RPROV. The README's commands, from this directory:
${path_line:+  $path_line
}  export RPROV_AGE_IDENTITY=inventory/test-identity.txt
  rprov apply -i inventory/hosts.ini --limit vagrant --check   # dry run: every change as a diff
  rprov apply -i inventory/hosts.ini --limit vagrant           # again: changes nothing
MSG
exit "$status"
