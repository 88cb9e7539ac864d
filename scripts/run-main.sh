#!/usr/bin/env bash
# The main job on a fresh machine: build rprov, build and boot the local test VM
# (a Debian trixie guest under qemu, ssh on 127.0.0.1:2222 — the `vagrant` group
# of inventory/hosts.ini), apply site.yml to it, and say where to look.
# The VM keeps running afterwards; stop it with `vagrant/testvm.sh down`.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "build rprov (release)"
cargo build --release --quiet
RPROV=./target/release/rprov

step "test VM: install qemu/debootstrap if needed, build the image on first use (2-3 min), boot (~30 s)"
vagrant/testvm.sh deps
vagrant/testvm.sh up

step "stand-in container images in the VM (no registry there): podman import of busybox httpd"
scripts/vm-standins.sh

step "apply site.yml to the vagrant group"
# The example secrets.age is encrypted to the documented test identity.
export RPROV_AGE_IDENTITY="${RPROV_AGE_IDENTITY:-$PWD/inventory/test-identity.txt}"
status=0
"$RPROV" apply -i inventory/hosts.ini --limit vagrant "$@" || status=$?

port="${RPROV_VM_HTTP_PORT:-8080}"
cat <<MSG

Where to look (through the VM's forwarded port $port; *.localhost is the loopback):
  kollektivkart:         http://kollektivkart.localhost:$port/
  PDS health:            http://pds.localhost:$port/xrpc/_health
  from inside the VM:    vagrant/testvm.sh ssh 'curl -s http://kollektivkart.localhost/'
  the nightly ETL timer: vagrant/testvm.sh ssh 'sudo systemctl --user -M kollektivkart@ list-timers'
  ssh into the VM:       vagrant/testvm.sh ssh
  apply again (no-op):   $RPROV apply -i inventory/hosts.ini --limit vagrant
  dry run with diffs:    $RPROV apply -i inventory/hosts.ini --limit vagrant --check
  stop the VM:           vagrant/testvm.sh down
MSG
exit "$status"
