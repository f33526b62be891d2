#!/usr/bin/env bash
# One "libvirt node" on this machine: a privileged libvirtd (and, if asked, the stock virtlockd) in a mount namespace
# of its own, so that several nodes run side by side without touching the host's /etc/libvirt or /run/libvirt.
#
# Layout under BASE (root-namespace paths):
#   BASE/NAME/{etc,run,lib,cache,log}  bound, inside NAME's namespace only, over
#                                      /etc/libvirt /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt
#   BASE/NAME/private                  bound over BASE/private inside NAME's namespace: the same path names a
#                                      different file on each node (host-local storage)
#   BASE/shared                        not bound: every node sees the same files (shared storage)
#   BASE/NAME/holder.pid               the namespace holder (`unshare --mount --propagation private`, then sleep);
#                                      anything runs inside with: nsenter --mount=/proc/<holder pid>/ns/mnt -- CMD
#   BASE/NAME/holder.ns                the namespace's identity (readlink of /proc/<pid>/ns/mnt), for `stop`
#   BASE/NAME/run/libvirt-sock         libvirtd's socket, usable from any namespace:
#                                      qemu+unix:///system?socket=BASE/NAME/run/libvirt-sock
#   BASE/NAME/run/virtlockd-sock       where libvirt's lockd plugin connects (the stock virtlockd's, or whatever
#                                      daemon is started in the namespace to serve it)
#   BASE/NAME/log/libvirtd.log, virtlockd.log, qemu/<domain>.log, node.log
#
# Usage:
#   node.sh start BASE NAME INDEX [--lock-manager lockd|nop] [--virtlockd] [--lockspace-dir DIR] [--no-libvirtd]
#       INDEX (0, 1, ...) sets the node's migration_host 127.0.0.(2+INDEX) and migration ports
#       49152+100*INDEX .. +99. --virtlockd also starts the stock virtlockd (before libvirtd). --lockspace-dir sets
#       file_lockspace_dir in qemu-lockd.conf (indirect leases: libvirtd then fails to start unless something
#       already serves virtlockd-sock). --no-libvirtd stops after the namespace, the config and virtlockd (if asked),
#       so that another daemon can be started in the namespace first; then run start-libvirtd.
#       Returns once libvirtd answers (or fails, naming the log to read).
#   node.sh start-libvirtd BASE NAME     start libvirtd (after start --no-libvirtd, or stop-libvirtd)
#   node.sh stop-libvirtd BASE NAME      stop libvirtd (SIGTERM: domains keep running)
#   node.sh restart-libvirtd BASE NAME   both
#   node.sh stop BASE NAME               kill everything in the node's namespace (domains, libvirtd, virtlockd,
#                                        anything else entered into it), then the holder; the namespace and its
#                                        mounts go with the last process. Idempotent.
#   node.sh holder-pid BASE NAME         print the holder's pid (exit 1 if the node is not running)
#   node.sh uri BASE NAME                print the node's libvirt URI
#   node.sh exec BASE NAME CMD...        run CMD inside the node's mount namespace
set -euo pipefail

READY_TIMEOUT=${LOCKWARDEN_LIBVIRT_READY_TIMEOUT:-60}
# libvirtd probes QEMU's capabilities (~6 s, more on a busy machine) unless /var/cache/libvirt/qemu/capabilities
# has them. Every node gets a fresh cache dir, so a copy of the last probe is kept here and seeded into each new node:
# libvirtd checks each file against the QEMU binary, itself, the kernel and the CPU microcode and re-probes when
# anything differs, so a stale copy costs only the time it would have cost anyway.
CAPS_SEED=${LOCKWARDEN_LIBVIRT_CAPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lockwarden/libvirt-qemu-capabilities}
MOUNTS=(etc:/etc/libvirt run:/run/libvirt lib:/var/lib/libvirt cache:/var/cache/libvirt log:/var/log/libvirt)
DAEMON_ENV=(env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C.UTF-8)

