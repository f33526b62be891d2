#!/usr/bin/env bash
# Benchmark: the node agent with the real operator, three real agents and real supervisors at default timeouts:
# create-to-running latency, supervisor and agent memory, agent idle CPU, and how soon a stopped agent's domain is
# paused, beside a baseline measured in the same run. A separate command, never a test; item (g) of e2e/bench.sh.
#
#   e2e/bench-agent.sh [--domains N] [--rate PER_SECOND] [--pauses N] [--idle-seconds S]
#
# Writes the results into docs/benchmarks.md (section "Node agent"), with date, machine and commit.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bench-lib.sh"
domains=100
rate=2
pauses=3
idle_seconds=20
while [[ $# -gt 0 ]]; do
  case $1 in
    --domains) domains=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --pauses) pauses=$2; shift 2 ;;
    --idle-seconds) idle_seconds=$2; shift 2 ;;
    *) echo "usage: $0 [--domains N] [--rate PER_SECOND] [--pauses N] [--idle-seconds S]" >&2; exit 2 ;;
  esac
done
bench_run e2e e2e.bench.AgentBenchmark agent \
  "e2e/bench-agent.sh --domains $domains --rate $rate --pauses $pauses --idle-seconds $idle_seconds" \
  -Ddomains="$domains" -Drate="$rate" -Dpauses="$pauses" -DidleSeconds="$idle_seconds"
