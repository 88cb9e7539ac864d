#!/usr/bin/env bash
# Builds the stand-in container images for the `vagrant` group inside the test
# VM (no registry is reachable there): a static busybox serving `busybox httpd`
# with the paths the roles check (/xrpc/_health for pds; /ready and a page for
# kollektivkart), made with `podman import` and saved with `podman save` to
# /opt/rprov-standin/{pds,kollektivkart}.tar. inventory/group_vars/vagrant.yml
# points pds_image and kollektivkart_image there (podman runs them through the
# `docker-archive:` transport, so every app user can use them rootless).
# Idempotent: does nothing when both archives exist (FORCE=1 rebuilds).
set -euo pipefail
cd "$(dirname "$0")/.."
port="${RPROV_VM_PORT:-2222}"
ssh -i vagrant/.vm/id_ed25519 -o UserKnownHostsFile=vagrant/.vm/known_hosts \
    -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=20 -p "$port" \
    vagrant@127.0.0.1 "sudo FORCE=${FORCE:-0} sh -s" <<'EOF'
set -eu
dir=/opt/rprov-standin
if [ "$FORCE" != 1 ] && [ -s "$dir/pds.tar" ] && [ -s "$dir/kollektivkart.tar" ]; then
	echo "stand-in images present in $dir"
	exit 0
fi
command -v podman >/dev/null || { echo "podman is not installed in the VM" >&2; exit 1; }
[ -x /bin/busybox ] || { echo "busybox-static is not installed in the VM" >&2; exit 1; }
mkdir -p "$dir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd /

# build NAME DEFAULT_PORT: rootfs in $work/NAME (files added by the caller)
rootfs() {
	mkdir -p "$work/$1/bin" "$work/$1/www" "$work/$1/tmp"
	cp /bin/busybox "$work/$1/bin/busybox"
	ln -sf busybox "$work/$1/bin/sh"
}
image() {
	name=$1 default_port=$2
	tar -C "$work/$name" -cf "$work/$name-rootfs.tar" .
	podman import --quiet \
		--change "CMD [\"/bin/sh\", \"-c\", \"exec /bin/busybox httpd -f -p \${PORT:-$default_port} -h /www\"]" \
		"$work/$name-rootfs.tar" "localhost/$name-standin:1" >/dev/null
	rm -f "$dir/$name.tar.new"
	podman save --quiet --format docker-archive -o "$dir/$name.tar.new" "localhost/$name-standin:1"
	chmod 0644 "$dir/$name.tar.new"
	mv "$dir/$name.tar.new" "$dir/$name.tar"
	podman rmi --force "localhost/$name-standin:1" >/dev/null
	echo "built $dir/$name.tar (localhost/$name-standin:1)"
}

rootfs pds
mkdir -p "$work/pds/www/xrpc"
printf '{"version":"stand-in"}\n' > "$work/pds/www/xrpc/_health"
printf '<!doctype html><title>PDS stand-in</title><p>rprov PDS stand-in</p>\n' > "$work/pds/www/index.html"
image pds 3000

rootfs kollektivkart
printf 'ready\n' > "$work/kollektivkart/www/ready"
printf '<!doctype html><title>kollektivkart stand-in</title><h1>kollektivkart</h1><p>rprov stand-in image 1</p>\n' > "$work/kollektivkart/www/index.html"
image kollektivkart 8000
EOF
