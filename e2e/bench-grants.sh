#!/usr/bin/env bash
# Benchmark: operator create-to-Granted latency for 1,000 domains with one disk each on 3 simulated nodes, beside a
# baseline measured in the same run (one optimistic-concurrency status update). A separate command, never a test;
# item (b) of e2e/bench.sh, which runs every benchmark.
#
#   e2e/bench-grants.sh [--domains N] [--rate PER_SECOND] [--warmup N]
#
# Writes the results into docs/benchmarks.md (section "Grant latency"), with date, machine and commit.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
domains=1000
rate=50
warmup=300
while [[ $# -gt 0 ]]; do
  case $1 in
    --domains) domains=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    *) echo "usage: $0 [--domains N] [--rate PER_SECOND] [--warmup N]" >&2; exit 2 ;;
  esac
done
bench_run operator operator.bench.GrantLatencyBenchmark grant-latency \
  "e2e/bench-grants.sh --domains $domains --rate $rate --warmup $warmup" \
  -Ddomains="$domains" -Drate="$rate" -Dwarmup="$warmup"
