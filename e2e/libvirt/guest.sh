#!/usr/bin/env bash
# Builds the writing guest of the live-migration tests: a Debian kernel and an initramfs whose /init writes an
# increasing counter to its raw disk, one 512-byte record every ~50 ms plus the cost of writing it (10-15 records/s
# under TCG), so that a test can tell from the disk alone whether the guest ran once, without a gap, from the first
# record to the last (GuestDisk in e2e/src/test/java/io/lockwarden/e2e/libvirt reads it; guest-smoke.py proves the
# guest with plain QEMU and a live migration).
#
# From Debian packages only, and nothing is installed on the host: the kernel package (the one linux-image-amd64
# depends on, e.g. linux-image-6.1.0-57-amd64) and busybox-static are fetched with `apt-get download` and unpacked
# with `dpkg-deb -x` in a temporary directory. Out of them come
#   OUTDIR/vmlinux      the kernel, uncompressed: an ELF that QEMU boots the PVH way, without the real-mode setup
#                       and the decompressor; under TCG the first record comes ~4 s after QEMU starts on an idle
#                       machine, 5-20 s on a busy one (up to ~40 s when it is overloaded)
#   OUTDIR/vmlinuz      the same kernel as Debian ships it (bzImage, xz inside); boots too, ~10 s slower under TCG
#   OUTDIR/initrd.img   a gzip'd cpio (newc) archive: busybox-static, /init (below), and the kernel modules that
#                       the disk needs (virtio_pci, virtio_scsi, sd_mod, virtio_blk and what they depend on, as
#                       their .modinfo says; the Debian kernel has them all as modules), loaded in dependency order
# Boot it with -kernel OUTDIR/vmlinux -initrd OUTDIR/initrd.img -append 'console=ttyS0 quiet', -m 128 and one disk
# on virtio-scsi (/dev/sda) or virtio-blk (/dev/vda); with libvirt:
#   <os><type arch='x86_64'>hvm</type><kernel>OUTDIR/vmlinux</kernel><initrd>OUTDIR/initrd.img</initrd>
#       <cmdline>console=ttyS0 quiet</cmdline></os>
#   <features><acpi/></features>   (without ACPI the guest cannot power off after a FATAL line: it halts instead)
#   <controller type='scsi' model='virtio-scsi'/>, the disk with <target dev='sda' bus='scsi'/> and
#   <driver name='qemu' type='raw' cache='none'/>, and <serial type='file'> for the console.
# The guest's kernel command line may also carry
#   lwdisk=/dev/sdX   the disk to write (default: the first of /dev/sda and /dev/vda to appear)
#   lwwait=SECONDS    how long to wait for it (default 60; TCG is slow)
#   lwperiod=MS       the pause between two records (default 50)
# KVM: needs a real one. Under a nested "kvm_pvm" /dev/kvm (no vmx/svm in /proc/cpuinfo) the Debian kernel never
# gets to /init: KVM fails to emulate its cmpxchg16b ("KVM internal error. Suberror: 1"); use TCG there.
#
# The disk, in 512-byte blocks (no filesystem, no partition table):
#   block 0   the boot log: one line "LWBOOT <boot-id>" per boot of the guest on this disk, oldest first (the
#             last 11), NUL-padded; each boot reads it, appends its own line and writes it back before its first
#             record
#   block n   record n (n = 1, 2, ...): the line "LWCTR <n> <boot-id> <uptime-seconds>\n", NUL-padded to 512
#             bytes. <boot-id> is /proc/sys/kernel/random/uuid, fresh each boot; n is kept only in the guest's
#             memory, so a guest restarted from the disk starts again at 1 under a new boot id. Each record is
#             written with O_DIRECT and then flushed (busybox dd oflag=direct conv=fsync).
# The guest stops writing when the disk is full (a 64 MiB disk holds 131071 records, over two hours) and idles.
# Every record is also printed on the console (ttyS0), as the same line; the guest's own lines start with "LWGUEST":
#   LWGUEST boot <boot-id> uptime <s>
#   LWGUEST disk <dev> bytes <size> records-max <n> period-ms <ms> uptime <s>     (just before record 1)
#   LWGUEST disk full after record <n>
#   LWGUEST FATAL: <why>        (a module that does not load, no disk, a failed write), then it powers off
#
# Idempotent: when OUTDIR holds a whole build by this same script (its sha256 is in OUTDIR/.guest.stamp), nothing is
# done, and apt is not even asked (well under a second); delete OUTDIR to pick up a newer kernel from the archive.
# Runs non-interactively; `apt-get update` is run only when apt does not know the packages (or a download fails),
# which needs root.
#
# Usage: guest.sh OUTDIR
#   GUEST_KERNEL_PACKAGE=linux-image-...   use this kernel package instead of the one linux-image-amd64 depends on
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
# Modules needed for the disk; with their dependencies, they are loaded in this order, dependencies first.
DISK_MODULES=(virtio_pci virtio_scsi sd_mod virtio_blk)
# The busybox applets the /init below uses.
APPLETS=(sh mount insmod dd usleep sleep blockdev cat tr grep tail ls poweroff sync)

