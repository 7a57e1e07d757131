#!/usr/bin/env bash
# sluiced fed by sluice-xds, with sluice-pktgen traffic over memif:
#
#   sluice-xds --unix socket-- sluiced (no static services, an xds group)
#   pktgen client --memif-- p0 [sluiced] p1 --memif-- pktgen pod
#   192.168.86.2             192.168.86.1  10.86.0.1          10.86.0.11-13
#                VIP 10.98.6.10:53/udp fullnat -> 10.86.0.11-13:5353
#
# The pod runs 120 s at most (its default is 5 s).
# MODE delta or sotw (eager: every endpoint subscribed up front):
#   1. sluice-xds serves the service from its services file; sluiced
#      accepts listener, cluster and endpoints; 200 flows are all answered
#      by the three endpoints, none lost.
#   2. The file loses endpoint .13; sluice-xds pushes it; new flows are all
#      answered by .11 and .12 only.
# MODE lazy (lazy = true, evict_idle_s = 2, UDP flows expire after 2 s):
#   1. The service is known without endpoints (on demand); the first packets
#      are held while sluiced subscribes its endpoints, then released: every
#      flow answered, none lost; the held and released counters moved.
#   2. With no traffic the service is evicted (its endpoints unsubscribed).
#   3. Traffic again: loaded again, every flow answered.
#
# Usage: xds_test.sh MODE SLUICED PKTGEN SLUICE_XDS. Needs root (DPDK);
# exits 77 otherwise.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/pktgen/lib.sh
source "$here/lib.sh"
skip_unless_root "for DPDK"
if (($# != 4)); then
  echo "usage: xds_test.sh delta|sotw|lazy SLUICED PKTGEN SLUICE_XDS" >&2
  exit 2
fi
mode=$1
case $mode in
  delta | sotw) protocol=$mode lazy=false evict=0 ;;
  lazy) protocol=delta lazy=true evict=2 ;;
  *)
    echo "xds_test.sh: unknown mode '$mode'" >&2
    exit 2
    ;;
esac
pg_executables xds_test.sh "$2" "$3"
xds_server=$4
need_executables "$xds_server"

rate=2000
duration=2
flows=200
vip=10.98.6.10
prefix=sluice-xds$$ # DPDK --file-prefix stem: -lb, -pod, -client
tmp=$(mktemp -d /tmp/sluice-xds.XXXXXX)
pg_network 86 60
xds_pid=""
cleanup() {
  [[ -z $xds_pid ]] || sluiced_stop "$xds_pid" TERM 3
  pg_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# services_file ADDRESS...: sluice-xds's services, the service on ADDRESS.
services_file() {
  printf 'services = (\n%s\n);\n' "$(pg_service fullnat udp "$vip" 53 5353 "$@")" \
    >"$tmp/services.next"
  mv "$tmp/services.next" "$tmp/services.conf"
}

# lines LOG REGEX: how many lines of LOG match REGEX.
lines() { grep -Ec -- "$2" "$1"; }

# wait_count LOG REGEX N PID SECONDS: waits until LOG has N lines matching REGEX.
wait_count() {
  local deadline=$((SECONDS + $5))
  until (($(lines "$1" "$2") >= $3)); do
    if ! kill -0 "$4" 2>/dev/null || ((SECONDS >= deadline)); then
      return 1
    fi
    sleep 0.1
  done
}

# client RUN SPORTS ADDRESS...: a bounded client run of $flows flows from
# source ports SPORTS; checks every flow was answered, none lost, only by
# the ADDRESSes, none moved.
client() {
  local run=$1 sports=$2
  shift 2
  # shellcheck disable=SC2046 # the EAL arguments are words
  run_bounded 60 "$tmp/client-$run.log" "$pktgen" $(pg_eal client 1) \
    --vdev "$(memif 0 client p0 "$client_mac")" -- \
    --role client --src "$client_addr" --sport "$sports" --dst "$vip:53" --flows $flows \
    --rate $rate --duration $duration --gateway 192.168.86.1 --idle-sleep-us 20 \
    --json "$tmp/client-$run.json"
  pg_client_summary "client run $run" "$tmp/client-$run.log" "$tmp/client-$run.json" || return
  "$topo_python" - "$tmp/client-$run.json" "$run" "$flows" "$@" <<'PY' >"$tmp/verdicts-$run" ||
import json, sys

path, run, flows, *allowed = sys.argv[1:]
flows = int(flows)
s = json.load(open(path))

def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + f"run {run}: " + what)

check(s["sent"] > 0 and s["lost"] == 0 and s["received"] == s["sent"],
      f"no loss: received {s['received']} of {s['sent']}")
check(s["flows_answered"] == flows, f"{s['flows_answered']} of {flows} flows answered")
check(s["flows_moved"] == 0, f"{s['flows_moved']} flows changed endpoint")
seen = sorted(e["address"] for e in s["endpoints"] if e["flows"] > 0)
check(seen == sorted(allowed), f"answered by {seen}, expected {sorted(allowed)}")
PY
    fail "run $run: summary check crashed"
  count_verdicts "$tmp/verdicts-$run"
}

