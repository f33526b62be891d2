#!/usr/bin/env bash
# Installs what the libvirt tests (io.lockwarden.e2e.libvirt) need: Debian's libvirt daemon and client, QEMU for
# x86-64 and qemu-img, without recommended packages and without libvirt-daemon-system (whose scripts want systemd),
# and then what libvirt-daemon-system would have made and libvirtd insists on:
#   - the user and group libvirt-qemu (Debian builds libvirt with them as the default QEMU user and group, and the
#     QEMU driver resolves both before it reads qemu.conf: without them the driver does not start, whatever qemu.conf
#     says: "Failed to parse group 'libvirt-qemu'");
#   - /var/log/libvirt, /var/lib/libvirt, /var/cache/libvirt and /run/libvirt (also the mount points node.sh binds
#     each node's own directories over).
#
# Idempotent: when everything is there it returns in well under a second and changes nothing. apt-get update runs
# only when the machine's package lists do not offer a package or are too old to fetch it.
# Non-interactive: safe under `mvn verify` (DEBIAN_FRONTEND=noninteractive, stdin from /dev/null, no prompts,
# existing configuration files kept).
#
# Usage:
#   install.sh           install what is missing, or fail naming it
#   install.sh --check   change nothing; exit 0 if everything is there, else 1 and name what is missing
set -euo pipefail

PACKAGES=(libvirt-daemon libvirt-clients qemu-system-x86 qemu-utils)
# What the tests run, and which package brings it.
declare -A FILES=(
  [/usr/sbin/libvirtd]=libvirt-daemon
  [/usr/sbin/virtlockd]=libvirt-daemon
  [/usr/bin/virsh]=libvirt-clients
  [/usr/bin/qemu-system-x86_64]=qemu-system-x86
  [/usr/bin/qemu-img]=qemu-utils
)
QEMU_USER=libvirt-qemu
DIRS=(/var/log/libvirt /var/lib/libvirt /var/cache/libvirt /run/libvirt /etc/libvirt)
# From util-linux (Essential on Debian), but say so if a stripped image lacks them.
TOOLS=(unshare nsenter mount umount)

started=$SECONDS
say() { printf '[libvirt-install %3ds] %s\n' "$((SECONDS - started))" "$*"; }
die() { printf '[libvirt-install] ERROR: %s\n' "$*" >&2; exit 1; }

check=false
case "${1:-}" in
  --check) check=true ;;
  "") ;;
  *) die "unknown argument $1 (see the header of $0)" ;;
esac

export DEBIAN_FRONTEND=noninteractive
exec </dev/null

