#!/usr/bin/env bash
# Sets up a fresh Debian machine and runs every test rprov has:
#   - formatting and clippy (warnings are errors),
#   - unit tests of every crate,
#   - integration tests against real sshd servers on loopback and in network
#     namespaces (scripts/testenv.sh installs sshd, sudo, age and test users),
#   - end-to-end tests in the Debian test VM under qemu (vagrant/testvm.sh).
# Runs as root (CI does). Safe to re-run: each step skips what is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "test environment (sshd, sudo, age, test users)"
scripts/testenv.sh

step "test VM prerequisites (qemu, debootstrap) and image"
vagrant/testvm.sh deps
vagrant/testvm.sh build

# The VM tests boot the VM on first use; stop it when we are done.
trap 'vagrant/testvm.sh down >/dev/null 2>&1 || true' EXIT

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

step "tests"
cargo test --workspace --no-fail-fast
