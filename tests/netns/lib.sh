# shellcheck shell=bash
# Network namespaces for sluiced's load-balancing tests: a client on one side
# of Sluice, pods behind a bridge on the other:
#
#   netns $topo_ns-c          root netns               netns $topo_ns-pods
#   eth0 ==veth== $topo_if-c0 (p0)  sluiced  (p1) $topo_if-p0 ==veth== up0 -+- br0
#                                                                         |
#   netns $topo_ns-pod<i>: eth0 ==veth== pod<i> (in $topo_ns-pods) -------+
#
# Addresses, from the prefixes below (demo values):
#   client side  $topo_net4.0/24, $topo_net6::/64: Sluice .1 / ::1, client .2 / ::2
#   pod side     $topo_pod_net4.0/24, $topo_pod_net6::/64: Sluice .1 / ::1,
#                pod i .(10+i) / ::(10+i), with default routes via Sluice
#   the client routes $topo_vips4 and $topo_vips6 via Sluice.
#
# Pods route through Sluice by default, so dnat services work as well as
# fullnat ones. Source this file, change the topo_* settings if needed, then
# call topo_create, topo_start_pods, and topo_destroy when done (also from
# a trap). Needs root, ip, ethtool, python3. Safe under set -e and set -u.

# Settings (the old demo's). A test picks its own names (with its
# pid, see topo_reap_stale) and subnets.
topo_ns=sluice-demo   # network namespace names start with this
topo_if=sl-demo       # sluiced's veth ends: $topo_if-c0 and $topo_if-p0 (<= 12 characters)
topo_net4=192.168.77  # client side, IPv4 /24
topo_net6=fd77        # client side, IPv6 /64
topo_pod_net4=10.244.0
topo_pod_net6=fd44
topo_vips4=10.96.0.0/16
topo_vips6=fd00:96::/64
topo_pods=3

# Filled by topo_start_pods.
topo_pod_pids=()
# Set by sluiced_stop: sluiced's exit status.
sluiced_rc=0

topo_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Debian's python3: pod_server.py and lb_client.py use its standard library
# only, and a version manager's shim on PATH would slow every start.
topo_python=/usr/bin/python3
[[ -x $topo_python ]] || topo_python=$(command -v python3 || echo python3)

topo_client_ns() { echo "$topo_ns-c"; }
topo_bridge_ns() { echo "$topo_ns-pods"; }
topo_pod_ns() { echo "$topo_ns-pod$1"; }
topo_pod_name() { echo "pod$1"; }
topo_pod_addr4() { echo "$topo_pod_net4.$((10 + $1))"; }
topo_pod_addr6() { echo "$topo_pod_net6::$((10 + $1))"; }
topo_client_addr4() { echo "$topo_net4.2"; }
topo_client_addr6() { echo "$topo_net6::2"; }
# Sluice's own addresses on each side.
topo_sluice_addr4() { echo "$topo_net4.1"; }
topo_sluice_addr6() { echo "$topo_net6::1"; }
topo_sluice_pod_addr4() { echo "$topo_pod_net4.1"; }
topo_sluice_pod_addr6() { echo "$topo_pod_net6::1"; }

# The namespaces topo_create makes, pods last.
topo_namespaces() {
  local i
  topo_client_ns
  topo_bridge_ns
  for ((i = 1; i <= topo_pods; i++)); do topo_pod_ns "$i"; done
}

# Runs a command in the client namespace.
topo_client() { ip netns exec "$(topo_client_ns)" "$@"; }

# A veth end that sends into sluiced's net_af_packet port: the kernel would
# leave TCP/UDP checksums to "hardware" that does not exist (sluiced reads
# the frame as it is), so have it compute them, which also turns off TSO.
topo_full_checksums() {
  ip netns exec "$1" ethtool -K "$2" tx off >/dev/null
}