started=$SECONDS
say() { printf '[guest %3ds] %s\n' "$((SECONDS - started))" "$*"; }
die() { printf '[guest] ERROR: %s\n' "$*" >&2; exit 1; }

[[ $# -eq 1 && -n "$1" && "$1" != -* ]] || die "usage: $0 OUTDIR (see the header of $0)"
out=$1
for tool in apt-get apt-cache dpkg-deb gzip sha256sum find sort grep; do
  command -v "$tool" >/dev/null || die "$tool is missing: this script needs a Debian host (apt, dpkg, gzip, coreutils)"
done
if ! command -v xz >/dev/null; then # to uncompress the kernel; Debian's xz-utils is "standard", so usually there
  [[ $EUID -eq 0 ]] || die "xz is missing (Debian package xz-utils); as root this script would install it"
  say "installing xz-utils (xz, to uncompress the kernel)"
  apt-get install -y -qq --no-install-recommends xz-utils >/dev/null || die "cannot install xz-utils"
fi
mkdir -p "$out" || die "cannot create $out"
out=$(cd "$out" && pwd)

script_sum=$(sha256sum <"${BASH_SOURCE[0]}" | cut -d' ' -f1)
stamp_of() { sed -n 1p "$out/.guest.stamp" 2>/dev/null; }
if [[ -s "$out/vmlinuz" && -s "$out/vmlinux" && -s "$out/initrd.img" && "$(stamp_of)" == "script $script_sum" ]]; then
  say "up to date: $out/vmlinuz, vmlinux and initrd.img ($(sed -n 2p "$out/.guest.stamp"))"
  exit 0
fi

apt_updated=false
apt_update() {
  $apt_updated && return 0
  [[ $EUID -eq 0 ]] || die "apt's package lists need an update (apt-get update), which needs root"
  say "apt-get update"
  apt-get update -qq >/dev/null || die "apt-get update failed: is Debian's archive reachable?"
  apt_updated=true
}

kernel_package() {
  if [[ -n "${GUEST_KERNEL_PACKAGE:-}" ]]; then echo "$GUEST_KERNEL_PACKAGE"; return; fi
  apt-cache depends linux-image-amd64 2>/dev/null \
    | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | sed -n 1p
}
versions() { # sets kver and bbver to the versions apt would fetch, or to nothing
  local policy
  policy=$(apt-cache policy "$kpkg" busybox-static 2>/dev/null) || true
  kver=$(candidate "$kpkg" <<<"$policy"); bbver=$(candidate busybox-static <<<"$policy")
}
candidate() { awk -v p="$1:" '$0 == p { on = 1; next } /^[^ ]/ { on = 0 } on && $1 == "Candidate:" && $2 != "(none)" { print $2 }'; }

kpkg=$(kernel_package)
[[ -n "$kpkg" ]] && versions
if [[ -z "$kpkg" || -z "${kver:-}" || -z "${bbver:-}" ]]; then
  apt_update
  kpkg=$(kernel_package)
  [[ -n "$kpkg" ]] || die "apt knows no linux-image-amd64 depending on a linux-image-*-amd64 package (amd64 Debian needed)"
  versions
fi
[[ -n "$kver" ]] || die "apt has no candidate for $kpkg"
[[ -n "$bbver" ]] || die "apt has no candidate for busybox-static"

work=$(mktemp -d "${TMPDIR:-/tmp}/lockwarden-guest-XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir "$work/debs" "$work/kernel" "$work/busybox" "$work/root"
chmod 755 "$work"
# apt fetches as the unprivileged _apt user when it can write the directory (otherwise it warns, and fetches as root).
if id _apt >/dev/null 2>&1 && [[ $EUID -eq 0 ]]; then chown _apt "$work/debs"; fi

download() { (cd "$work/debs" && apt-get download -q "$kpkg=$kver" "busybox-static=$bbver" >"$work/download.log" 2>&1); }
say "downloading $kpkg $kver and busybox-static $bbver (about 70 MB)"
if ! download; then
  apt_update                           # a stale package list names files the archive no longer has
  versions
  download || { cat "$work/download.log" >&2; die "apt-get download $kpkg busybox-static failed"; }
fi

say "unpacking"
dpkg-deb -x "$work/debs/${kpkg}_"*.deb "$work/kernel" || die "cannot unpack $kpkg"
dpkg-deb -x "$work/debs/busybox-static_"*.deb "$work/busybox" || die "cannot unpack busybox-static"

vmlinuz=("$work/kernel/boot/vmlinuz-"*)
[[ ${#vmlinuz[@]} -eq 1 && -f "${vmlinuz[0]}" ]] || die "$kpkg has no single boot/vmlinuz-* (found: ${vmlinuz[*]})"
moddirs=("$work/kernel/lib/modules/"*)
[[ ${#moddirs[@]} -eq 1 && -d "${moddirs[0]}" ]] || die "$kpkg has no single lib/modules/<version> directory"
moddir=${moddirs[0]}
release=${moddir##*/}
bb="$work/busybox/bin/busybox"
[[ -x "$bb" ]] || die "busybox-static has no bin/busybox"
applets=$("$bb" --list) || die "$bb does not run on this host"
for applet in "${APPLETS[@]}"; do
  grep -qx "$applet" <<<"$applets" || die "busybox-static $bbver has no '$applet' applet, which /init needs"
done

# --- kernel modules: the disk's, and their dependencies (the package has no modules.dep: depmod runs at install) ---
norm() { echo "${1//-/_}"; }           # module names treat - and _ alike
declare -A modfile=() builtin=() state=()
while IFS= read -r f; do
  base=${f##*/}; base=${base%%.ko*}
  modfile[$(norm "$base")]=$f
done < <(find "$moddir/kernel" -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz')
if [[ -f "$moddir/modules.builtin" ]]; then
  while IFS= read -r f; do
    base=${f##*/}; builtin[$(norm "${base%.ko}")]=1
  done <"$moddir/modules.builtin"
fi
order=()
plain_ko() { # module-file destination: the module, uncompressed (busybox insmod takes plain .ko files)
  case $1 in
    *.ko) cp "$1" "$2" ;;
    *.ko.xz) command -v xz >/dev/null || die "xz is needed to unpack $1"; xz -dc "$1" >"$2" ;;
    *.ko.zst) command -v zstd >/dev/null || die "zstd is needed to unpack $1"; zstd -qdc "$1" >"$2" ;;
    *.ko.gz) gzip -dc "$1" >"$2" ;;
  esac
}
mkdir -p "$work/root/lib/modules"
resolve() { # name needed-by
  local name; name=$(norm "$1")
  case ${state[$name]:-} in
    done) return ;;
    visiting) die "kernel module $name depends on itself (through $2)" ;;
  esac
  if [[ -n "${builtin[$name]:-}" ]]; then state[$name]=done; say "module $name: built into the kernel"; return; fi
  [[ -n "${modfile[$name]:-}" ]] \
    || die "kernel module $name (needed by $2) is neither built into $kpkg $kver nor shipped in it as a module"
  state[$name]=visiting
  local ko="$work/root/lib/modules/$name.ko" deps dep
  plain_ko "${modfile[$name]}" "$ko" || die "cannot copy the kernel module ${modfile[$name]}"
  deps=$(tr '\0' '\n' <"$ko" | sed -n 's/^depends=//p' | sed -n 1p)
  for dep in ${deps//,/ }; do resolve "$dep" "$name"; done
  state[$name]=done
  order+=("$name")
}
for m in "${DISK_MODULES[@]}"; do resolve "$m" "the guest's disk"; done
printf '%s\n' "${order[@]}" >"$work/root/lib/modules/load-order"
say "modules to load (dependencies first): ${order[*]:-none}"

# --- the initramfs ---
mkdir -p "$work/root/"{bin,dev,proc,sys,tmp}
cp "$bb" "$work/root/bin/busybox"
ln -s busybox "$work/root/bin/sh"
if [[ $EUID -eq 0 ]]; then mknod "$work/root/dev/console" c 5 1; fi   # the kernel's stdio for /init
cat >"$work/root/init" <<'INIT'
#!/bin/sh
# The lockwarden writing guest (built by e2e/libvirt/guest.sh, whose header describes the disk format).
/bin/busybox --install -s /bin
export PATH=/bin
mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sysfs /sys

say() { echo "LWGUEST $*"; }
fail() { echo "LWGUEST FATAL: $*"; sync; poweroff -f; while :; do sleep 3600; done; }

boot=$(cat /proc/sys/kernel/random/uuid)
read up rest </proc/uptime
say "boot $boot uptime $up"

while read -r m; do
  insmod "/lib/modules/$m.ko" || fail "insmod $m failed"
done </lib/modules/load-order

wait=${lwwait:-60}
period=${lwperiod:-50}
i=0
disk=
while [ -z "$disk" ]; do
  if [ -n "$lwdisk" ]; then
    [ -b "$lwdisk" ] && disk=$lwdisk
  else
    for d in /dev/sda /dev/vda; do [ -b "$d" ] && { disk=$d; break; }; done
  fi
  if [ -z "$disk" ]; then
    i=$((i + 1))
    [ "$i" -gt $((wait * 10)) ] \
      && fail "no disk ${lwdisk:-/dev/sda or /dev/vda} after ${wait}s; block devices: $(ls /sys/class/block | tr '\n' ' ')"
    usleep 100000
  fi
done
size=$(blockdev --getsize64 "$disk") || fail "cannot read the size of $disk"
sector=$(blockdev --getss "$disk") || fail "cannot read the sector size of $disk"
[ "$sector" = 512 ] || fail "$disk has $sector-byte sectors; the records are 512-byte blocks"
max=$((size / 512 - 1))
[ "$max" -ge 1 ] || fail "$disk ($size bytes) has no room for a record"

# Block 0: the boot log, this boot appended.
dd if="$disk" of=/tmp/old bs=512 count=1 iflag=direct 2>/tmp/dd.err || fail "cannot read block 0 of $disk: $(cat /tmp/dd.err)"
{ tr -d '\000' </tmp/old | grep '^LWBOOT ' | tail -n 10; echo "LWBOOT $boot"; } >/tmp/bootlog
dd if=/tmp/bootlog of="$disk" bs=512 count=1 conv=sync,notrunc,fsync oflag=direct 2>/tmp/dd.err \
  || fail "cannot write the boot log to $disk: $(cat /tmp/dd.err)"
read up rest </proc/uptime
say "disk $disk bytes $size records-max $max period-ms $period uptime $up"

n=0
while [ "$n" -lt "$max" ]; do
  n=$((n + 1))
  read up rest </proc/uptime
  echo "LWCTR $n $boot $up" >/tmp/rec
  dd if=/tmp/rec of="$disk" bs=512 seek="$n" count=1 conv=sync,notrunc,fsync oflag=direct 2>/tmp/dd.err \
    || fail "cannot write record $n to $disk: $(cat /tmp/dd.err)"
  echo "LWCTR $n $boot $up"
  usleep $((period * 1000))
done
say "disk full after record $n"
while :; do sleep 3600; done
INIT
chmod 755 "$work/root/init"

say "packing the initramfs"
find "$work/root" -exec touch -h -d @0 {} +      # the same inputs give the same archive
(cd "$work/root" && find . | LC_ALL=C sort | "$bb" cpio -o -H newc -R 0:0 2>/dev/null) | gzip -9n >"$work/initrd.img" \
  || die "cannot pack the initramfs"
"$bb" gzip -dc <"$work/initrd.img" | "$bb" cpio -t 2>/dev/null | grep -qx init || die "the packed initramfs has no /init"

say "uncompressing the kernel"
cp "${vmlinuz[0]}" "$work/vmlinuz"
# A bzImage is real-mode setup, a decompressor and one xz stream (the x86 BCJ filter, which busybox's unxz lacks).
xz_at=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$work/vmlinuz" | sed -n 1p | cut -d: -f1)
[[ -n "$xz_at" ]] || die "no xz stream in ${vmlinuz[0]##*/}: is $kpkg still compressed with xz?"
tail -c +$((xz_at + 1)) "$work/vmlinuz" >"$work/vmlinux.xz"   # a file, not a pipe: xz stops where the stream ends
xz -dc --single-stream "$work/vmlinux.xz" >"$work/vmlinux" 2>"$work/xz.log" \
  || { cat "$work/xz.log" >&2; die "cannot uncompress the kernel in ${vmlinuz[0]##*/}"; }
[[ "$(head -c 4 "$work/vmlinux" | od -An -c | tr -d ' ')" == '177ELF' ]] || die "the uncompressed kernel is no ELF file"
grep -qa 'Xen' "$work/vmlinux" || die "the uncompressed kernel has no ELF notes for a PVH boot"

rm -f "$out/.guest.stamp"                # no stamp while the files are being replaced
mv -f "$work/vmlinuz" "$out/vmlinuz"
mv -f "$work/vmlinux" "$out/vmlinux"
mv -f "$work/initrd.img" "$out/initrd.img"
printf 'script %s\n%s %s, busybox-static %s\n' "$script_sum" "$kpkg" "$kver" "$bbver" >"$out/.guest.stamp"
say "built $out/vmlinuz ($release, $(stat -c %s "$out/vmlinuz") bytes), vmlinux ($(stat -c %s "$out/vmlinux") bytes) and initrd.img ($(stat -c %s "$out/initrd.img") bytes)"
