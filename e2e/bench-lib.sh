# Shared by the benchmark commands (e2e/bench.sh, e2e/bench-*.sh); sourced, never run. A benchmark is a Java class
# with a main (named *Benchmark, so neither Surefire nor Failsafe ever runs it) that writes Markdown to
# MODULE/target/bench/NAME.md; bench_run runs it and puts that Markdown into docs/benchmarks.md between
# <!-- NAME:start --> and <!-- NAME:end -->, under a header with the command, date, machine and commit.
#
# Maven options (e.g. -Dmaven.repo.local=...) come from the usual MAVEN_ARGS or MAVEN_OPTS.

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Where the sections go; another file (e.g. for a trial run) through LOCKWARDEN_BENCH_DOC.
bench_doc=${LOCKWARDEN_BENCH_DOC:-$bench_root/docs/benchmarks.md}

# The title of each section, by its name (the NAME of target/bench/NAME.md and of the markers).
declare -A bench_titles=(
  [baseline]="(a) Baseline: status updates with optimistic concurrency"
  [grant-latency]="(b) Grant latency (operator, simulated agents)"
  [contention]="(c) Contention: one Exclusive disk, hand-offs per second"
  [migration]="(d) Migration hand-off"
  [failover]="(e) Fail-over at default timeouts"
  [scale]="(f) Scale: operator memory and resync"
  [agent]="(g) Node agent"
  [libvirt-migration]="(h) libvirt live migration: QEMU downtime, nop vs lockd"
  [scope]="(i) Agent scope: an agent's memory and watch events vs domains on other nodes"
)

bench_progress() {
  echo "[bench $(date +%T)] $*"
}

# Builds the control plane, every module, and the test class paths of the operator and e2e modules; once per shell.
bench_build() {
  [[ -n "${bench_built:-}" ]] && return
  bench_progress "building (control plane, operator, agent and the test classes)"
  (
    cd "$bench_root"
    bash e2e/controlplane/build.sh
    # One Maven run: every module's test class path lands in its target/test-classpath.txt.
    mvn -q -B -DskipTests -Dimages.skip=true install dependency:build-classpath -Dmdep.includeScope=test \
      -Dmdep.outputFile=target/test-classpath.txt
  )
  bench_k8s_version=$(bash "$bench_root/e2e/controlplane/build.sh" --print-bin-dir | sed -E 's|.*/([0-9.]+)-linux-amd64|\1|')
  bench_built=1
}

# bench_java MODULE CLASS [-Dkey=value...]: runs io.lockwarden.CLASS from MODULE's test classes, in MODULE.
bench_java() {
  local module=$1 class=$2
  shift 2
  bench_build
  local classes=target/test-classes
  [[ $module == operator ]] && classes=target/test-classes:target/classes
  (
    cd "$bench_root/$module"
    java "$@" -Dlockwarden.k8s.version="$bench_k8s_version" -cp "$classes:$(cat target/test-classpath.txt)" \
      "io.lockwarden.$class"
  )
}

# bench_run MODULE CLASS NAME COMMAND [-Dkey=value...]: runs the benchmark, then writes its section NAME.
bench_run() {
  local module=$1 class=$2 name=$3 command=$4
  shift 4
  rm -f "$bench_root/$module/target/bench/$name.md"
  bench_java "$module" "$class" "$@"
  bench_write_section "$name" "$command" "$bench_root/$module/target/bench/$name.md"
}

# bench_write_section NAME COMMAND MARKDOWN_FILE: replaces (or appends) the section NAME in the doc.
bench_write_section() {
  local name=$1 command=$2 body=$3 title=${bench_titles[$1]}
  [[ -f $body ]] || { echo "bench: $body is missing: the benchmark wrote no results" >&2; return 1; }
  local commit
  commit=$(git -C "$bench_root" rev-parse --short HEAD)
  # The doc itself does not count: the sections written earlier in the same run change it.
  [[ -z "$(git -C "$bench_root" status --porcelain -- . ':!docs/benchmarks.md')" ]] \
    || commit="$commit (with uncommitted changes)"
  local section
  section=$(cat <<MD
<!-- $name:start -->
## $title

Command: \`$command\`. Date: $(date -u +%Y-%m-%dT%H:%MZ). Commit: $commit.
Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem:/ {print $2}') GiB.

$(cat "$body")
<!-- $name:end -->
MD
)
  python3 - "$bench_doc" "$name" "$section" <<'PY'
import os, re, sys
path, name, section = sys.argv[1:4]
text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
pattern = re.compile(r"<!-- %s:start -->.*?<!-- %s:end -->" % (re.escape(name), re.escape(name)), re.S)
text = pattern.sub(lambda m: section, text) if pattern.search(text) else text.rstrip() + "\n\n" + section + "\n"
open(path, "w").write(text)
PY
  bench_progress "section \"$title\" written to $bench_doc"
}
