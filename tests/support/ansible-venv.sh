#!/bin/sh
# Creates (once) a Python venv with ansible-core 2.19 and passlib (which
# ansible-core's `password_hash` needs, and which ansible-test installs on the
# controller for the targets that use it: `setup_passlib_controller`) for
# rprov's differential and conformance tests, and a collections directory holding ansible.posix (for
# `ansible.posix.authorized_key`), and prints two lines on stdout: the path of
# the venv's `ansible-playbook`, then the directory to give ansible as
# ANSIBLE_COLLECTIONS_PATH.
#
#   VENV=${XDG_CACHE_HOME:-$HOME/.cache}/rprov/ansible-venv
#   COLLECTIONS=${XDG_CACHE_HOME:-$HOME/.cache}/rprov/ansible-collections
#
# ansible.posix comes from the `ansible` package on PyPI (the community
# collections bundled for ansible-core 2.19), pinned by version and sha256:
# only `ansible_collections/ansible/posix` is extracted from the wheel, so
# nothing else of the 50 MB of collections can shadow ansible-core's modules.
#
# With the argument `all`, the third line is a directory holding every
# collection of that wheel (`ansible_collections/…`, some 250 MB), for the
# tests that read third-party roles (tests/real_roles.rs); it is made on
# first use only.
#
#   ALL=${XDG_CACHE_HOME:-$HOME/.cache}/rprov/ansible-all-collections
#
# Re-running is cheap: an existing venv whose ansible-playbook runs, and a
# complete collections directory, are reused. A half-built one (interrupted
# install) is removed and built again. Exits non-zero with a message on
# stderr when python3, venv or PyPI is unavailable, or the download's
# checksum is not the pinned one.
set -eu

VERSION_SPEC='ansible-core==2.19.*'
PASSLIB_SPEC='passlib==1.7.4'
# ansible 12.3.0 bundles ansible.posix 2.1.0.
ANSIBLE_PKG='ansible==12.3.0'
ANSIBLE_SHA256='cd156f82fa87f7a899212b0efa9f7ca3a24d609212de9f78428a572eb01e5414'
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/rprov"
VENV="$CACHE/ansible-venv"
PLAYBOOK="$VENV/bin/ansible-playbook"
COLLECTIONS="$CACHE/ansible-collections"
ALL="$CACHE/ansible-all-collections"
WANT_ALL=false
if [ "${1:-}" = all ]; then
    WANT_ALL=true
fi

venv_ok() {
    [ -x "$PLAYBOOK" ] && [ -f "$VENV/.rprov-complete" ] \
        && "$PLAYBOOK" --version >/dev/null 2>&1 \
        && "$VENV/bin/python" -c 'import passlib' >/dev/null 2>&1
}
collections_ok() {
    [ -f "$COLLECTIONS/.rprov-complete" ] \
        && [ "$(cat "$COLLECTIONS/.rprov-complete")" = "$ANSIBLE_SHA256" ] \
        && [ -f "$COLLECTIONS/ansible_collections/ansible/posix/plugins/modules/authorized_key.py" ]
}
all_ok() {
    ! $WANT_ALL || { [ -f "$ALL/.rprov-complete" ] \
        && [ "$(cat "$ALL/.rprov-complete")" = "$ANSIBLE_SHA256" ]; }
}
done_ok() {
    echo "$PLAYBOOK"
    echo "$COLLECTIONS"
    if $WANT_ALL; then
        echo "$ALL"
    fi
    exit 0
}

if venv_ok && collections_ok && all_ok; then
    done_ok
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

if ! venv_ok; then
    rm -rf "$VENV"
    if ! python3 -m venv "$VENV" >&2; then
        echo "ansible-venv.sh: python3 -m venv failed; install python3-venv (apt-get install python3-venv)" >&2
        rm -rf "$VENV"
        exit 1
    fi
    if ! "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "$VERSION_SPEC" "$PASSLIB_SPEC" >&2; then
        echo "ansible-venv.sh: pip install '$VERSION_SPEC' '$PASSLIB_SPEC' failed (is PyPI reachable?)" >&2
        rm -rf "$VENV"
        exit 1
    fi
    touch "$VENV/.rprov-complete"
fi

if ! collections_ok || ! all_ok; then
    tmp=$(mktemp -d "$CACHE/ansible-collections.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    # pip checks the pinned hash (--require-hashes) before keeping the file.
    printf '%s --hash=sha256:%s\n' "$ANSIBLE_PKG" "$ANSIBLE_SHA256" >"$tmp/req.txt"
    if ! "$VENV/bin/python" -m pip download --quiet --disable-pip-version-check \
        --no-deps --only-binary :all: --require-hashes -r "$tmp/req.txt" -d "$tmp/dl" >&2; then
        echo "ansible-venv.sh: pip download '$ANSIBLE_PKG' (sha256 $ANSIBLE_SHA256) failed (is PyPI reachable?)" >&2
        exit 1
    fi
    wheel=$(ls "$tmp"/dl/ansible-*.whl)
    # And once more here, so a pip that skipped the check cannot slip by.
    if [ "$(sha256sum "$wheel" | cut -d' ' -f1)" != "$ANSIBLE_SHA256" ]; then
        echo "ansible-venv.sh: $wheel does not have the pinned sha256 $ANSIBLE_SHA256" >&2
        exit 1
    fi
    # extract.py WHEEL OUT PREFIX: the members under PREFIX into OUT.
    cat >"$tmp/extract.py" <<'PY'
import sys, zipfile
wheel, out, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
with zipfile.ZipFile(wheel) as z:
    members = [n for n in z.namelist() if n.startswith(prefix) and ".." not in n.split("/")]
    if not members:
        sys.exit(f"{wheel} holds no {prefix}")
    z.extractall(out, members)
PY
    if ! collections_ok; then
        rm -rf "$COLLECTIONS"
        "$VENV/bin/python" "$tmp/extract.py" "$wheel" "$tmp/out" "ansible_collections/ansible/posix/"
        mv "$tmp/out" "$COLLECTIONS"
        echo "$ANSIBLE_SHA256" >"$COLLECTIONS/.rprov-complete"
    fi
    if ! all_ok; then
        rm -rf "$ALL"
        "$VENV/bin/python" "$tmp/extract.py" "$wheel" "$tmp/all" "ansible_collections/"
        mv "$tmp/all" "$ALL"
        echo "$ANSIBLE_SHA256" >"$ALL/.rprov-complete"
    fi
fi
done_ok
