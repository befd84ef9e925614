#!/usr/bin/env bash
# Builds the real components the end-to-end tests and `make up` run: kcp (and
# kcp-front-proxy), kube-apiserver, kube-controller-manager (its deployment
# and replicaset controllers write real status), kubectl and etcd, from their published Go
# modules, once per machine, into a cache directory outside the repository.
#
# Each component is built through a small wrapper module: kcp's and
# Kubernetes' own `replace` lines do not apply when they are dependencies, so
# the wrapper copies them (rewriting local staging paths to the published
# modules of the same version).
#
# Usage: tests/components/build.sh [component...]   (default: all)
# Env:   KCP_TMC_CACHE  cache root (default: ${XDG_CACHE_HOME:-$HOME/.cache}/kcp-tmc)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=versions.env
. "$here/versions.env"

cache=${KCP_TMC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kcp-tmc}
bin="$cache/bin"
work="$cache/build"
mkdir -p "$bin" "$work"

# The checksum database has no entries for kcp's modules (kcp-dev's modules
# are served by the proxy but unknown to sum.golang.org); the wrapper's go.sum
# still pins their hashes.
export GONOSUMDB="${GONOSUMDB:+$GONOSUMDB,}github.com/kcp-dev"

log() { printf '[components] %s\n' "$*" >&2; }

# The go.mod of module $1 at version $2, from the module proxy via the Go toolchain.
gomod_of() {
  local json
  json=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "$1@$2")
  python3 -c '
import json, sys
d = json.load(sys.stdin)
if "GoMod" not in d:
    sys.exit("[components] cannot download %s@%s: %s" % (d.get("Path"), d.get("Version"), d.get("Error")))
print(d["GoMod"])' <<<"$json"
}

# Replace lines of a go.mod (both `replace x => y` and `replace ( ... )` forms).
replaces_of() {
  awk '
    /^replace \(/ { inblk=1; next }
    inblk && /^\)/ { inblk=0; next }
    inblk { print; next }
    /^replace / { sub(/^replace /, ""); print }
  ' "$1" | sed 's,//.*$,,' | awk 'NF'
}

