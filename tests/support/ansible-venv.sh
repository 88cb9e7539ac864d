#!/bin/sh
# Creates (once) a Python venv with ansible-core 2.19 for rprov's differential
# tests, and prints the path of its `ansible-playbook` on stdout.
#
#   VENV=${XDG_CACHE_HOME:-$HOME/.cache}/rprov/ansible-venv
#
# Re-running is cheap: an existing venv whose ansible-playbook runs is reused.
# A half-built venv (interrupted install) is removed and built again. Exits
# non-zero with a message on stderr when python3, venv or PyPI is unavailable.
set -eu

VERSION_SPEC='ansible-core==2.19.*'
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/rprov"
VENV="$CACHE/ansible-venv"
PLAYBOOK="$VENV/bin/ansible-playbook"

if [ -x "$PLAYBOOK" ] && [ -f "$VENV/.rprov-complete" ] \
    && "$PLAYBOOK" --version >/dev/null 2>&1; then
    echo "$PLAYBOOK"
    exit 0
fi

if ! command -v python3 >/dev/null 2>&1; then
    echo "ansible-venv.sh: python3 not found; install it (apt-get install python3 python3-venv)" >&2
    exit 1
fi

mkdir -p "$CACHE"
# One builder at a time (tests may run in parallel processes).
exec 9>"$CACHE/ansible-venv.lock"
if command -v flock >/dev/null 2>&1; then
    flock 9
fi
if [ -x "$PLAYBOOK" ] && [ -f "$VENV/.rprov-complete" ]; then
    echo "$PLAYBOOK"
    exit 0
fi

rm -rf "$VENV"
if ! python3 -m venv "$VENV" >&2; then
    echo "ansible-venv.sh: python3 -m venv failed; install python3-venv (apt-get install python3-venv)" >&2
    rm -rf "$VENV"
    exit 1
fi
if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$VERSION_SPEC" >&2; then
    echo "ansible-venv.sh: pip install '$VERSION_SPEC' failed (is PyPI reachable?)" >&2
    rm -rf "$VENV"
    exit 1
fi
touch "$VENV/.rprov-complete"
echo "$PLAYBOOK"
