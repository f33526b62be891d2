# Shared by the benchmark commands (e2e/bench.sh, e2e/bench-*.sh); sourced, never run. A benchmark is a Java class
# with a main (named *Benchmark, so neither Surefire nor Failsafe ever runs it) that writes Markdown to
# MODULE/target/bench/NAME.md; bench_run runs it and puts that Markdown into docs/benchmarks.md between
# <!-- NAME:start --> and <!-- NAME:end -->, under a header with the command, date, machine and commit.
#
# Maven options (e.g. -Dmaven.repo.local=...) come from the usual MAVEN_ARGS or MAVEN_OPTS.

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Where the sections go; another file (e.g. for a trial run) through LOCKWARDEN_BENCH_DOC.
bench_doc=${LOCKWARDEN_BENCH_DOC:-$bench_root/docs/benchmarks.md}

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
    mvn -q -B -DskipTests install
    for module in operator e2e; do
      mvn -q -B -pl "$module" dependency:build-classpath -Dmdep.includeScope=test \
        -Dmdep.outputFile=target/test-classpath.txt
    done
  )
  bench_k8s_version=$(bash "$bench_root/e2e/controlplane/build.sh" --print-bin-dir | sed -E 's|.*/([0-9.]+)-linux-amd64|\1|')
  bench_built=1
}

# bench_run MODULE CLASS NAME TITLE COMMAND [-Dkey=value...]
# Runs io.lockwarden.CLASS from MODULE's test classes with the given system properties, then writes section NAME.
bench_run() {
  local module=$1 class=$2 name=$3 title=$4 command=$5
  shift 5
  bench_build
  local classes=target/test-classes
  [[ $module == operator ]] && classes=target/test-classes:target/classes
  rm -f "$bench_root/$module/target/bench/$name.md"
  (
    cd "$bench_root/$module"
    java "$@" -Dlockwarden.k8s.version="$bench_k8s_version" -cp "$classes:$(cat target/test-classpath.txt)" \
      "io.lockwarden.$class"
  )
  bench_write_section "$name" "$title" "$command" "$bench_root/$module/target/bench/$name.md"
}

# bench_write_section NAME TITLE COMMAND MARKDOWN_FILE: replaces (or appends) the section NAME in the doc.
bench_write_section() {
  local name=$1 title=$2 command=$3 body=$4
  local commit
  commit=$(git -C "$bench_root" rev-parse --short HEAD)
  [[ -z "$(git -C "$bench_root" status --porcelain)" ]] || commit="$commit (with uncommitted changes)"
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