# Builds the namespaces, links and addresses. Fails, naming the step, if any
# step fails; call topo_destroy either way.
topo_create() (
  set -e
  trap 'echo "topo_create: failed: $BASH_COMMAND" >&2' ERR
  local client bridge pod i
  client=$(topo_client_ns)
  bridge=$(topo_bridge_ns)

  ip netns add "$client"
  ip netns add "$bridge"
  for ((i = 1; i <= topo_pods; i++)); do ip netns add "$(topo_pod_ns "$i")"; done

  # sluiced's sides. They carry no address; the host kernel sees their frames
  # too, so keep it silent: no IPv6 (router solicitations, MLD), no forwarding.
  ip link add "$topo_if-c0" type veth peer name eth0 netns "$client"
  ip link add "$topo_if-p0" type veth peer name up0 netns "$bridge"
  for link in "$topo_if-c0" "$topo_if-p0"; do
    sysctl -qw "net.ipv6.conf.$link.disable_ipv6=1" "net.ipv4.conf.$link.forwarding=0"
    ip link set "$link" up
  done

  ip -n "$client" link set lo up
  ip -n "$client" addr add "$(topo_client_addr4)/24" dev eth0
  ip -n "$client" addr add "$(topo_client_addr6)/64" dev eth0 nodad
  topo_full_checksums "$client" eth0
  ip -n "$client" link set eth0 up
  ip -n "$client" route add "$topo_vips4" via "$(topo_sluice_addr4)"
  ip -n "$client" route add "$topo_vips6" via "$(topo_sluice_addr6)"

  # A plain L2 switch: no addresses, no IPv6 chatter of its own, no multicast
  # snooping (which could starve ND of its solicited-node multicast).
  ip netns exec "$bridge" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
    net.ipv6.conf.default.disable_ipv6=1
  ip -n "$bridge" link add br0 type bridge stp_state 0 mcast_snooping 0
  ip -n "$bridge" link set br0 up
  ip -n "$bridge" link set up0 master br0 up

  for ((i = 1; i <= topo_pods; i++)); do
    pod=$(topo_pod_ns "$i")
    ip -n "$bridge" link add "$(topo_pod_name "$i")" type veth peer name eth0 netns "$pod"
    ip -n "$bridge" link set "$(topo_pod_name "$i")" master br0 up
    ip -n "$pod" link set lo up
    ip -n "$pod" addr add "$(topo_pod_addr4 "$i")/24" dev eth0
    ip -n "$pod" addr add "$(topo_pod_addr6 "$i")/64" dev eth0 nodad
    topo_full_checksums "$pod" eth0
    ip -n "$pod" link set eth0 up
    ip -n "$pod" route add default via "$(topo_sluice_pod_addr4)"
    ip -n "$pod" route add default via "$(topo_sluice_pod_addr6)"
  done
)

# Starts pod_server.py in every pod (HTTP on 8080, UDP on 5353, both
# answering with the pod's name), logging to DIR/pod<i>.log, and waits up to
# 10 s until each listens.
topo_start_pods() {
  local dir=$1 i log deadline
  for ((i = 1; i <= topo_pods; i++)); do
    : >"$dir/pod$i.log"
    ip netns exec "$(topo_pod_ns "$i")" "$topo_python" "$topo_lib_dir/pod_server.py" \
      "$(topo_pod_name "$i")" >"$dir/pod$i.log" 2>&1 &
    topo_pod_pids+=($!)
  done
  deadline=$((SECONDS + 10))
  for ((i = 1; i <= topo_pods; i++)); do
    log=$dir/pod$i.log
    until grep -q ': serving ' "$log"; do
      if ((SECONDS >= deadline)) || ! kill -0 "${topo_pod_pids[i - 1]}" 2>/dev/null; then
        echo "topo_start_pods: pod$i did not start; its output:" >&2
        cat "$log" >&2
        return 1
      fi
      sleep 0.1
    done
  done
}

# Kills every process in the namespace and deletes it.
topo_delete_ns() {
  local pids
  pids=$(ip netns pids "$1" 2>/dev/null) || true
  # shellcheck disable=SC2086 # one pid per word
  [[ -z $pids ]] || kill -KILL $pids 2>/dev/null || true
  ip netns del "$1" 2>/dev/null || true
}

# Removes everything topo_create and topo_start_pods made, also what a half
# finished topo_create left. Safe to call more than once.
topo_destroy() {
  local pid ns
  for pid in "${topo_pod_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${topo_pod_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  topo_pod_pids=()
  # Deleting a namespace deletes the veth ends in it, and so their peers.
  for ns in $(topo_namespaces); do topo_delete_ns "$ns"; done
  ip link del "$topo_if-c0" 2>/dev/null || true
  ip link del "$topo_if-p0" 2>/dev/null || true
}

# Leftovers of runs killed before their cleanup (meson's timeout ends with
# SIGKILL): namespaces named NS_BASE<pid>-..., links IF_BASE<pid>-..., and
# DPDK's runtime directory /var/run/dpdk/NS_BASE<pid>, for each <pid> that is
# no longer running.
topo_reap_stale() {
  local ns_base=$1 if_base=$2 name pid
  for name in $(ip netns list | awk '{print $1}'); do
    [[ $name =~ ^$ns_base([0-9]+)- ]] || continue
    pid=${BASH_REMATCH[1]}
    kill -0 "$pid" 2>/dev/null && continue
    topo_delete_ns "$name"
    rm -rf "/var/run/dpdk/$ns_base$pid"
  done
  for name in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1); do
    [[ $name =~ ^$if_base([0-9]+)- ]] || continue
    kill -0 "${BASH_REMATCH[1]}" 2>/dev/null || ip link del "$name" 2>/dev/null || true
  done
}

