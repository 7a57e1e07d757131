#!/usr/bin/env bash
# Real Linux TCP and UDP through sluiced: a client namespace, three pods
# behind a bridge, sluiced in between on two net_af_packet ports (the layout
# is drawn in lib.sh; names carry this script's pid, subnets are its own):
#
#   client 192.168.79.2 -- p0 [sluiced, 2 workers] p1 -- br0 -- pod1..3 10.79.0.11-13
#   VIPs 10.97.0.10 and fd00:97::10                         fd79:1::11-13
#
# Each port has two rx queues polled by different workers, and
# net_af_packet spreads frames over them by flow hash, so a reply often
# lands on the worker that does not own its flow (the owner hand-off).
#
# Checks:
#   (a) 450 curl connections to the IPv4 fullnat VIP all succeed, each pod
#       serves within +-30% of an even share;
#   (b) the same for the IPv6 VIP and for a dnat service (pods route their
#       replies through Sluice);
#   (c) 450 UDP queries from distinct source ports: all answered, balanced;
#   (d) long-lived TCP connections and UDP flows across a SIGHUP that removes
#       pod2: flows on pod1/pod3 keep their pod without an error, TCP on pod2
#       is reset, UDP on pod2 moves to a surviving pod, new connections and
#       flows avoid pod2;
#   (e) a reload with a broken config is refused and traffic continues;
#   (f) sluiced exits 0 on SIGTERM; its final counters are printed.
#
# Usage: lb_test.sh SLUICED. Needs root; exits 77 (skip) otherwise.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/netns/lib.sh
source "$here/lib.sh"
skip_unless_root "to create network namespaces"
sluiced=${1:?usage: lb_test.sh SLUICED}
need_executables "$sluiced"

topo_ns=sluice-lb$$
topo_if=slb$$
topo_net4=192.168.79
topo_net6=fd79
topo_pod_net4=10.79.0
topo_pod_net6=fd79:1
topo_vips4=10.97.0.0/16
topo_vips6=fd00:97::/64
topo_pods=3
vip4=10.97.0.10
vip6=fd00:97::10
dnat_port=8080
# Connections per balance check over 3 pods and over 2. A pod's count is
# binomial: at 450 over 3 pods or 200 over 2, the +-30% bounds lie 4.5 and
# 4.2 standard deviations out, so an even hash fails a run about once in
# 7,000.
n3=450
n2=200
prefix=$topo_ns # DPDK's --file-prefix; topo_reap_stale removes its leftovers

tmp=$(mktemp -d /tmp/sluice-lb.XXXXXX)
log=$tmp/sluiced.log
conf=$tmp/sluiced.conf
sluiced_pid=""
hold_pid=""