services_file "${endpoints[@]}"
"$xds_server" --services "$tmp/services.conf" --listen "unix:$tmp/xds.sock" --poll-ms 100 \
  >"$tmp/xds.log" 2>&1 &
xds_pid=$!
if sluiced_wait_line "$tmp/xds.log" 'version 1' "$xds_pid" 10; then
  pass "sluice-xds serving $tmp/services.conf"
else
  fail "sluice-xds did not start; its output:"
  cat "$tmp/xds.log"
  exit 1
fi

pg_conntrack="udp_timeout = 2;"
{
  pg_sluiced_conf fullnat udp "$vip" 53 5353 | sed '/^services = (/,$d'
  cat <<CONF
xds = {
  server = "unix:$tmp/xds.sock";
  mode = "$protocol";
  node = { id = "gw-test"; cluster = "sluice-tests"; };
  backoff = { initial_ms = 100; max_ms = 1000; };
  lazy = $lazy;
  evict_idle_s = $evict;
};
CONF
} >"$tmp/sluiced.conf"
if ! sluiced_start "$tmp/sluiced.log" 30 "$sluiced" --config "$tmp/sluiced.conf"; then
  fail "sluiced did not start"
  exit 1
fi
pass "sluiced running, xds $protocol from unix:$tmp/xds.sock"
log=$tmp/sluiced.log
accepted_eds='^sluiced: xds: accepted endpoint update'
if [[ $mode == lazy ]]; then
  wait_count "$log" '^sluiced: xds: accepted cluster update' 1 "$sluiced_pid" 20 &&
    pass "listener and cluster accepted" || fail "no cluster accepted within 20 s"
  (($(lines "$log" "$accepted_eds") == 0)) &&
    pass "no endpoints loaded before the first packet" || fail "endpoints loaded up front"
else
  wait_count "$log" "$accepted_eds" 1 "$sluiced_pid" 20 &&
    pass "listener, cluster and endpoints accepted" || fail "no endpoints accepted within 20 s"
fi

pg_start_pod "$tmp/pod.log" "$tmp/pod.json" "$(memif 0 client p1 "$pod_mac")" \
  "$(pg_endpoints "${endpoints[@]}")" --pod-id 7 --duration 120 || exit 1
pass "pod connected"

client 1 10000-10199 "${endpoints[@]}"

if [[ $mode == lazy ]]; then
  wait_count "$log" "$accepted_eds" 1 "$sluiced_pid" 5 &&
    pass "the first packet loaded the endpoints" || fail "no endpoints were loaded"
  if wait_count "$log" '^sluiced: xds: evicted 1 idle services' 1 "$sluiced_pid" 20; then
    pass "the idle service was evicted"
  else
    fail "the idle service was not evicted within 20 s"
  fi
  client 2 20000-20199 "${endpoints[@]}"
  wait_count "$log" "$accepted_eds" 2 "$sluiced_pid" 5 &&
    pass "traffic loaded the evicted service again" || fail "the service was not loaded again"
else
  before=$(lines "$log" "$accepted_eds")
  services_file "${endpoints[0]}" "${endpoints[1]}"
  wait_count "$log" "$accepted_eds" $((before + 1)) "$sluiced_pid" 10 &&
    pass "the endpoint change was pushed and accepted" || fail "no endpoint update within 10 s"
  client 2 20000-20199 "${endpoints[0]}" "${endpoints[1]}"
fi

(($(lines "$log" '^sluiced: xds: rejected') == 0)) && pass "no update rejected" ||
  fail "an update was rejected: $(grep -m1 '^sluiced: xds: rejected' "$log")"
grep -E '^sluice-xds' "$tmp/xds.log" | tail -5
sluiced_stop "$pod_pid" TERM 10
pod_pid=""
if [[ $mode == lazy ]]; then
  # The final counters come when sluiced stops; pg_finish prints them.
  sluiced_stop "$sluiced_pid" TERM 15
  rc_sluiced=$sluiced_rc
  sluiced_pid=""
  counters=$(sed -n '/^-- final counters/,$p' "$log")
  echo "$counters"
  ((rc_sluiced == 0)) && pass "sluiced exited 0 on SIGTERM" || fail "sluiced exited $rc_sluiced"
  for event in lazy_held lazy_released lazy_miss_posted; do
    [[ $counters =~ $event=[1-9] ]] && pass "$event counted" || fail "$event not counted"
  done
  ((failures == 0)) || {
    echo "$failures check(s) failed"
    exit 1
  }
  echo "all checks passed"
  exit 0
fi
pg_finish