# Builds the Go packages "$@" (after the first three args) of a wrapper module.
#   $1 name   $2 go.mod body   $3 stamp (changes force a rebuild)   $4 -ldflags
build_wrapper() {
  local name=$1 modbody=$2 stamp=$3 ldflags=$4; shift 4
  local dir="$work/$name"
  mkdir -p "$dir"
  printf '%s\n' "$modbody" >"$dir/go.mod"
  : >"$dir/go.sum"
  log "$name: the first build downloads a few hundred MB of Go modules (go: downloading ... lines)"
  local pkg out
  for pkg in "$@"; do
    out="$bin/$(basename "$pkg")"
    log "$name: building $pkg (cold builds take several minutes on 2 cores)"
    local t0=$SECONDS
    (cd "$dir" && GOFLAGS=-mod=mod CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out.tmp" "$pkg")
    mv "$out.tmp" "$out"
    log "$name: built $(basename "$pkg") in $((SECONDS - t0))s"
  done
  printf '%s\n' "$stamp" >"$bin/.$name.stamp"
}

is_current() { [ -f "$bin/.$1.stamp" ] && [ "$(cat "$bin/.$1.stamp")" = "$2" ]; }

build_kcp() {
  local stamp="kcp $KCP_VERSION"
  is_current kcp "$stamp" && [ -x "$bin/kcp" ] && [ -x "$bin/kcp-front-proxy" ] && return 0
  local mod; mod=$(gomod_of github.com/kcp-dev/kcp "$KCP_VERSION")
  local repl
  # kcp's sdk lives in ./sdk inside kcp's repository; it is published as its own module.
  repl=$(replaces_of "$mod" | grep -v '=> \./' )
  build_wrapper kcp "module kcp-tmc.local/components/kcp

go 1.23.0

require (
	github.com/kcp-dev/kcp $KCP_VERSION
	github.com/kcp-dev/kcp/sdk $KCP_VERSION
)

replace github.com/kcp-dev/kcp/sdk => github.com/kcp-dev/kcp/sdk $KCP_VERSION

replace (
$repl
)" "$stamp" "" github.com/kcp-dev/kcp/cmd/kcp github.com/kcp-dev/kcp/cmd/kcp-front-proxy
}

build_kubernetes() {
  # Version variables are normally stamped by Kubernetes' own build scripts;
  # without them the binaries report v0.0.0-master.
  local stamp="kubernetes $KUBERNETES_VERSION (version-stamped)"
  local minor=${KUBERNETES_VERSION#v1.}; minor=${minor%%.*}
  local ldflags="" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
  done
  is_current kubernetes "$stamp" && [ -x "$bin/kube-apiserver" ] && [ -x "$bin/kubectl" ] \
    && [ -x "$bin/kube-controller-manager" ] && return 0
  local mod; mod=$(gomod_of k8s.io/kubernetes "$KUBERNETES_VERSION")
  local staging_version="v0.${KUBERNETES_VERSION#v1.}"
  # Kubernetes replaces its staging modules with ./staging/src/k8s.io/X; the same
  # code is published as k8s.io/X v0.<minor>.<patch>.
  local repl
  repl=$(replaces_of "$mod" | awk -v v="$staging_version" '$3 ~ /^\.\/staging\// { print $1, "=>", $1, v; next } { print }')
  build_wrapper kubernetes "module kcp-tmc.local/components/kubernetes

go 1.24.0

require k8s.io/kubernetes $KUBERNETES_VERSION

replace (
$repl
)" "$stamp" "$ldflags" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl \
    k8s.io/kubernetes/cmd/kube-controller-manager
}

build_etcd() {
  local stamp="etcd $ETCD_VERSION"
  is_current etcd "$stamp" && [ -x "$bin/etcd" ] && return 0
  build_wrapper etcd "module kcp-tmc.local/components/etcd

go 1.23.0

require go.etcd.io/etcd/server/v3 $ETCD_VERSION" "$stamp" "" go.etcd.io/etcd/server/v3
  mv "$bin/v3" "$bin/etcd"
}

# One binary from a Debian package ($1 package, $2 version, $3 path in the
# package, $4 name in the cache): only that file is extracted; nothing is installed.
fetch_debian_binary() {
  local pkg=$1 version=$2 path=$3 name=$4
  local stamp="$name $version"
  is_current "$name" "$stamp" && [ -x "$bin/$name" ] && return 0
  command -v apt-get >/dev/null || { log "$name: apt-get is needed to fetch Debian's $pkg package"; return 1; }
  local dir="$work/$name"
  rm -rf "$dir" && mkdir -p "$dir"
  log "fetching $name from Debian's $pkg $version"
  (cd "$dir" && apt-get download -q "$pkg=$version" 2>&1 | grep -v '^W: Download is performed unsandboxed' >&2) || true
  local deb
  deb=$(ls "$dir"/"${pkg}"_*.deb 2>/dev/null | head -1)
  [ -n "$deb" ] || { log "$name: apt-get download $pkg=$version failed (try: apt-get update)"; return 1; }
  dpkg-deb -x "$deb" "$dir/x"
  install -m 0755 "$dir/x/$path" "$bin/$name"
  printf "%s\n" "$stamp" >"$bin/.$name.stamp"
}

# promtool checks deploy/'s alert rules; umoci assembles the container image
# (deploy/image/build.sh) without a container engine.
fetch_promtool() { fetch_debian_binary prometheus "$PROMETHEUS_DEBIAN_VERSION" usr/bin/promtool promtool; }
fetch_umoci() { fetch_debian_binary umoci "$UMOCI_DEBIAN_VERSION" usr/bin/umoci umoci; }

want=("$@")
[ ${#want[@]} -gt 0 ] || want=(kcp kubernetes etcd promtool umoci)
command -v go >/dev/null || { log "the Go toolchain is required (https://go.dev/dl); none on PATH"; exit 1; }
for c in "${want[@]}"; do
  case "$c" in
    kcp) build_kcp ;;
    kubernetes) build_kubernetes ;;
    etcd) build_etcd ;;
    promtool) fetch_promtool ;;
    umoci) fetch_umoci ;;
    *) log "unknown component: $c (known: kcp kubernetes etcd promtool umoci)"; exit 2 ;;
  esac
done
log "binaries ready in $bin"
