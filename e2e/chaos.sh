#!/usr/bin/env bash
# The chaos suite: random faults, deterministic by seed, against the real operator (two replicas), three real agents
# (each behind its own TCP proxy to the API server), real supervisors, workloads and locks; then the split-brain check
# over every disk and every DiskLease version seen. Exit code 1 on any violation.
#
#   e2e/chaos.sh [--minutes N] [--seed S] [--negative-control]
#
# --negative-control breaks the timing rule on purpose (the operators declare a silent node dead after 2 s, before its
# domains' 6 s deadline passes; docs/safety.md, TIME-2): that run must FAIL with violations, which shows the checker
# can see a split brain. Its agents get the test-only LOCKWARDEN_UNSAFE_SKIP_TIMING_RULE=true (ChaosIT): they would
# refuse to renew under that timing otherwise.
#
# It is `mvn -Pchaos verify` with those two settings (ChaosIT); the summary is printed at the end and kept in
# e2e/target/chaos/summary-S.txt, the agents' and operators' logs in e2e/target/process-logs/.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
minutes=10
seed=1
unsafe=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --minutes) minutes=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --negative-control) unsafe=(-Dchaos.unsafeNodeTimeout=2s); shift ;;
    *) echo "usage: $0 [--minutes N] [--seed S] [--negative-control]" >&2; exit 2 ;;
  esac
done
cd "$root"
echo "[chaos] $minutes min, seed $seed: building, then the run (progress every minute)"
exec mvn -B -Pchaos verify -Dimages.skip=true -Dchaos.minutes="$minutes" -Dchaos.seed="$seed" "${unsafe[@]}"
