#!/usr/bin/env bash
# Benchmark: libvirt live migration with lockwarden as libvirt's lock manager, beside libvirt without one, in one run:
# N live migrations (`virsh migrate --live --unsafe`) of one QEMU back and forth between two libvirt nodes with
# lock_manager = "nop", and N of another between two libvirt nodes with lock_manager = "lockd" served by lockwarden's
# agents (real control plane and operator), interleaved. Reports QEMU's downtime ("Total downtime" of
# `virsh domjobinfo --completed`) and the total time, p50 and p99 of each, their differences, and where a lockd
# migration's time goes (the agents' `event=lockd-call ... ms=` lines). Never a test; item (h) of e2e/bench.sh.
# Needs root and Debian's libvirt and QEMU (e2e/libvirt/install.sh, run first).
#
#   e2e/bench-libvirt.sh [--migrations N]
#
# Writes the results into docs/benchmarks.md (section "libvirt live migration"), with date, machine and commit.
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
source "$here/bench-lib.sh"
migrations=30
command="e2e/bench-libvirt.sh"
while [[ $# -gt 0 ]]; do
  case $1 in
    --migrations) migrations=$2; command="$command --migrations $2"; shift 2 ;;
    --command) command=$2; shift 2 ;; # the command named in the doc, when e2e/bench.sh runs this
    *) echo "usage: $0 [--migrations N]" >&2; exit 2 ;;
  esac
done
[[ $EUID -eq 0 ]] || { echo "bench-libvirt: needs root (libvirt nodes in mount namespaces)" >&2; exit 1; }
bash "$here/libvirt/install.sh"
bench_run e2e e2e.bench.LibvirtMigrationBenchmark libvirt-migration "$command" -Dmigrations="$migrations"
