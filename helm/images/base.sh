#!/usr/bin/env bash
# Builds the base image of the operator and agent images without a container daemon or an image registry: a Debian
# 12 (bookworm) minbase with Debian's openjdk-17-jre-headless, assembled from Debian's archive by mmdebstrap, written
# as one layer in the tarball format `docker save` writes, which Jib takes as a base (`tar://`). Jib then adds the
# application's layers and writes each component's image as an OCI tarball (operator/target/jib-image.tar,
# node-agent/target/jib-image.tar; helm/images/README.md).
#
# The base has what the agent execs: setsid, setpriv (util-linux) and renice (bsdutils), all essential packages.
#
# Idempotent: a base whose stamp matches this script is left alone (well under a second). Built in a temporary file
# and renamed into place, so a half-built base is never used. mmdebstrap is installed with apt-get when missing
# (root; Debian's archive must be reachable).
#
# Usage:
#   base.sh               build if needed, print nothing but progress
#   base.sh --print-path  print where the base is (or will be), and nothing else
#
# Environment: LOCKWARDEN_TOOLS_DIR (default ~/.kubeapitest): where the base is kept, beside the control plane.
set -euo pipefail

SUITE=bookworm
PACKAGES=openjdk-17-jre-headless
# mmdebstrap takes every file's time from it: the same packages give the same layer.
export SOURCE_DATE_EPOCH=1700000000

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tools_dir=${LOCKWARDEN_TOOLS_DIR:-$HOME/.kubeapitest}
dir="$tools_dir/images"
stamp="$SUITE $(sha256sum "$here/base.sh" | cut -c1-16)"
# One fixed name, which the build names (the root pom's lockwarden.base.image); its stamp says what it holds.
base="$dir/lockwarden-base.tar"
started=$SECONDS

say() { printf '[base image %3ds] %s\n' "$((SECONDS - started))" "$*"; }
die() { printf '[base image] ERROR: %s\n' "$*" >&2; exit 1; }

case "${1:-}" in
  --print-path) echo "$base"; exit 0 ;;
  "") ;;
  *) die "unknown argument $1 (see the header of $0)" ;;
esac

if [[ -s "$base" && "$(cat "$base.stamp" 2>/dev/null)" == "$stamp" ]]; then
  say "up to date: $base"
  exit 0
fi

if ! command -v mmdebstrap >/dev/null; then
  [[ $(id -u) == 0 ]] || die "mmdebstrap is missing, and installing it needs root: apt-get install mmdebstrap"
  say "installing mmdebstrap from Debian's archive"
  apt-get update -qq >/dev/null || die "apt-get update failed: is Debian's archive reachable?"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null || die "apt-get install mmdebstrap failed"
fi

mkdir -p "$dir"
work=$(mktemp -d "$dir/.building-XXXXXX")
trap 'rm -rf "$work"' EXIT

say "assembling Debian $SUITE minbase with $PACKAGES from Debian's archive (about half a minute)"
# No documentation or translations: nothing reads them in a container. Man pages stay: update-alternatives links
# java's into place and fails without the directory.
mmdebstrap --quiet --variant=minbase --include="$PACKAGES" --format=tar \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    "$SUITE" "$work/layer.tar" >"$work/mmdebstrap.log" 2>&1 \
  || { tail -n 20 "$work/mmdebstrap.log" >&2; die "mmdebstrap failed; is Debian's archive reachable?"; }
for tool in usr/bin/java usr/bin/setpriv usr/bin/setsid usr/bin/renice; do
  tar tf "$work/layer.tar" "./$tool" >/dev/null 2>&1 || die "the base lacks /$tool"
done

# The image around the layer: a config naming the layer by its digest, and the manifest `docker save` writes.
diff_id=$(sha256sum "$work/layer.tar" | cut -d' ' -f1)
cat >"$work/config.json" <<EOF
{"architecture":"amd64","os":"linux","created":"$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)",
 "config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                  "JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64"]},
 "rootfs":{"type":"layers","diff_ids":["sha256:$diff_id"]},
 "history":[{"created_by":"helm/images/base.sh: mmdebstrap --variant=minbase --include=$PACKAGES $SUITE"}]}
EOF
echo '[{"Config":"config.json","RepoTags":["lockwarden-base:'"${stamp// /-}"'"],"Layers":["layer.tar"]}]' \
  >"$work/manifest.json"
tar -C "$work" -cf "$work/image.tar" manifest.json config.json layer.tar
mv "$work/image.tar" "$base"
echo "$stamp" >"$base.stamp"
say "built $base ($(du -m "$base" | cut -f1) MiB)"
