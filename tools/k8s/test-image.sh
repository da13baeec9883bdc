#!/bin/sh
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#
# The image's build, tested without any image registry: a Debian bookworm
# base image made here with debootstrap from Debian's packages, imported
# into podman, tools/k8s/Dockerfile built from it, and the image's
# leakwatch --version checked against the one just built (OUT/leakwatch).
#
#   tools/k8s/test-image.sh OUT        (make test-image; root)
#
# MIRROR is the Debian mirror (debootstrap's and the image's apt).  The
# base's root file system is kept in OUT/image/bookworm.tar and reused; the
# images are removed at the end.  CA_BUNDLE (default: the host's bundle)
# goes to the build as the secret "ca", for npm behind a TLS-re-signing
# proxy.  Prints how long each step took.
set -eu

OUT=$1
MIRROR=${MIRROR:-http://deb.debian.org/debian}
CA_BUNDLE=${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=$OUT/image
tag=$(date +%s).$$
base=localhost/leakwatch-test-base:$tag
image=localhost/leakwatch-test:$tag

fail() {
	echo "test-image: $*" >&2
	exit 1
}
for tool in podman debootstrap; do
	command -v "$tool" >/dev/null 2>&1 ||
		fail "$tool not found: install Debian's $tool (tools/install-deps.sh)"
done
[ "$(id -u)" = 0 ] || fail "debootstrap needs root"
want=$("$OUT/leakwatch" --version) || fail "$OUT/leakwatch --version failed: build it first"

cleanup() {
	podman rmi -f "$image" "$base" >/dev/null 2>&1 || true
	rm -rf "$dir/rootfs"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
mkdir -p "$dir"

step_start=$(date +%s)
step() {
	now=$(date +%s)
	echo "test-image: $1: $((now - step_start)) s"
	step_start=$now
}

if [ ! -s "$dir/bookworm.tar" ]; then
	rm -rf "$dir/rootfs"
	debootstrap --variant=minbase bookworm "$dir/rootfs" "$MIRROR" >"$dir/debootstrap.log" 2>&1 ||
		fail "debootstrap failed, see $dir/debootstrap.log"
	tar -C "$dir/rootfs" -cf "$dir/bookworm.tar.tmp" . && mv "$dir/bookworm.tar.tmp" "$dir/bookworm.tar"
	rm -rf "$dir/rootfs"
	step "debootstrap bookworm"
fi
podman import -q "$dir/bookworm.tar" "$base" >/dev/null || fail "podman import failed"
step "podman import"

secret=
[ -s "$CA_BUNDLE" ] && secret="--secret id=ca,src=$CA_BUNDLE"
# shellcheck disable=SC2086
podman build -q --build-arg BASE="$base" $secret -f "$top/tools/k8s/Dockerfile" -t "$image" \
	"$top" >"$dir/build.log" 2>&1 || { tail -30 "$dir/build.log" >&2; fail "podman build failed"; }
step "podman build"

# podman raises a container's nofile and nproc limits, which runc cannot
# do where podman itself runs in a container without CAP_SYS_RESOURCE;
# --version and ldd need neither, so the test sets small ones.
limits="--ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
# shellcheck disable=SC2086
got=$(podman run --rm $limits "$image" --version) || fail "the image's leakwatch --version failed"
step "podman run"
[ "$got" = "$want" ] || fail "the image says '$got', $OUT/leakwatch says '$want'"
# the image's entrypoint needs nothing but what the image has
# shellcheck disable=SC2086
missing=$(podman run --rm $limits --entrypoint /bin/sh "$image" -c \
	'ldd /usr/bin/leakwatch | grep "not found"' || true)
[ -z "$missing" ] || fail "libraries missing in the image: $missing"
size=$(podman image inspect --format '{{.Size}}' "$image")
echo "test-image: ok: $got, image $((size / 1048576)) MiB"
