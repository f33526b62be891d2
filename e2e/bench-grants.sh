#!/usr/bin/env bash
# Benchmark: operator create-to-Granted latency for 1,000 domains with one disk each on 3 simulated nodes, beside a
# baseline measured in the same run (one optimistic-concurrency status update). A separate command, never a test.
#
#   e2e/bench-grants.sh [--domains N] [--rate PER_SECOND]
#
# Writes the results into docs/benchmarks.md (section "Grant latency"), with date, machine and commit.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
domains=1000
rate=50
while [[ $# -gt 0 ]]; do
  case $1 in
    --domains) domains=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    *) echo "usage: $0 [--domains N] [--rate PER_SECOND]" >&2; exit 2 ;;
  esac
done

cd "$root"
echo "[bench] building (control plane, operator and its test classes)"
bash e2e/controlplane/build.sh
mvn -q -B -pl operator -am -DskipTests install
mvn -q -B -pl operator dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/test-classpath.txt

cd operator
java -Ddomains="$domains" -Drate="$rate" -Dlockwarden.k8s.version="$(bash ../e2e/controlplane/build.sh --print-bin-dir | sed -E 's|.*/([0-9.]+)-linux-amd64|\1|')" \
  -cp "target/test-classes:target/classes:$(cat target/test-classpath.txt)" \
  io.lockwarden.operator.bench.GrantLatencyBenchmark

commit=$(git -C "$root" rev-parse --short HEAD)
[[ -z "$(git -C "$root" status --porcelain)" ]] || commit="$commit (with uncommitted changes)"
section=$(cat <<MD
<!-- grant-latency:start -->
## Grant latency (operator, simulated agents)

Command: \`e2e/bench-grants.sh --domains $domains --rate $rate\`. Date: $(date -u +%Y-%m-%dT%H:%MZ). Commit: $commit.
Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB.
Real kube-apiserver and etcd on loopback (the test control plane), one operator process, 3 nodes whose
agents are simulated (heartbeats only), after a warm-up round of 300 domains that is left out.
Latency runs from just before the client's create call to the moment a watch on DiskLeases sees the holder.

$(cat target/bench/grant-latency.md)
<!-- grant-latency:end -->
MD
)
python3 - "$root/docs/benchmarks.md" "$section" <<'PY'
import re, sys
path, section = sys.argv[1], sys.argv[2]
text = open(path).read()
pattern = re.compile(r"<!-- grant-latency:start -->.*?<!-- grant-latency:end -->", re.S)
text = pattern.sub(lambda m: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
open(path, "w").write(text)
PY
echo "[bench] results written to docs/benchmarks.md"