lockd_plugin() { compgen -G '/usr/lib/*/libvirt/lock-driver/lockd.so' >/dev/null; }
pkg_installed() { [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" == ii* ]]; }

missing_packages() {
  local p f
  local -A want=()
  for p in "${PACKAGES[@]}"; do pkg_installed "$p" || want[$p]=1; done
  for f in "${!FILES[@]}"; do [[ -x "$f" ]] || want[${FILES[$f]}]=1; done
  lockd_plugin || want[libvirt-daemon]=1
  echo "${!want[@]}"
}

missing_rest() {
  local d t out=()
  getent passwd "$QEMU_USER" >/dev/null || out+=("user $QEMU_USER")
  getent group "$QEMU_USER" >/dev/null || out+=("group $QEMU_USER")
  for d in "${DIRS[@]}"; do [[ -d "$d" ]] || out+=("$d"); done
  for t in "${TOOLS[@]}"; do command -v "$t" >/dev/null || out+=("command $t"); done
  echo "${out[@]}"
}

packages=$(missing_packages)
rest=$(missing_rest)
if [[ -z "$packages" && -z "$rest" ]]; then
  say "up to date: ${PACKAGES[*]}, user and group $QEMU_USER, libvirt's directories"
  exit 0
fi
if $check; then
  say "missing: ${packages:+packages $packages; }${rest}"
  exit 1
fi

[[ "$(uname -s)-$(uname -m)" == "Linux-x86_64" ]] || die "only linux x86-64 is supported, this is $(uname -s)-$(uname -m)"
for t in "${TOOLS[@]}"; do
  command -v "$t" >/dev/null || die "$t is missing (util-linux / mount): install it; the libvirt nodes need it"
done
if [[ $EUID -ne 0 ]]; then
  die "missing: ${packages:+packages $packages; }${rest}. Installing them needs root (this runs as $(id -un));" \
      "as root run: apt-get install --no-install-recommends ${PACKAGES[*]}, then $0"
fi

if [[ -n "$packages" ]]; then
  command -v apt-get >/dev/null && command -v dpkg-query >/dev/null \
    || die "missing packages $packages, and this machine has no apt-get: a Debian 12 machine is needed"
  log=$(mktemp /tmp/lockwarden-libvirt-install.XXXXXX.log)
  apt_opts=(-y -q --no-install-recommends -o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)

  # Prints apt's milestones (not its hundreds of lines), keeps everything in $log.
  progress() {
    local line
    while IFS= read -r line; do
      printf '%s\n' "$line" >>"$log"
      case "$line" in
        "Need to get "*|Fetched*|"Setting up libvirt"*|"Setting up qemu"*|E:*|W:*|Err:*) say "  apt: $line" ;;
      esac
    done
  }
  candidates_known() {
    local p policy
    for p in "${PACKAGES[@]}"; do
      # Not `apt-cache ... | grep -q`: grep's early exit would fail the pipeline (pipefail) through SIGPIPE.
      policy=$(apt-cache policy "$p" 2>/dev/null)
      [[ "$policy" =~ Candidate:\ [^\(] ]] || return 1
    done
  }
  update() {
    say "apt-get update (the package lists $1)"
    # Another source of the machine may be unreachable; what matters is that Debian's lists now offer the packages.
    apt-get -q -o DPkg::Lock::Timeout=300 update 2>&1 | progress || true
    candidates_known || { tail -n 20 "$log" >&2; die "Debian's package lists do not offer ${PACKAGES[*]} even after apt-get update (log: $log)"; }
  }
  install() {
    set -o pipefail
    apt-get "${apt_opts[@]}" install "${PACKAGES[@]}" 2>&1 | progress
  }

  say "installing $packages (with ${PACKAGES[*]}; --no-install-recommends; log: $log)"
  candidates_known || update "do not offer them"
  if ! install; then
    # Stale lists name files the archive no longer has (a security update moved them): refresh once and retry.
    if grep -qE '^(E: Failed to fetch|Err:)|404 +Not Found|Unable to fetch' "$log"; then
      update "are out of date"
      install || { tail -n 20 "$log" >&2; die "apt-get install ${PACKAGES[*]} failed (log: $log)"; }
    else
      tail -n 20 "$log" >&2
      die "apt-get install ${PACKAGES[*]} failed (log: $log)"
    fi
  fi
  packages=$(missing_packages)
  [[ -z "$packages" ]] || die "apt-get reported success, but still missing: $packages (log: $log)"
  rm -f "$log"
  say "installed: $(dpkg-query -W -f='${Package} ${Version}, ' "${PACKAGES[@]}" | sed 's/, $//')"
fi

if ! getent group "$QEMU_USER" >/dev/null; then
  groupadd --system "$QEMU_USER" || die "cannot create group $QEMU_USER"
  say "created group $QEMU_USER"
fi
if ! getent passwd "$QEMU_USER" >/dev/null; then
  # As libvirt-daemon-system's postinst makes it: a system user with no login and no home of its own.
  useradd --system --gid "$QEMU_USER" --home-dir /var/lib/libvirt --no-create-home --shell /usr/sbin/nologin \
      --comment "Libvirt Qemu" "$QEMU_USER" || die "cannot create user $QEMU_USER"
  say "created user $QEMU_USER"
fi
for d in "${DIRS[@]}"; do
  [[ -d "$d" ]] || { mkdir -p "$d" && chmod 755 "$d" && say "created $d"; } || die "cannot create $d"
done

rest=$(missing_rest)
[[ -z "$rest" ]] || die "still missing: $rest"
say "ready: libvirt $(virsh --version) and $(qemu-system-x86_64 --version | head -n1)"
