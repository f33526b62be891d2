#!/usr/bin/env bash
# Benchmark: Live migration blackout (handoffMillis) over N migrations of one domain back and forth between two real
# agents, with the real operator and supervisors, beside a baseline measured in the same run. Never a test.
#
#   e2e/bench-migration.sh [--migrations N]
#
# Writes the results into docs/benchmarks.md (section "Migration hand-off"), with date, machine and commit.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
migrations=100
while [[ $# -gt 0 ]]; do
  case $1 in
    --migrations) migrations=$2; shift 2 ;;
    *) echo "usage: $0 [--migrations N]" >&2; exit 2 ;;
  esac
done

cd "$root"
echo "[bench] building (control plane, operator, agent and the e2e test classes)"
bash e2e/controlplane/build.sh
mvn -q -B -DskipTests install
mvn -q -B -pl e2e dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/test-classpath.txt

cd e2e
java -Dmigrations="$migrations" \
  -Dlockwarden.k8s.version="$(bash controlplane/build.sh --print-bin-dir | sed -E 's|.*/([0-9.]+)-linux-amd64|\1|')" \
  -cp "target/test-classes:$(cat target/test-classpath.txt)" \
  io.lockwarden.e2e.bench.MigrationBenchmark

commit=$(git -C "$root" rev-parse --short HEAD)
[[ -z "$(git -C "$root" status --porcelain)" ]] || commit="$commit (with uncommitted changes)"
section=$(cat <<MD
<!-- migration:start -->
## Migration hand-off

Command: \`e2e/bench-migration.sh --migrations $migrations\`. Date: $(date -u +%Y-%m-%dT%H:%MZ). Commit: $commit.
Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB.
One domain running the demo workload (one Exclusive and one Shared disk) migrated Live back and forth between two
real agents, one after the other. The blackout is \`status.migration.handoffMillis\`: from the moment the source's
supervisor stopped the process and released its Exclusive locks to the moment the target's supervisor held every
lock and continued the process (both wall-clock, same host). The goal is p99 ≤ 100 ms.

$(cat target/bench/migration.md)
<!-- migration:end -->
MD
)
python3 - "$root/docs/benchmarks.md" "$section" <<'PY'
import re, sys
path, section = sys.argv[1], sys.argv[2]
text = open(path).read()
pattern = re.compile(r"<!-- migration:start -->.*?<!-- migration:end -->", re.S)
text = pattern.sub(lambda m: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
open(path, "w").write(text)
PY
echo "[bench] results written to docs/benchmarks.md"