die() { printf '[libvirt-node] ERROR: %s\n' "$*" >&2; exit 1; }
now_ms() { date +%s%3N; }

usage() { sed -n '/^# Usage:/,/^set -euo/p' "$0" | sed '$d' >&2; exit 2; }

[[ $# -ge 3 ]] || usage
cmd=$1 base=$2 name=$3
shift 3
[[ "$name" =~ ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$ ]] || die "bad node name '$name'"
[[ "$cmd" == _holder ]] || { [[ -d "$base" ]] || mkdir -p "$base"; base=$(cd "$base" && pwd -P); }
node=$base/$name
say() { printf '[libvirt-node %s %s] %s\n' "$name" "$(date +%T.%3N)" "$*" | tee -a "$node/log/node.log" >&2 || true; }

holder_pid() { # the live holder of this node, or nothing
  local pid ns
  pid=$(cat "$node/holder.pid" 2>/dev/null) || return 1
  ns=$(cat "$node/holder.ns" 2>/dev/null) || return 1
  [[ "$(readlink "/proc/$pid/ns/mnt" 2>/dev/null)" == "$ns" ]] || return 1
  echo "$pid"
}

# Every process in the node's namespace (its holder included), found by the namespace identity, not by name.
ns_pids() {
  local ns
  ns=$(cat "$node/holder.ns" 2>/dev/null) || return 0
  # One find for all of /proc (a readlink per process would fork hundreds of times).
  find /proc -mindepth 3 -maxdepth 3 -path '/proc/[0-9]*/ns/mnt' -printf '%h %l\n' 2>/dev/null \
    | awk -v ns="$ns" '$2 == ns { split($1, p, "/"); print p[3] }'
  return 0
}

in_ns() { local pid; pid=$(holder_pid) || die "node $name is not running (no holder)"; nsenter --mount="/proc/$pid/ns/mnt" -- "$@"; }

uri() { echo "qemu+unix:///system?socket=$node/run/libvirt-sock"; }

alive_from_pidfile() { # pidfile (root-namespace path) -> pid if alive
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# Alive and not a zombie: daemons and the holder are reparented to PID 1, which may reap them only seconds later.
running() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ "${stat:0:1}" != Z ]]
}

