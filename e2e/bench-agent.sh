#!/usr/bin/env bash
# Benchmark: the node agent with the real operator, three real agents and real supervisors at default timeouts:
# create-to-running latency, supervisor and agent memory, agent idle CPU, and how soon a stopped agent's domain is
# paused, beside a baseline measured in the same run. A separate command, never a test.
#
#   e2e/bench-agent.sh [--domains N] [--rate PER_SECOND]
#
# Writes the results into docs/benchmarks.md (section "Node agent"), with date, machine and commit.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
domains=100
rate=2
while [[ $# -gt 0 ]]; do
  case $1 in
    --domains) domains=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    *) echo "usage: $0 [--domains N] [--rate PER_SECOND]" >&2; exit 2 ;;
  esac
done

cd "$root"
echo "[bench] building (control plane, operator, agent and the e2e test classes)"
bash e2e/controlplane/build.sh
mvn -q -B -DskipTests install
mvn -q -B -pl e2e dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile=target/test-classpath.txt

cd e2e
java -Ddomains="$domains" -Drate="$rate" \
  -Dlockwarden.k8s.version="$(bash controlplane/build.sh --print-bin-dir | sed -E 's|.*/([0-9.]+)-linux-amd64|\1|')" \
  -cp "target/test-classes:$(cat target/test-classpath.txt)" \
  io.lockwarden.e2e.bench.AgentBenchmark

commit=$(git -C "$root" rev-parse --short HEAD)
[[ -z "$(git -C "$root" status --porcelain)" ]] || commit="$commit (with uncommitted changes)"
section=$(cat <<MD
<!-- agent:start -->
## Node agent

Command: \`e2e/bench-agent.sh --domains $domains --rate $rate\`. Date: $(date -u +%Y-%m-%dT%H:%MZ). Commit: $commit.
Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB.
Real kube-apiserver and etcd on loopback, one operator and three agent processes at default timeouts, one
supervisor JVM per domain running \`/bin/sleep\` with one Exclusive disk. "Create to process running" runs from
just before the create call to the moment a watch sees the agent report phase Running with a pid (the supervisor
has taken the lock and spawned the process). The pause is timed from SIGSTOP of the agent to the domain's
process state T in /proc.

$(cat target/bench/agent.md)
<!-- agent:end -->
MD
)
python3 - "$root/docs/benchmarks.md" "$section" <<'PY'
import re, sys
path, section = sys.argv[1], sys.argv[2]
text = open(path).read()
pattern = re.compile(r"<!-- agent:start -->.*?<!-- agent:end -->", re.S)
text = pattern.sub(lambda m: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
open(path, "w").write(text)
PY
echo "[bench] results written to docs/benchmarks.md"
