# shellcheck shell=bash
# shellcheck disable=SC2154 # tmp, prefix, sluiced, pktgen: set by the caller; sluiced_rc: by sluiced_stop
# Shared by the scripts that run sluice-pktgen against sluiced over memif
# (tests/pktgen/*_test.sh, tools/bench/e2e/*.sh): the wiring, sluiced's
# config for it, the pktgen processes, the cleanup and the verdicts. Sources
# tests/netns/lib.sh (sluiced_start, sluiced_stop, fail, pass, ...). Callers
# set `prefix` (DPDK --file-prefix stem, unique per run), `tmp` (a directory
# of their own), `sluiced` and `pktgen` (the executables) before calling
# anything here; the pg_* settings below may be changed after sourcing.
#
#   pktgen client --memif-- p0 [sluiced] p1 --memif-- pktgen pod
#   192.168.N.2     192.168.N.1  10.N.0.1          10.N.0.11-13
#   fd00:N::2       fd00:N::1    fd00:N:1::1       fd00:N:1::11-13
#
# sluiced knows the client's and the pods' IPv4 MACs as static neighbors; it
# finds IPv6 neighbors by solicitation, as the client finds sluiced's MACs
# (ARP, solicitation).

# shellcheck source=tests/netns/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../netns/lib.sh"

# Settings.
pg_ring_log2=12     # memif ring slots, log2: 4096 rides out scheduling stalls
pg_eal_mb=256       # memory (--no-huge) of each pktgen process and testpmd
pg_lb_mb=256        # sluiced's
pg_lb_mbufs=8191    # sluiced's mbuf pool
pg_lb_idle=backoff  # sluiced's idle policy ("": its default, busy)
pg_lb_ipv6=1        # 0: sluiced gets no IPv6 addresses or SNAT address
pg_lb_log=info      # sluiced's log level
pg_lb_clients=1     # static neighbors for this many client addresses, 192.168.N.2 on
pg_conntrack=""     # the conntrack group's settings, e.g. "capacity = 1048576;"

sluiced_pid=""
pod_pid=""

