#!/bin/sh
# Fetches (once) the ansible-core sdist from PyPI at a pinned version, checks
# its sha256, unpacks it, and prints the path of its integration tests folder
# (`test/integration`, which holds `targets/`) on stdout.
#
#   ${XDG_CACHE_HOME:-$HOME/.cache}/rprov/ansible-core-$VERSION/
#
# The sdist is not vendored into the repository: ansible-core's targets are
# GPLv3 and large, and the pin plus the hash make the download reproducible.
# pip checks the hash (`--require-hashes`); the unpacked tree is marked
# complete only after that, so an interrupted fetch is done again. Exits
# non-zero with a message on stderr when the venv's pip or PyPI is
# unavailable or the hash differs: the conformance test then FAILS.
set -eu

# The version of the venv made by ansible-venv.sh (ansible-core 2.19.*).
VERSION=2.19.14
SHA256=1e7612788eaa6b3c87a3670ce86c64b830eba0ae2b3fcb25a772f276704163b4

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/rprov"
DEST="$CACHE/ansible-core-$VERSION"
INTEGRATION="$DEST/ansible_core-$VERSION/test/integration"

if [ -f "$DEST/.rprov-complete" ] && [ -d "$INTEGRATION/targets" ]; then
    echo "$INTEGRATION"
    exit 0
fi

HERE=$(dirname "$0")
VENV_OUT=$(sh "$HERE/ansible-venv.sh") || {
    echo "ansible-targets.sh: the ansible-core venv could not be made (see above)" >&2
    exit 1
}
# ansible-venv.sh prints the playbook's path, then the collections folder.
PLAYBOOK=$(printf '%s\n' "$VENV_OUT" | head -n 1)
PIP="$(dirname "$PLAYBOOK")/pip"

mkdir -p "$CACHE"
exec 9>"$CACHE/ansible-targets.lock"
if command -v flock >/dev/null 2>&1; then
    flock 9
fi
if [ -f "$DEST/.rprov-complete" ] && [ -d "$INTEGRATION/targets" ]; then
    echo "$INTEGRATION"
    exit 0
fi

rm -rf "$DEST"
mkdir -p "$DEST/download"
printf 'ansible-core==%s --hash=sha256:%s\n' "$VERSION" "$SHA256" >"$DEST/requirements.txt"
if ! "$PIP" download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    --require-hashes -r "$DEST/requirements.txt" -d "$DEST/download" >&2; then
    echo "ansible-targets.sh: could not fetch ansible-core $VERSION's sdist from PyPI with sha256 $SHA256" >&2
    rm -rf "$DEST"
    exit 1
fi
SDIST="$DEST/download/ansible_core-$VERSION.tar.gz"
# pip checked the hash; check again what is about to be unpacked.
if ! echo "$SHA256  $SDIST" | sha256sum -c --quiet - >&2; then
    echo "ansible-targets.sh: $SDIST does not have sha256 $SHA256" >&2
    rm -rf "$DEST"
    exit 1
fi
if ! tar -xzf "$SDIST" -C "$DEST" "ansible_core-$VERSION/test/integration"; then
    echo "ansible-targets.sh: could not unpack $SDIST" >&2
    rm -rf "$DEST"
    exit 1
fi
touch "$DEST/.rprov-complete"
echo "$INTEGRATION"
