#!/usr/bin/env bash
# The benchmark suite (issue #7): builds once, then runs every item and writes each into docs/benchmarks.md (date,
# machine, commit, percentiles, ratios to a baseline measured in the same run). Order: a, c, d, e, g and i on one
# control plane and one real system started once (RealSystemBenchmarks: the baseline a is measured first, on the
# fresh control plane, and c, d, e, g and i are its ratios), then b and f (operator module, simulated agents, each on
# its own control plane), then h (four libvirt nodes and a control plane of its own). One system instead of four saves
# about a minute, which --quick needs:
#
#   a  baseline: sequential status updates with optimistic concurrency (RealSystemBenchmarks)
#   b  create to Granted, simulated agents (e2e/bench-grants.sh, GrantLatencyBenchmark)
#   c  contention: N domains on one Exclusive disk, hand-offs per second (ContentionBenchmark)
#   d  Live migration blackout (MigrationBenchmark; alone: e2e/bench-migration.sh)
#   e  fail-over at default timeouts: node death, cut off with Pause, cut off with Kill; a storm of 30 domains on a
#      node that dies (FailoverBenchmark)
#   f  scale: DiskLeases and domains, operator memory, resync after a restart (ScaleBenchmark)
#   g  agent: create to running, supervisor and agent memory, idle CPU (AgentBenchmark; alone: e2e/bench-agent.sh)
#   i  agent scope: an agent's RSS and watch events with N domains on simulated other nodes (AgentScopeBenchmark)
#   h  libvirt live migration: QEMU's downtime with lock_manager nop and with lockd served by lockwarden, in one run
#      (LibvirtMigrationBenchmark; alone: e2e/bench-libvirt.sh; needs root, installs Debian's libvirt and QEMU)
#
#   e2e/bench.sh [--quick] [--only LETTERS]
#   e2e/bench.sh libvirt-migration      the same as --only h
#
# --quick runs every item at a small size (under 5 minutes on 2 cores; h adds about 2); --only runs some items, e.g.
# --only ce.
# Never part of `mvn verify`.
set -euo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
source "$here/bench-lib.sh"
quick=false
only=abcdefghi
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) quick=true; shift ;;
    --only) only=$2; shift 2 ;;
    libvirt-migration) only=h; shift ;;
    *) echo "usage: $0 [--quick] [--only LETTERS] | $0 libvirt-migration" >&2; exit 2 ;;
  esac
done

if $quick; then
  updates=300 grant_domains=100 grant_warmup=30 holders=8 migrations=6 repetitions=1 leases=500 domains=250
  agent_domains=6 pauses=1 idle_seconds=10 libvirt_migrations=6 storm=6 other_domains=250
  command="e2e/bench.sh --quick"
else
  updates=1000 grant_domains=1000 grant_warmup=300 holders=100 migrations=100 repetitions=3 leases=10000 domains=5000
  agent_domains=100 pauses=3 idle_seconds=20 libvirt_migrations=30 storm=30 other_domains=5000
  command="e2e/bench.sh"
fi
[[ $only == abcdefghi ]] || command="$command --only $only"

started=$(date +%s)
bench_build
# bench-grants.sh runs in a child shell: it must find the build done.
export bench_built bench_k8s_version
elapsed() { echo "$(( $(date +%s) - started )) s"; }

# a, c, d, e, g and i share one control plane and one real system (see RealSystemBenchmarks).
system_items=$(tr -cd 'acdegi' <<<"$only")
if [[ -n $system_items ]]; then
  bench_progress "== ($system_items) on one real system: baseline of $updates updates, contention with $holders" \
    "domains, $migrations migrations, $repetitions fail-over repetition(s) and a storm of $storm, agent with" \
    "$agent_domains domains, agent scope with $other_domains domains on other nodes" \
    "(elapsed $(elapsed))"
  declare -A names=([a]=baseline [c]=contention [d]=migration [e]=failover [g]=agent [i]=scope)
  for letter in $(grep -o . <<<"$system_items"); do rm -f "$bench_root/e2e/target/bench/${names[$letter]}.md"; done
  bench_java e2e e2e.bench.RealSystemBenchmarks -Ditems="$system_items" -Dupdates="$updates" -Dholders="$holders" \
    -Dmigrations="$migrations" -Drepetitions="$repetitions" -Ddomains="$agent_domains" -Drate=2 \
    -Dstorm="$storm" -Dpauses="$pauses" -DidleSeconds="$idle_seconds" -DotherDomains="$other_domains"
  for letter in $(grep -o . <<<"$system_items"); do
    bench_write_section "${names[$letter]}" "$command" "$bench_root/e2e/target/bench/${names[$letter]}.md"
  done
fi
if [[ $only == *b* ]]; then
  bench_progress "== (b) create to Granted, $grant_domains domains on 3 simulated agents (elapsed $(elapsed))"
  bash "$here/bench-grants.sh" --domains "$grant_domains" --rate 50 --warmup "$grant_warmup"
fi
if [[ $only == *f* ]]; then
  bench_progress "== (f) scale, $leases DiskLeases and $domains domains (elapsed $(elapsed))"
  bench_run operator operator.bench.ScaleBenchmark scale "$command" -Dleases="$leases" -Ddomains="$domains"
fi
if [[ $only == *h* ]]; then
  bench_progress "== (h) libvirt live migration, $libvirt_migrations each with lock_manager nop and lockd (elapsed $(elapsed))"
  bash "$here/bench-libvirt.sh" --migrations "$libvirt_migrations" --command "$command"
fi
bench_progress "done in $(elapsed); results in $bench_doc"