# The links go first (in topo_destroy): on a timeout meson sends SIGTERM to
# the whole process group and SIGKILL half a second later.
cleanup() {
  trap - EXIT INT TERM
  [[ -z $hold_pid ]] || kill -KILL "$hold_pid" 2>/dev/null
  topo_destroy
  [[ -z $sluiced_pid ]] || sluiced_stop "$sluiced_pid" TERM 5
  rm -rf "$tmp" "/var/run/dpdk/$prefix"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

topo_reap_stale sluice-lb slb

# endpoint_list ADDRESS_FUNCTION PORT BROKEN POD...: a services' endpoints
# list for the pods; BROKEN=1 adds an endpoint of weight 0, which validation
# refuses.
endpoint_list() {
  local fn=$1 port=$2 broken=$3 sep="" pod
  shift 3
  for pod in "$@"; do
    printf '%s\n      { address = "%s"; port = %s; }' "$sep" "$("$fn" "$pod")" "$port"
    sep=,
  done
  if ((broken)); then
    printf ',\n      { address = "%s"; port = %s; weight = 0; }' "$("$fn" 9)" "$port"
  fi
}

# write_config FILE [--broken] POD...: sluiced's config with the services'
# endpoints on the given pods (numbers).
write_config() {
  local file=$1 broken=0
  shift
  if [[ $1 == --broken ]]; then
    broken=1
    shift
  fi
  {
    sluiced_conf_head info "$prefix" 512 8191 backoff
    sluiced_conf_ports 2 "net_af_packet0,iface=$topo_if-c0,qpairs=2" \
      "net_af_packet1,iface=$topo_if-p0,qpairs=2"
    cat <<EOF
# Two workers on the machine's second core; each polls one queue of each port.
workers = (
  { lcore = 1; cpu = 1; rx = ( { port = "p0"; queue = 0; }, { port = "p1"; queue = 0; } ); },
  { lcore = 2; cpu = 1; rx = ( { port = "p0"; queue = 1; }, { port = "p1"; queue = 1; } ); }
);
addresses = (
  { port = "p0"; address = "$(topo_sluice_addr4)/24"; },
  { port = "p0"; address = "$(topo_sluice_addr6)/64"; },
  { port = "p1"; address = "$(topo_sluice_pod_addr4)/24"; },
  { port = "p1"; address = "$(topo_sluice_pod_addr6)/64"; }
);
snat = [ "$(topo_sluice_pod_addr4)", "$(topo_sluice_pod_addr6)" ];
conntrack = {
  capacity = 65536;
};
services = (
  {
    vip = "$vip4"; port = 80; protocol = "tcp"; mode = "fullnat";
    endpoints = ($(endpoint_list topo_pod_addr4 8080 "$broken" "$@")
    );
  },
  {
    vip = "$vip4"; port = 53; protocol = "udp"; mode = "fullnat";
    endpoints = ($(endpoint_list topo_pod_addr4 5353 "$broken" "$@")
    );
  },
  {
    vip = "$vip4"; port = $dnat_port; protocol = "tcp"; mode = "dnat";
    endpoints = ($(endpoint_list topo_pod_addr4 8080 "$broken" "$@")
    );
  },
  {
    vip = "$vip6"; port = 80; protocol = "tcp"; mode = "fullnat";
    endpoints = ($(endpoint_list topo_pod_addr6 8080 "$broken" "$@")
    );
  }
);
EOF
  } >"$file"
}

# Runs a command in the client namespace, bounded to $1 seconds, output to
# $2 (run_bounded). Sets rc.
in_client() {
  run_bounded "$1" "$2" ip netns exec "$(topo_client_ns)" "${@:3}"
}

# curl_many URL COUNT OUT: COUNT sequential curl connections, each a new
# process and so a new source port; OUT gets one line per connection, the
# pod that answered or "error: ...". At most 5 s per connection, and it gives
# up after 10 failures in a row.
curl_many() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  in_client 150 "$3" bash -c '
    failed=0
    for ((i = 0; i < $2 && failed < 10; i++)); do
      if body=$(curl -sS --connect-timeout 3 --max-time 5 "$1" 2>&1); then
        echo "$body"
        failed=0
      else
        echo "error: curl exit $?: $body"
        ((failed += 1))
      fi
    done' curl_many "$1" "$2"
}

