#!/usr/bin/env bash
# Benchmark: Live migration blackout (handoffMillis) over N migrations of one domain back and forth between two real
# agents, with the real operator and supervisors, beside a baseline measured in the same run. Never a test; item (d)
# of e2e/bench.sh.
#
#   e2e/bench-migration.sh [--migrations N]
#
# Writes the results into docs/benchmarks.md (section "Migration hand-off"), with date, machine and commit.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
migrations=100
while [[ $# -gt 0 ]]; do
  case $1 in
    --migrations) migrations=$2; shift 2 ;;
    *) echo "usage: $0 [--migrations N]" >&2; exit 2 ;;
  esac
done
bench_run e2e e2e.bench.MigrationBenchmark migration "e2e/bench-migration.sh --migrations $migrations" \
  -Dmigrations="$migrations"