# sluiced_wait_line LOG REGEX PID SECONDS: waits until LOG has a line
# matching REGEX (grep -E); fails if PID exits or the time runs out first.
sluiced_wait_line() {
  local log=$1 regex=$2 pid=$3 deadline=$((SECONDS + $4))
  until grep -Eq -- "$regex" "$log"; do
    if ! kill -0 "$pid" 2>/dev/null || ((SECONDS >= deadline)); then
      return 1
    fi
    sleep 0.1
  done
}

# sluiced_stop PID SIGNAL SECONDS: sends SIGNAL, waits up to SECONDS for the
# exit, then escalates to SIGKILL. Sets sluiced_rc to the exit status (the
# PID must be a child of this shell) and returns 1 if it had to kill.
# shellcheck disable=SC2034 # sluiced_rc is for the scripts that source this file
sluiced_stop() {
  local pid=$1 deadline=$((SECONDS + $3)) escalated=0
  kill -s "$2" "$pid" 2>/dev/null || true
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      kill -KILL "$pid" 2>/dev/null || true
      escalated=1
      break
    fi
    sleep 0.1
  done
  sluiced_rc=0
  wait "$pid" 2>/dev/null || sluiced_rc=$?
  return "$escalated"
}

# sluiced_start LOG SECONDS CMD...: starts CMD, sluiced or a wrapper that
# execs it (ip netns exec), so that its pid is sluiced's, with its output
# added to LOG; sets sluiced_pid and waits up to SECONDS for "sluiced:
# running". Fails, printing LOG, when that does not come.
sluiced_start() {
  local log=$1 limit=$2
  shift 2
  "$@" >>"$log" 2>&1 &
  sluiced_pid=$!
  sluiced_wait_line "$log" '^sluiced: running' "$sluiced_pid" "$limit" && return 0
  echo "sluiced did not report 'sluiced: running' within $limit s; its output:"
  cat "$log"
  return 1
}

# Pieces of sluiced's config for the scripts that write one.
# sluiced_conf_head LOG_LEVEL FILE_PREFIX MEGABYTES MBUFS [IDLE_POLICY]: log
# level, EAL (--no-huge, main lcore on CPU 0), the idle policy when given,
# and the mbuf pool.
sluiced_conf_head() {
  cat <<CONF
log_level = "$1";
eal = {
  args = [ "--no-huge", "-m", "$3", "--file-prefix", "$2", "--no-telemetry" ];
  main_lcore = 0;
  main_cpu = 0;
};
CONF
  [[ -z ${5:-} ]] || printf 'idle = {\n  policy = "%s";\n};\n' "$5"
  echo "mbufs = $4;"
}

# sluiced_conf_ports RX_QUEUES DEVICE0 DEVICE1: ports p0 and p1.
sluiced_conf_ports() {
  cat <<CONF
ports = (
  { name = "p0"; device = "$2"; rx_queues = $1; },
  { name = "p1"; device = "$3"; rx_queues = $1; }
);
CONF
}

# sluiced_conf_worker: one worker, lcore 1 on CPU 1, polling p0 and p1.
sluiced_conf_worker() {
  echo 'workers = (
  { lcore = 1; cpu = 1; rx = ( { port = "p0"; queue = 0; }, { port = "p1"; queue = 0; } ); }
);'
}

# Verdicts, one line each; fail counts them in `failures`.
failures=0
fail() {
  echo "FAIL: $*"
  ((failures += 1))
}
pass() { echo "ok: $*"; }

# count_verdicts FILE: prints FILE, lines "ok: ..." or "FAIL: ..." (as the
# scripts' Python checks write them), and counts its FAIL lines in failures.
count_verdicts() {
  cat "$1"
  failures=$((failures + $(grep -c '^FAIL' "$1")))
}

# skip_unless_root WHY: exits 77 (meson's skip) unless running as root.
skip_unless_root() {
  if ((EUID != 0)); then
    echo "skip: needs root $1"
    exit 77
  fi
}

# need_executables FILE...: exits 1, naming it, when a FILE is not executable.
need_executables() {
  local exe
  for exe in "$@"; do
    [[ -x $exe ]] || {
      echo "FAIL: $exe is not executable"
      exit 1
    }
  done
}

# run_bounded SECONDS OUT CMD...: runs CMD (not a shell function) under
# timeout, its output to OUT, in the background with `wait`, because a
# signal interrupts `wait` at once but not a foreground command;
# bounded_pid is its pid while it runs (for a cleanup trap). Sets rc to its
# exit status.
bounded_pid=""
# shellcheck disable=SC2034 # rc is the caller's
run_bounded() {
  local limit=$1 out=$2
  shift 2
  timeout "$limit" "$@" >"$out" 2>&1 &
  bounded_pid=$!
  rc=0
  wait "$bounded_pid" || rc=$?
  bounded_pid=""
}

# script_help: prints the calling script's header comment, from its second
# line to its `set` line: its usage.
script_help() { sed -n '2,/^set /{/^set /d;s/^# \{0,1\}//;p}' "$0"; }