wait_gone() { # seconds pid...
  local deadline=$(( $(now_ms) + $1 * 1000 )) p left
  shift
  while :; do
    left=()
    for p in "$@"; do running "$p" && left+=("$p"); done
    [[ ${#left[@]} -eq 0 ]] && return 0
    (( $(now_ms) < deadline )) || return 1
    sleep 0.05
  done
}

ns_has() { # comm: whether a process of that name runs in the node's namespace
  local p
  for p in $(ns_pids); do [[ "$(cat "/proc/$p/comm" 2>/dev/null)" == "$1" ]] && return 0; done
  return 1
}

wait_libvirtd() {
  local deadline=$(( $(now_ms) + READY_TIMEOUT * 1000 ))
  until virsh -q -c "$(uri)" version >/dev/null 2>&1; do
    if ! ns_has libvirtd; then
      tail -n 30 "$node/log/libvirtd.log" >&2 || true
      die "libvirtd of $name exited at start; see $node/log/libvirtd.log"
    fi
    (( $(now_ms) < deadline )) || { tail -n 30 "$node/log/libvirtd.log" >&2 || true;
      die "libvirtd of $name did not answer within ${READY_TIMEOUT}s; see $node/log/libvirtd.log"; }
    sleep 0.05
  done
}

start_libvirtd() {
  rm -f "$node/run/libvirtd.pid"
  # -d: daemonise (returns once it forked); the pid file lives in the node's own run dir, not /run/libvirtd.pid.
  in_ns "${DAEMON_ENV[@]}" /usr/sbin/libvirtd -d -p /run/libvirt/libvirtd.pid -f /etc/libvirt/libvirtd.conf \
      </dev/null >>"$node/log/libvirtd.stdio" 2>&1 || die "libvirtd of $name did not start; see $node/log/libvirtd.log"
  wait_libvirtd
}

stop_libvirtd() {
  local pid
  pid=$(alive_from_pidfile "$node/run/libvirtd.pid") || return 0
  kill -TERM "$pid" 2>/dev/null || true
  wait_gone 15 "$pid" || { kill -KILL "$pid" 2>/dev/null || true; wait_gone 5 "$pid" || die "libvirtd $pid does not die"; }
}

seed_caps() {
  local dir=$node/cache/qemu/capabilities
  [[ -d "$CAPS_SEED" ]] || return 0
  mkdir -p "$dir"
  compgen -G "$dir/*.xml" >/dev/null || cp -p "$CAPS_SEED"/*.xml "$dir"/ 2>/dev/null || true
}

save_caps() { # each file through a rename, so a node starting meanwhile never reads half of one
  local f tmp
  mkdir -p "$CAPS_SEED" 2>/dev/null || return 0
  for f in "$node"/cache/qemu/capabilities/*.xml; do
    [[ -f "$f" ]] || continue
    cmp -s "$f" "$CAPS_SEED/${f##*/}" && continue
    tmp=$(mktemp "$CAPS_SEED/.tmp.XXXXXX") && cp -p "$f" "$tmp" && mv -f "$tmp" "$CAPS_SEED/${f##*/}" || rm -f "$tmp"
  done
}

write_config() { # index lock_manager lockspace_dir
  local index=$1 lock_manager=$2 lockspace_dir=$3
  local port_min=$((49152 + 100 * index))
  local uuid
  # Deterministic per BASE and NAME (a restart keeps it), distinct per node, a valid version-4-looking UUID.
  uuid=$(printf '%s' "$node" | sha256sum | sed -E 's/^(.{8})(.{4}).(.{3}).(.{3})(.{12}).*/\1-\2-4\3-a\4-\5/')
  cat >"$node/etc/qemu.conf" <<EOF
# Written by lockwarden e2e/libvirt/node.sh for node $name (index $index).
lock_manager = "$lock_manager"
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
migration_host = "127.0.0.$((2 + index))"
migration_port_min = $port_min
migration_port_max = $((port_min + 99))
EOF
  cat >"$node/etc/libvirtd.conf" <<EOF
# Written by lockwarden e2e/libvirt/node.sh for node $name.
host_uuid = "$uuid"
auth_unix_rw = "none"
auth_unix_ro = "none"
unix_sock_rw_perms = "0700"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
EOF
  {
    echo "# Written by lockwarden e2e/libvirt/node.sh for node $name."
    echo "auto_disk_leases = 1"
    [[ -z "$lockspace_dir" ]] || echo "file_lockspace_dir = \"$lockspace_dir\""
  } >"$node/etc/qemu-lockd.conf"
  cat >"$node/etc/virtlockd.conf" <<EOF
# Written by lockwarden e2e/libvirt/node.sh for node $name.
log_outputs = "3:file:/var/log/libvirt/virtlockd.log"
EOF
}

case "$cmd" in
  _holder)
    # Runs as the unshare'd process: make this namespace's mounts, say so, then hold the namespace open.
    for m in "${MOUNTS[@]}"; do
      mount --bind "$node/${m%%:*}" "${m#*:}"
    done
    mount --bind "$node/private" "$base/private"
    echo $$ >"$node/holder.pid" # exec keeps the pid: this is the holder's
    readlink /proc/self/ns/mnt >"$node/holder.ns.tmp"
    mv "$node/holder.ns.tmp" "$node/holder.ns"
    exec sleep infinity
    ;;

  start)
    [[ $# -ge 1 && "$1" =~ ^[0-9]+$ && "$1" -lt 100 ]] || die "start needs INDEX, a number 0..99"
    index=$1
    shift
    lock_manager=lockd virtlockd=false lockspace_dir= libvirtd=true
    while [[ $# -gt 0 ]]; do
      case "$1" in
        --no-libvirtd) libvirtd=false; shift ;;
        --lock-manager) lock_manager=${2:?--lock-manager needs lockd or nop}; shift 2 ;;
        --virtlockd) virtlockd=true; shift ;;
        --lockspace-dir) lockspace_dir=${2:?--lockspace-dir needs a directory}; shift 2 ;;
        *) die "unknown option $1" ;;
      esac
    done
    [[ "$lock_manager" == lockd || "$lock_manager" == nop ]] || die "--lock-manager must be lockd or nop, not $lock_manager"
    [[ $EUID -eq 0 ]] || die "a libvirt node needs root (privileged libvirtd, mount namespaces)"
    for t in libvirtd virtlockd virsh qemu-system-x86_64 unshare nsenter; do
      command -v "$t" >/dev/null || [[ -x /usr/sbin/$t ]] \
        || die "$t is missing: run $(dirname "$0")/install.sh"
    done
    if holder_pid >/dev/null; then
      die "node $name is already running under $base (holder $(holder_pid)); stop it first"
    fi
    # sun_path holds 107 bytes: the sockets must stay reachable from the root namespace through BASE/NAME/run.
    longest=$node/run/virtlockd-admin-sock
    (( ${#longest} <= 107 )) \
      || die "$node is too long for unix sockets under it (max 107 bytes for $node/run/virtlockd-admin-sock): use a shorter BASE"
    leftover=$(ns_pids | tr '\n' ' ')
    [[ -z "$leftover" ]] || die "processes of an earlier run of $name are still in its namespace ($leftover); stop it first"
    t0=$(now_ms)
    mkdir -p "$base/shared" "$base/private" "$node"/{etc,run,lib,cache,log,private}
    for m in "${MOUNTS[@]}"; do mkdir -p "${m#*:}"; done # mount points on the host (install.sh makes them too)
    # A previous run's sockets and pid files would only confuse the daemons.
    find "$node/run" -mindepth 1 -delete
    rm -f "$node/holder.pid" "$node/holder.ns"
    say "starting: index $index, lock_manager=$lock_manager, virtlockd=$virtlockd${lockspace_dir:+, file_lockspace_dir=$lockspace_dir}"
    write_config "$index" "$lock_manager" "$lockspace_dir"

    # setsid: the holder outlives this script and is in no caller's process group or terminal.
    setsid unshare --mount --propagation private -- bash "$0" _holder "$base" "$name" \
        </dev/null >>"$node/log/holder.log" 2>&1 &
    launcher=$!
    deadline=$(( $(now_ms) + 10000 ))
    until [[ -s "$node/holder.ns" ]]; do
      if ! kill -0 "$launcher" 2>/dev/null && [[ ! -s "$node/holder.ns" ]]; then
        cat "$node/log/holder.log" >&2; die "the namespace holder of $name exited; see $node/log/holder.log"
      fi
      (( $(now_ms) < deadline )) || die "the namespace holder of $name did not mount within 10 s"
      sleep 0.02
    done
    holder=$(cat "$node/holder.pid")
    [[ "$(readlink "/proc/$holder/ns/mnt")" == "$(cat "$node/holder.ns")" ]] \
      || die "pid $holder is not the namespace holder of $name"
    [[ "$(readlink /proc/self/ns/mnt)" != "$(cat "$node/holder.ns")" ]] || die "the holder of $name shares our namespace"

    if $virtlockd; then
      in_ns "${DAEMON_ENV[@]}" /usr/sbin/virtlockd -d -p /run/libvirt/virtlockd.pid -f /etc/libvirt/virtlockd.conf \
          </dev/null >>"$node/log/virtlockd.stdio" 2>&1 || die "virtlockd of $name did not start; see $node/log/virtlockd.log"
      deadline=$(( $(now_ms) + 10000 ))
      until [[ -S "$node/run/virtlockd-sock" ]]; do
        (( $(now_ms) < deadline )) || die "virtlockd of $name made no socket within 10 s; see $node/log/virtlockd.log"
        sleep 0.02
      done
    fi
    seed_caps
    if $libvirtd; then
      start_libvirtd
      save_caps
    fi
    say "ready in $(( $(now_ms) - t0 )) ms: holder $holder$($libvirtd && echo ", libvirtd $(cat "$node/run/libvirtd.pid")")$($virtlockd && echo ", virtlockd $(cat "$node/run/virtlockd.pid")"), $(uri)"
    ;;

  start-libvirtd)
    holder_pid >/dev/null || die "node $name is not running"
    ! ns_has libvirtd || die "libvirtd of $name is already running"
    t0=$(now_ms)
    start_libvirtd
    save_caps
    say "libvirtd started in $(( $(now_ms) - t0 )) ms: pid $(cat "$node/run/libvirtd.pid")"
    ;;

  stop-libvirtd)
    holder_pid >/dev/null || die "node $name is not running"
    t0=$(now_ms)
    stop_libvirtd
    say "libvirtd stopped in $(( $(now_ms) - t0 )) ms"
    ;;

  restart-libvirtd)
    holder_pid >/dev/null || die "node $name is not running"
    t0=$(now_ms)
    stop_libvirtd
    start_libvirtd
    say "libvirtd restarted in $(( $(now_ms) - t0 )) ms: pid $(cat "$node/run/libvirtd.pid")"
    ;;

  stop)
    [[ -d "$node" ]] || exit 0
    mkdir -p "$node/log"
    t0=$(now_ms)
    holder=$(cat "$node/holder.pid" 2>/dev/null || true)
    mapfile -t pids < <(ns_pids)
    if [[ ${#pids[@]} -eq 0 ]]; then
      rm -f "$node/holder.pid" "$node/holder.ns"
      exit 0
    fi
    # A teardown, not a shutdown: SIGKILL, libvirtd first so that it does not react to its domains dying (a polite
    # SIGTERM costs libvirtd ~5 s). The domains, virtlockd and anything else entered into the namespace next, the
    # holder last.
    libvirtd=$(alive_from_pidfile "$node/run/libvirtd.pid" || true)
    if [[ -n "$libvirtd" ]] && printf '%s\n' "${pids[@]}" | grep -qx "$libvirtd"; then
      kill -KILL "$libvirtd" 2>/dev/null || true
      wait_gone 10 "$libvirtd" || die "libvirtd $libvirtd of $name does not die"
    fi
    mapfile -t pids < <(ns_pids)
    others=()
    for p in "${pids[@]}"; do [[ "$p" == "$holder" ]] || others+=("$p"); done
    if [[ ${#others[@]} -gt 0 ]]; then
      kill -KILL "${others[@]}" 2>/dev/null || true
      wait_gone 15 "${others[@]}" || die "processes of $name do not die: ${others[*]}"
    fi
    if [[ -n "$holder" ]] && kill -0 "$holder" 2>/dev/null \
        && [[ "$(readlink "/proc/$holder/ns/mnt" 2>/dev/null)" == "$(cat "$node/holder.ns" 2>/dev/null)" ]]; then
      kill -KILL "$holder" 2>/dev/null || true
      wait_gone 10 "$holder" || die "the holder $holder of $name does not die"
    fi
    mapfile -t pids < <(ns_pids)
    [[ ${#pids[@]} -eq 0 ]] || die "processes still in the namespace of $name: ${pids[*]}"
    # The mounts lived only in that namespace; check that none leaked into ours.
    ! grep -qF " $node/" /proc/self/mountinfo || die "mounts of $name are left in the root namespace"
    rm -f "$node/holder.pid" "$node/holder.ns"
    say "stopped in $(( $(now_ms) - t0 )) ms (${libvirtd:+libvirtd, }${#others[@]} other process(es), the holder)"
    ;;

  holder-pid) holder_pid || exit 1 ;;
  uri) uri ;;
  exec) in_ns "$@" ;;
  *) usage ;;
esac
