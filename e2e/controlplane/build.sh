#!/usr/bin/env bash
# Builds the control plane that every lockwarden test and ./local-cluster run against:
# etcd, kube-apiserver, kube-controller-manager and kubectl, compiled from pinned sources through
# the Go module proxy, installed where kube-api-test finds them offline:
#   $LOCKWARDEN_TOOLS_DIR/k8s/<version>-linux-amd64/{etcd,kube-apiserver,kube-controller-manager,kubectl}
# (kube-api-test runs etcd and kube-apiserver; ./local-cluster adds kube-controller-manager.)
#
# Idempotent: when the installed binaries carry the stamp of these exact sources, it returns at once.
# Atomic: binaries are built in a temporary directory and renamed into place as a whole.
#
# Usage:
#   build.sh                    build if needed
#   build.sh --expect 1.34.4    the same, failing if the wrappers pin another Kubernetes version (Maven passes its own)
#   build.sh --print-bin-dir    print where the binaries are (or will be) installed, and nothing else
#
# Environment:
#   LOCKWARDEN_TOOLS_DIR  where binaries and Go caches live (default: ~/.kubeapitest, where kube-api-test looks)
#   GOPROXY               the Go module proxy (default: Go's own default)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MIN_FREE_GIB=6           # a cold build fills ~2 GiB of module cache and ~3 GiB of build cache

say() { printf '[control-plane %3ds] %s\n' "$((SECONDS - started))" "$*"; }
die() { printf '[control-plane] ERROR: %s\n' "$*" >&2; exit 1; }

# The versions are those the wrapper modules require: go.mod is their one source.
required_version() { sed -nE "s#^(require)?[[:space:]]+$2 v([0-9.]+)( // indirect)?\$#\2#p" "$here/$1/go.mod"; }
K8S_VERSION=$(required_version kubernetes k8s.io/kubernetes)
ETCD_VERSION=$(required_version etcd go.etcd.io/etcd/server/v3)
[[ -n "$K8S_VERSION" && -n "$ETCD_VERSION" ]] || die "cannot read the pinned versions from $here/*/go.mod"

tools_dir=${LOCKWARDEN_TOOLS_DIR:-$HOME/.kubeapitest}
platform=linux-amd64
target="$tools_dir/k8s/$K8S_VERSION-$platform"
started=$SECONDS

case "${1:-}" in
  --print-bin-dir) echo "$target"; exit 0 ;;
  --expect) [[ "${2:-}" == "$K8S_VERSION" ]] \
      || die "the build expects Kubernetes ${2:-?}, but controlplane/kubernetes/go.mod pins $K8S_VERSION: change both" ;;
  "") ;;
  *) die "unknown argument $1 (see the header of $0)" ;;
esac

# The stamp names everything that determines the binaries; a change to any of them rebuilds.
stamp() {
  cat "$here/build.sh" "$here/kubernetes/go.mod" "$here/kubernetes/go.sum" \
      "$here/etcd/go.mod" "$here/etcd/go.sum" "$here/etcd/main.go" | sha256sum | cut -c1-16
}

want_stamp=$(stamp)
if [[ -x "$target/etcd" && -x "$target/kube-apiserver" && -x "$target/kube-controller-manager" && -x "$target/kubectl" \
      && "$(cat "$target/.lockwarden-stamp" 2>/dev/null)" == "$want_stamp" ]]; then
  say "up to date: $target"
  exit 0
fi

# --- fail fast on what is missing -------------------------------------------------------
[[ "$(uname -s)-$(uname -m)" == "Linux-x86_64" ]] || die "only linux-amd64 is supported, this is $(uname -s)-$(uname -m)"
command -v go >/dev/null || die "Go is not installed (need Go 1.24 or newer on PATH)"
go_minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
[[ "$go_minor" =~ ^[0-9]+$ && "$go_minor" -ge 24 ]] || die "Go 1.24 or newer is needed, found $(go env GOVERSION)"
mkdir -p "$tools_dir" || die "cannot create $tools_dir"
free_kib=$(df -Pk "$tools_dir" | awk 'NR==2 {print $4}')
(( free_kib >= MIN_FREE_GIB * 1024 * 1024 )) \
  || die "not enough disk in $tools_dir: $((free_kib / 1024 / 1024)) GiB free, need $MIN_FREE_GIB GiB"

export GOMODCACHE="$tools_dir/go/mod"
export GOCACHE="$tools_dir/go/build"
export GOTOOLCHAIN=local
export GOFLAGS="-mod=readonly -buildvcs=false"
export CGO_ENABLED=0
export GOOS=linux GOARCH=amd64
# Modules come from the proxy only, never straight from a VCS host.
proxy=${GOPROXY:-https://proxy.golang.org}
export GOPROXY=${proxy//,direct/}

download() {
  local module=$1
  say "downloading modules for $module (through $GOPROXY)"
  (cd "$here/$module" && go mod download) \
    || die "cannot download the modules of $module: is the Go module proxy ($GOPROXY) reachable?"
}

# Runs `go build` in the background and prints a line every 20 s with the packages compiled so far,
# so a cold build of many minutes never looks hung.
build() {
  local module=$1 out=$2 ldflags=$3; shift 3
  local log="$out/.build-$module.log"
  say "compiling $* (a cold build takes several minutes on 2 cores)"
  (cd "$here/$module" && go build -v -trimpath -tags selinux,notest,grpcnotrace \
      -ldflags "$ldflags" -o "$out/" "$@") >"$log" 2>&1 &
  local pid=$! last=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    if (( SECONDS - last >= 20 )); then
      last=$SECONDS
      say "  ... $(grep -c . "$log" || true) packages compiled"
    fi
  done
  if ! wait "$pid"; then
    tail -n 30 "$log" >&2
    die "building $* failed; full log in $log"
  fi
  rm -f "$log"
}

version_ldflags() {
  # Both packages must carry the real tag, or the API server's emulation-version checks fail.
  local major=${K8S_VERSION%%.*} rest=${K8S_VERSION#*.}
  local minor=${rest%%.*} flags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=" -X $pkg.gitVersion=v$K8S_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    flags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  echo "$flags"
}

mkdir -p "$tools_dir/k8s"
staging=$(mktemp -d "$tools_dir/k8s/.building-XXXXXX")
trap 'rm -rf "$staging"' EXIT

say "building etcd $ETCD_VERSION and Kubernetes $K8S_VERSION into $target"
download etcd
download kubernetes
build etcd "$staging" "-s -w" .   # the wrapper module's last path element names the binary: etcd
build kubernetes "$staging" "$(version_ldflags)" \
  k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl

"$staging/etcd" --version | grep -q "etcd Version: $ETCD_VERSION" || die "built etcd does not report version $ETCD_VERSION"
for bin in kube-apiserver kube-controller-manager; do
  "$staging/$bin" --version | grep -q "v$K8S_VERSION" || die "built $bin does not report v$K8S_VERSION"
done
echo "$want_stamp" >"$staging/.lockwarden-stamp"

# Swap the finished directory into place in one rename, so a half-built set is never visible.
rm -rf "$target.old"
[[ -d "$target" ]] && mv "$target" "$target.old"
chmod 755 "$staging"
mv "$staging" "$target"
rm -rf "$target.old"
trap - EXIT
say "installed etcd, kube-apiserver, kube-controller-manager and kubectl in $target"