# pg_executables SCRIPT ARGS...: a test's arguments, SLUICED PKTGEN: sets
# sluiced and pktgen, exiting 2 with SCRIPT's usage when one is missing and 1
# when one is not executable.
pg_executables() {
  if (($# < 3)); then
    echo "usage: $1 SLUICED PKTGEN" >&2
    exit 2
  fi
  sluiced=$2
  pktgen=$3
  need_executables "$sluiced" "$pktgen"
}

# pg_cleanup: stops what the pg_* functions and run_bounded started and
# removes $tmp and the DPDK runtime directories of $prefix; for a trap.
pg_cleanup() {
  trap - EXIT INT TERM
  [[ -z $bounded_pid ]] || sluiced_stop "$bounded_pid" TERM 3
  [[ -z $pod_pid ]] || sluiced_stop "$pod_pid" TERM 3
  [[ -z $sluiced_pid ]] || sluiced_stop "$sluiced_pid" TERM 5
  rm -rf "$tmp" "/var/run/dpdk/$prefix-"*
}

# memif N ROLE SOCKET MAC: devargs of memif vdev N on a unix socket in $tmp
# (not the abstract namespace, so nothing outlives the run).
memif() {
  echo "net_memif$1,role=$2,socket=$tmp/$3.sock,socket-abstract=no,rsize=$pg_ring_log2,mac=$4"
}

# pg_eal NAME CPU: EAL arguments of a DPDK process beside sluiced: its own
# file prefix $prefix-NAME, main lcore 0 on CPU 0, worker lcore 1 on CPU.
pg_eal() {
  echo "--no-huge -m $pg_eal_mb --no-pci --no-telemetry --file-prefix $prefix-$1 --lcores 0@0,1@$2"
}

# pg_network N MACBYTE: sets endpoints (10.N.0.11-13), endpoints6
# (fd00:N:1::11-13), client_addr (192.168.N.2), sluiced_mac,
# sluiced_pod_mac, client_mac and pod_mac (02:MACBYTE:...) for subnet N.
# shellcheck disable=SC2034 # client_addr is the callers'
pg_network() {
  net=$1
  endpoints=("10.$net.0.11" "10.$net.0.12" "10.$net.0.13")
  endpoints6=("fd00:$net:1::11" "fd00:$net:1::12" "fd00:$net:1::13")
  client_addr=192.168.$net.2
  sluiced_mac=02:$2:00:00:00:01
  sluiced_pod_mac=02:$2:00:00:01:01
  client_mac=02:$2:00:00:00:02
  pod_mac=02:$2:00:00:01:02
}

# pg_endpoints ADDRESS...: the comma-separated list --pod-address takes.
pg_endpoints() {
  local IFS=,
  echo "$*"
}

# pg_list NAME ITEM...: a config list, `NAME = ( ITEM, ... );`, an item a line.
pg_list() {
  local name=$1 sep="" item
  shift
  echo "$name = ("
  for item in "$@"; do
    printf '%s  %s' "$sep" "$item"
    sep=$',\n'
  done
  printf '\n);\n'
}

# pg_service MODE PROTO VIP PORT TARGET_PORT ADDRESS...: one service entry.
pg_service() {
  local mode=$1 proto=$2 vip=$3 port=$4 target=$5 sep="" a
  shift 5
  printf '  {\n    vip = "%s"; port = %s; protocol = "%s"; mode = "%s";\n    endpoints = (\n' \
    "$vip" "$port" "$proto" "$mode"
  for a in "$@"; do
    printf '%s      { address = "%s"; port = %s; }' "$sep" "$a" "$target"
    sep=$',\n'
  done
  printf '\n    );\n  }'
}

# pg_sluiced_conf MODE PROTO VIP PORT TARGET_PORT [VIP6]: sluiced's config
# (after pg_network) with the service on VIP (endpoints) and, given VIP6, the
# same on VIP6 (endpoints6); the pg_lb_* settings apply.
pg_sluiced_conf() {
  local services
  services=$(pg_service "$1" "$2" "$3" "$4" "$5" "${endpoints[@]}")
  if (($# > 5)); then
    services+=$',\n'$(pg_service "$1" "$2" "$6" "$4" "$5" "${endpoints6[@]}")
  fi
  sluiced_conf_head "$pg_lb_log" "$prefix-lb" "$pg_lb_mb" "$pg_lb_mbufs" "$pg_lb_idle"
  sluiced_conf_ports 1 "$(memif 0 server p0 "$sluiced_mac")" "$(memif 1 server p1 "$sluiced_pod_mac")"
  sluiced_conf_worker
  local addresses=("{ port = \"p0\"; address = \"192.168.$net.1/24\"; }")
  ((pg_lb_ipv6)) && addresses+=("{ port = \"p0\"; address = \"fd00:$net::1/64\"; }")
  addresses+=("{ port = \"p1\"; address = \"10.$net.0.1/24\"; }")
  ((pg_lb_ipv6)) && addresses+=("{ port = \"p1\"; address = \"fd00:$net:1::1/64\"; }")
  pg_list addresses "${addresses[@]}"
  local neighbors=() a i
  for ((i = 0; i < pg_lb_clients; i++)); do
    a=192.168.$net.$((2 + i))
    neighbors+=("{ port = \"p0\"; address = \"$a\"; mac = \"$client_mac\"; }")
  done
  for a in "${endpoints[@]}"; do
    neighbors+=("{ port = \"p1\"; address = \"$a\"; mac = \"$pod_mac\"; }")
  done
  pg_list neighbors "${neighbors[@]}"
  local snat="\"10.$net.0.1\""
  ((pg_lb_ipv6)) && snat+=", \"fd00:$net:1::1\""
  echo "snat = [ $snat ];"
  [[ -z $pg_conntrack ]] || printf 'conntrack = {\n  %s\n};\n' "$pg_conntrack"
  printf 'services = (\n%s\n);\n' "$services"
}

# pg_start_sluiced MODE PROTO VIP PORT TARGET_PORT [VIP6]: writes
# $tmp/sluiced.conf (pg_sluiced_conf) and starts sluiced, its output in
# $tmp/sluiced.log; exits the test when it does not come up.
pg_start_sluiced() {
  pg_sluiced_conf "$@" >"$tmp/sluiced.conf"
  if ! sluiced_start "$tmp/sluiced.log" 30 "$sluiced" --config "$tmp/sluiced.conf"; then
    echo "FAIL: sluiced did not start"
    exit 1
  fi
  pass "sluiced running with two memif server ports"
}

# pg_start_pod LOG JSON VDEV ADDRESSES [ARGS...]: a sluice-pktgen pod on its
# own (lcore 1 on CPU 0) serving ADDRESSES (comma-separated) on VDEV, idle
# back-off, its totals to JSON on exit; sets pod_pid and waits up to 20 s for
# its link. Fails, printing LOG, when the link does not come up.
pg_start_pod() {
  local log=$1 json=$2 vdev=$3 addrs=$4
  shift 4
  : >"$log"
  # shellcheck disable=SC2046 # the EAL arguments are words
  "$pktgen" $(pg_eal pod 0) --vdev "$vdev" -- --role pod --pod-address "$addrs" \
    --idle-sleep-us 20 "$@" >"$json" 2>"$log" &
  pod_pid=$!
  sluiced_wait_line "$log" 'link up' "$pod_pid" 20 && return 0
  echo "the pod's memif link did not come up; its output:"
  cat "$log"
  return 1
}

# pg_client_summary WHAT LOG JSON: after a client's run_bounded: prints its
# "pktgen" lines and its summary; fails (a check), printing LOG, when it
# exited non-zero or wrote no summary.
pg_client_summary() {
  grep -E '^pktgen' "$2"
  if ((rc != 0)) || [[ ! -s $3 ]]; then
    fail "$1 exited $rc without a summary; its output:"
    cat "$2"
    return 1
  fi
  cat "$3"
}

# pg_finish: stops sluiced (a check of its own), prints its final counters
# and exits 1 when any check failed.
pg_finish() {
  if sluiced_stop "$sluiced_pid" TERM 15 && ((sluiced_rc == 0)); then
    pass "sluiced exited 0 on SIGTERM"
  else
    fail "sluiced exited $sluiced_rc on SIGTERM"
  fi
  sluiced_pid=""
  sed -n '/^-- final counters/,$p' "$tmp/sluiced.log"
  if ((failures > 0)); then
    echo "$failures check(s) failed"
    exit 1
  fi
  echo "all checks passed"
}

# Benchmarks (tools/bench/*/*.sh).
# pg_bench_settings: the DUT side as the memif benchmarks run it: 2048-slot
# rings, sluiced busy polling with IPv4 only, 512 MB for every process.
pg_bench_settings() {
  pg_ring_log2=11
  pg_eal_mb=512
  pg_lb_mb=512
  pg_lb_mbufs=16383
  pg_lb_idle=""
  pg_lb_ipv6=0
}

# take_opt ARGS...: the value of the option at $1, `--name VALUE` or
# `--name=VALUE`, into opt_val; bench_words is the words it took. Exits 2
# when the value is missing.
take_opt() {
  if [[ $1 == *=* ]]; then
    opt_val=${1#*=}
    bench_words=1
  elif (($# >= 2)); then
    opt_val=$2
    bench_words=2
  else
    echo "$1 needs a value" >&2
    exit 2
  fi
}

# bench_opt ARGS...: the options every bench script takes, at $1: --quick,
# --out FILE, --build DIR, --size N, -h/--help (prints the script's header
# and exits). Sets quick, out, build or frame_size, and bench_words to the
# words used; fails when $1 is none of them. A script's loop:
#   while (($# > 0)); do
#     if ! bench_opt "$@"; then
#       case $1 in
#         --rate | --rate=*) take_opt "$@" && rate=$opt_val ;;
#         *) echo "unknown argument" >&2 && exit 2 ;;
#       esac
#     fi
#     shift "$bench_words"
#   done
# shellcheck disable=SC2034 # the variables are the bench scripts'
bench_opt() {
  bench_words=1
  case $1 in
    --quick) quick=1 ;;
    -h | --help)
      script_help
      exit 0
      ;;
    --out | --out=*) take_opt "$@" && out=$opt_val ;;
    --build | --build=*) take_opt "$@" && build=$opt_val ;;
    --size | --size=*) take_opt "$@" && frame_size=$opt_val ;;
    *) return 1 ;;
  esac
}

# bench_setup NAME WHY: exits 2 unless root (WHY: what for); makes $build
# absolute (relative to the repository) and sets sluiced and pktgen from it,
# exiting 2 when they are not built. NAME starts the messages.
bench_setup() {
  if ((EUID != 0)); then
    echo "$1: needs root ($2)" >&2
    exit 2
  fi
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  [[ $build = /* ]] || build=$root/$build
  sluiced=$build/cp/sluiced
  pktgen=$build/tools/pktgen/sluice-pktgen
  local exe
  for exe in "$sluiced" "$pktgen"; do
    [[ -x $exe ]] || {
      echo "$1: $exe is not built (ninja -C $build cp/sluiced tools/pktgen/sluice-pktgen)" >&2
      exit 2
    }
  done
}
