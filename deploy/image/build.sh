#!/usr/bin/env bash
# Builds tmc-server's container image without a container engine or a base
# image from a registry: an OCI image archive (`oci-archive`) assembled with
# umoci, holding
#   /usr/local/bin/tmc-server      the binary (entrypoint)
#   the C libraries it links       copied from the machine that built it, so
#                                  they are the ones it was linked against
#   /etc/passwd, /etc/group        user and group `nonroot` (65532), the image's user
#   /etc/ssl/certs/ca-certificates.crt   this machine's CA bundle, when it has one
#   /tmp                           mode 1777
# and nothing else (no shell). The image runs as 65532:65532, like
# deploy/kubernetes/tmc-server.yaml expects, and listens where --listen says.
#
# Usage: deploy/image/build.sh [--binary PATH] [--tag TAG] [--out FILE]
#   --binary  tmc-server to package (default: $CARGO_TARGET_DIR or target, /release/tmc-server)
#   --tag     image tag (default: the version in Cargo.toml)
#   --out     archive to write (default: target/image/tmc-server-TAG.oci.tar)
# Env: UMOCI  umoci to use (default: on PATH, else the component cache's, which
#             tests/components/build.sh umoci fetches from Debian's package)
#
# Load the archive with `podman load -i FILE`, push it with
# `skopeo copy oci-archive:FILE docker://REGISTRY/tmc-server:TAG`, or turn it
# into a Docker archive with `skopeo copy oci-archive:FILE docker-archive:OUT:tmc-server:TAG`.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
log() { printf '[image] %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

binary="${CARGO_TARGET_DIR:-$repo/target}/release/tmc-server"
tag=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/Cargo.toml" | head -1)
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --binary) binary=$2; shift 2 ;;
    --tag) tag=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,26p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
[ -n "$out" ] || out="$repo/target/image/tmc-server-$tag.oci.tar"
[ -x "$binary" ] || die "no tmc-server binary at $binary (build it: cargo build --release --bin tmc-server, or pass --binary)"

cache=${KCP_TMC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kcp-tmc}
umoci=${UMOCI:-$(command -v umoci || echo "$cache/bin/umoci")}
[ -x "$umoci" ] || die "umoci not found (run: tests/components/build.sh umoci)"
# Without root, umoci keeps ownership in its metadata instead of on disk.
rootless=(); [ "$(id -u)" = 0 ] || rootless=(--rootless)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
layout="$work/oci"
image="$layout:$tag"
bundle="$work/bundle"
"$umoci" init --layout "$layout"
"$umoci" new --image "$image"
"$umoci" unpack "${rootless[@]}" --image "$image" "$bundle" >/dev/null
root="$bundle/rootfs"

log "packaging $binary as tmc-server:$tag"
install -D -m 0755 "$binary" "$root/usr/local/bin/tmc-server"
# The dynamic loader and every library ldd resolves, at the same paths.
if ldd_out=$(ldd "$binary" 2>&1); then
  if grep -q 'not found' <<<"$ldd_out"; then die "unresolved libraries: $ldd_out"; fi
  for lib in $(awk '/=> \//{print $3} /^[ \t]*\/[^ ]+ \(/{print $1}' <<<"$ldd_out"); do
    install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
  done
fi
mkdir -p "$root/etc" "$root/tmp" "$root/home/nonroot"
chmod 1777 "$root/tmp"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$root/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$root/etc/group"
printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
if [ -z "${rootless[*]}" ]; then chown 65532:65532 "$root/home/nonroot"; fi
if [ -f /etc/ssl/certs/ca-certificates.crt ]; then
  install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
fi

"$umoci" repack "${rootless[@]}" --image "$image" "$bundle"
"$umoci" config --image "$image" \
  --os linux --architecture amd64 \
  --config.entrypoint /usr/local/bin/tmc-server \
  --config.user 65532:65532 \
  --config.workingdir / \
  --config.exposedports 6444/tcp \
  --config.label org.opencontainers.image.title=tmc-server \
  --config.label "org.opencontainers.image.version=$tag" \
  --config.label "org.opencontainers.image.description=kcp-tmc: transparent multi-cluster for kcp" \
  --history.created_by "deploy/image/build.sh"
"$umoci" gc --layout "$layout"

mkdir -p "$(dirname "$out")"
tar -C "$layout" -cf "$out.tmp" . && mv "$out.tmp" "$out"
digest=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$layout/index.json")
log "wrote $out ($(du -h "$out" | cut -f1), manifest $digest)"
log "load it: podman load -i $out   push it: skopeo copy oci-archive:$out docker://REGISTRY/tmc-server:$tag"
printf '%s\n' "$out"