# check_balance WHAT FILE COUNT POD...: FILE has one answer per line; all
# COUNT must be from the listed pods, each within +-30% of an even share.
check_balance() {
  local what=$1 file=$2 count=$3
  shift 3
  local answered tally pod n lo hi ok=1 expected=$#
  answered=$(grep -cxE 'pod[0-9]+' "$file")
  tally=$(grep -xE 'pod[0-9]+' "$file" | sort | uniq -c | awk '{printf " %s=%s", $2, $1}')
  echo "$what: $answered of $count answered:$tally"
  if ((answered != count)); then
    fail "$what: $((count - answered)) of $count unanswered, e.g.:"$'\n'"$(grep -vxE 'pod[0-9]+' "$file" | head -n 5)"
    ok=0
  fi
  # Even share count/expected, integer bounds: lo <= n <= hi.
  lo=$(((count * 7 + expected * 10 - 1) / (expected * 10)))
  hi=$((count * 13 / (expected * 10)))
  for pod in "$@"; do
    n=$(grep -cx "pod$pod" "$file")
    if ((n < lo || n > hi)); then
      fail "$what: pod$pod served $n, outside [$lo, $hi] (+-30% of an even share)"
      ok=0
    fi
  done
  n=$(grep -xE 'pod[0-9]+' "$file" | grep -cvxE "$(printf 'pod%s|' "$@")NONE")
  if ((n != 0)); then
    fail "$what: $n answered by pods not in the service"
    ok=0
  fi
  ((ok)) && pass "$what: every pod within +-30% of $((count / expected)) ([$lo, $hi])"
}

# count_lines REGEX: lines of the log matching REGEX (grep -E).
count_lines() { grep -cE -- "$1" "$log"; }

# wait_count REGEX N SECONDS: waits until the log has N lines matching REGEX.
wait_count() {
  local deadline=$((SECONDS + $3))
  while (($(count_lines "$1") < $2)); do
    if ! kill -0 "$sluiced_pid" 2>/dev/null || ((SECONDS >= deadline)); then return 1; fi
    sleep 0.1
  done
}

echo "---- topology $topo_ns-*"
topo_create || exit 1
topo_start_pods "$tmp" || exit 1
pass "client, bridge and $topo_pods pod namespaces; pod servers listening"

write_config "$conf" 1 2 3
: >"$log"
if ! sluiced_start "$log" 30 "$sluiced" --config "$conf"; then
  echo "FAIL: sluiced did not start"
  exit 1
fi
pass "sluiced running with 2 workers, 2 rx queues per port"

echo "---- (a) IPv4 fullnat TCP"
curl_many "http://$vip4/" $n3 "$tmp/a.out"
check_balance "tcp $vip4:80 (fullnat)" "$tmp/a.out" $n3 1 2 3

echo "---- (b) IPv6 fullnat TCP, IPv4 dnat TCP"
curl_many "http://[$vip6]/" $n3 "$tmp/b6.out"
check_balance "tcp [$vip6]:80 (fullnat)" "$tmp/b6.out" $n3 1 2 3
curl_many "http://$vip4:$dnat_port/" $n3 "$tmp/bd.out"
check_balance "tcp $vip4:$dnat_port (dnat)" "$tmp/bd.out" $n3 1 2 3

echo "---- (c) IPv4 fullnat UDP"
in_client 60 "$tmp/c.raw" "$topo_python" "$here/lb_client.py" udp "$vip4" 53 $n3
awk '{print $2}' "$tmp/c.raw" >"$tmp/c.out"
check_balance "udp $vip4:53 (fullnat)" "$tmp/c.out" $n3 1 2 3
ports=$(awk '{print $1}' "$tmp/c.raw" | sort -u | wc -l)
if ((ports == n3)); then
  pass "udp: $n3 distinct source ports"
else
  fail "udp: $ports distinct source ports, expected $n3 (client exit $rc)"
fi

echo "---- (d) pod2 removed by SIGHUP under long-lived flows"
# Not through a shell function: $! must be the client itself, for SIGUSR1.
ip netns exec "$(topo_client_ns)" "$topo_python" "$here/lb_client.py" hold --tcp "$vip4:80" \
  --udp "$vip4:53" --removed pod2 --conns 30 --flows 30 --after 5 --max 60 >"$tmp/hold.out" 2>&1 &
hold_pid=$!
deadline=$((SECONDS + 20))
until grep -q '^ready' "$tmp/hold.out"; do
  if ! kill -0 "$hold_pid" 2>/dev/null || ((SECONDS >= deadline)); then break; fi
  sleep 0.1
done
echo "flows started on: $(grep '^ready' "$tmp/hold.out" | cut -d' ' -f2-)"
# Let the flows run on the full service first.
sleep 1
write_config "$conf" 1 3
kill -USR1 "$hold_pid"
kill -HUP "$sluiced_pid"
if wait_count '^sluiced: reloaded' 1 3; then
  pass "$(grep -E '^sluiced: reloaded' "$log" | tail -n 1)"
else
  fail "no 'sluiced: reloaded' within 3 s of SIGHUP"
fi
deadline=$((SECONDS + 70))
while kill -0 "$hold_pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
kill -KILL "$hold_pid" 2>/dev/null
wait "$hold_pid"
hold_rc=$?
hold_pid=""
cat "$tmp/hold.out"
if ((hold_rc == 0)); then
  pass "long-lived flows across the removal"
else
  fail "long-lived flows across the removal (client exit $hold_rc, see above)"
fi

curl_many "http://$vip4/" $n2 "$tmp/d.out"
check_balance "new tcp connections after the removal" "$tmp/d.out" $n2 1 3
in_client 60 "$tmp/d.raw" "$topo_python" "$here/lb_client.py" udp "$vip4" 53 $n2
awk '{print $2}' "$tmp/d.raw" >"$tmp/d-udp.out"
check_balance "new udp flows after the removal" "$tmp/d-udp.out" $n2 1 3

echo "---- (e) a broken config is refused"
write_config "$conf" --broken 1 3
kill -HUP "$sluiced_pid"
if wait_count '^sluiced: reload refused' 1 3; then
  pass "reload refused: $(grep -A1 -E '^sluiced: reload refused' "$log" | tail -n 1)"
else
  fail "no 'sluiced: reload refused' within 3 s of SIGHUP with a broken config"
fi
curl_many "http://$vip4/" $n2 "$tmp/e.out"
check_balance "tcp after the refused reload (pod1, pod3 still)" "$tmp/e.out" $n2 1 3

echo "---- (f) SIGTERM"
if sluiced_stop "$sluiced_pid" TERM 15; then
  if ((sluiced_rc == 0)); then
    pass "sluiced exited 0 on SIGTERM"
  else
    fail "sluiced exited $sluiced_rc on SIGTERM"
  fi
else
  fail "sluiced still running 15 s after SIGTERM (killed)"
fi
sluiced_pid=""

# Final counters, summed over the workers.
sed -n '/^-- final counters/,$p' "$log"
declare -A total=()
while read -r name value; do
  total[$name]=$value
done < <(sed -n '/^-- final counters/,$p' "$log" | grep -E '^worker [0-9]+:' |
  grep -oE '[a-z0-9_]+=[0-9]+' | awk -F= '{sum[$1] += $2} END {for (c in sum) print c, sum[c]}')
summary=""
for name in flows_created flows_reset flows_rebalanced handoffs tx_packets; do
  summary+=" $name=${total[$name]:-0}"
done
echo "totals:$summary"
# check_total COUNTER MIN WHY: the summed counter must be at least MIN.
check_total() {
  local value=${total[$1]:-0}
  if ((value >= $2)); then
    pass "$1=$value"
  else
    fail "$1=$value, expected at least $2: $3"
  fi
}
# Every TCP connection and the first UDP batch are new flows; a later UDP
# query may reuse a source port whose flow is still tracked.
check_total flows_created $((4 * n3 + 2 * n2)) "every connection above is a new flow"
check_total flows_reset 1 "TCP flows on the removed pod must be reset"
check_total flows_rebalanced 1 "UDP flows on the removed pod must move"
if ((${total[handoffs]:-0} > 0)); then
  pass "handoffs=${total[handoffs]}: replies reached their owner from the other worker"
else
  echo "note: handoffs=0, net_af_packet put every reply on its owner's queue"
fi

echo "---- sluiced output"
sed '/^-- final counters/,$d' "$log"
echo "----"
if ((failures > 0)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
