#!/usr/bin/env bash
# sluiced fed by a real Envoy management server (server.js: @grpc/grpc-js on
# the full upstream protos of @grpc/grpc-js-xds), over SotW or delta ADS,
# with real Linux TCP through it (the netns topology of tests/netns/lib.sh,
# names with this script's pid, subnets of their own per mode):
#
#   client 192.168.8M.2 -- p0 [sluiced, 1 worker] p1 -- br0 -- pod1..4 10.8M.0.11-14
#   VIPs 10.9M.0.10 (A) and 10.9M.0.20 (B), port 80 -> pods' 8080
#   (M: 1 sotw, 2 delta, 3 sotw dnat, 4 delta dnat)
#
# Scenarios, in order, on one sluiced and one server:
#   add       Listener+Cluster+CLA for A (pods 1-3), and a UDP one for A:53
#             (udp_proxy listener filter): both answer from pods 1-3 only;
#             every type ACKed; the node is the config's.
#   endpoints 12 long-lived connections on A, then A's CLA adds pod4 and
#             drains pod2 (DRAINING): no held flow moves or breaks, new
#             connections go to pods 1,3,4.
#   unrelated B (pod4) added, then removed: A's endpoints and held flows
#             unchanged; B answers while it exists and stops after.
#   nack      a Listener with address "not-an-ip", a Cluster with maglev
#             table_size 10, a Listener with a connection_limit filter
#             before tcp_proxy: each NACKed with a reason naming it (SotW:
#             with the last accepted version), not NACKed in a loop though
#             the server resends it on every NACK (go-control-plane); A keeps
#             forwarding; removing the bad resource is ACKed.
#   unknown   every resource re-sent with fields Sluice's subset does not
#             define (and a field number upstream does not define; SotW:
#             each inside a discovery.v3.Resource): all ACKed, A unchanged.
#   restart   the server killed (SIGKILL): A and its flows keep going; the
#             server restarted on the same port with the same state: the
#             new stream resumes (SotW: version_info = the ACKed versions;
#             delta: initial_resource_versions = the versions sent), and a
#             change made after it (B again) is applied.
#   remove    A removed: its VIP stops answering.
#
# Usage: xds_test.sh sotw|delta SLUICED SLUICECTL [fullnat|dnat]: the last,
# the xds group's forward_mode (default fullnat; the pods route through
# Sluice, so dnat works too). Needs root; exits 77 (skip) otherwise.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/netns/lib.sh
source "$here/../netns/lib.sh"
# shellcheck source=tests/interop/lib.sh
source "$here/lib.sh"
skip_unless_root "to create network namespaces"
mode=${1:?usage: xds_test.sh sotw|delta SLUICED SLUICECTL}
sluiced=${2:?usage: xds_test.sh sotw|delta SLUICED SLUICECTL}
ctl=${3:?usage: xds_test.sh sotw|delta SLUICED SLUICECTL}
forward=${4:-fullnat}
need_executables "$sluiced" "$ctl"
for tool in jq curl node; do
  command -v "$tool" >/dev/null || {
    echo "FAIL: $tool is not installed (tools/install-deps)"
    exit 1
  }
done
case $mode/$forward in
  sotw/fullnat) m=1 ;;
  delta/fullnat) m=2 ;;
  sotw/dnat) m=3 ;;
  delta/dnat) m=4 ;;
  *)
    echo "FAIL: mode '$mode' forward mode '$forward': want sotw|delta fullnat|dnat"
    exit 1
    ;;
esac
"$here/npm_setup.sh" || exit 1

topo_ns=sluice-ix$$
topo_if=six$$
topo_net4=192.168.8$m
topo_net6=fd8$m
topo_pod_net4=10.8$m.0
topo_pod_net6=fd8$m:1
topo_vips4=10.9$m.0.0/16
topo_vips6=fd00:9$m::/64
topo_pods=4
vip_a=10.9$m.0.10
vip_b=10.9$m.0.20
prefix=$topo_ns

tmp=$(mktemp -d /tmp/sluice-interop.XXXXXX)
log=$tmp/sluiced.log
conf=$tmp/sluiced.conf
socket=$tmp/admin.sock
sluiced_pid=""
hold_pid=""

cleanup() {
  trap - EXIT INT TERM
  [[ -z $hold_pid ]] || kill -KILL "$hold_pid" 2>/dev/null
  topo_destroy
  [[ -z $sluiced_pid ]] || sluiced_stop "$sluiced_pid" TERM 5
  xds_kill
  rm -rf "$tmp" "/var/run/dpdk/$prefix"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

topo_reap_stale sluice-ix six

pod() { topo_pod_addr4 "$1"; }

# services: sluiced's xDS services, one line "VIP:PORT/PROTO EP/STATE,..."
# each, sorted; empty when it cannot be asked.
services() {
  timeout 10 "$ctl" --socket "$socket" service list --json 2>/dev/null | jq -r '
    [.services[] | select(.source == "xds")
     | "\(.vip):\(.port)/\(.protocol) " + ([.endpoints[] | "\(.address):\(.port)/\(.state)"] | sort | join(","))]
    | sort | .[]'
}

# wait_services WANT SECONDS: waits until services prints WANT.
wait_services() {
  local deadline=$((SECONDS + $2))
  until [[ $(services) == "$1" ]]; do
    if ((SECONDS >= deadline)) || ! kill -0 "$sluiced_pid" 2>/dev/null; then return 1; fi
    sleep 0.2
  done
}

# expect_services WHAT WANT SECONDS
expect_services() {
  if wait_services "$2" "$3"; then
    pass "$1: sluiced has $(tr '\n' ';' <<<"$2")"
  else
    fail "$1: sluiced has '$(services | tr '\n' ';')', want '$(tr '\n' ';' <<<"$2")' (after $3 s)"
  fi
}

# short VIP COUNT OUT: COUNT new connections to VIP:80 from the client.
# Each call's connections come from source ports of their own (below the
# kernel's ephemeral range), never reused within a run.
next_sport=10000
short() {
  run_bounded 60 "$3" ip netns exec "$(topo_client_ns)" "$topo_python" "$here/flows.py" "$1:80" \
    --short "$2" --sport "$next_sport"
  next_sport=$((next_sport + $2))
}

# udp_queries OUT: 30 UDP queries to A:53, each from its own source port
# (tests/netns/lb_client.py); OUT gets the answering pods.
udp_queries() {
  run_bounded 60 "$1.raw" ip netns exec "$(topo_client_ns)" "$topo_python" "$here/../netns/lb_client.py" \
    udp "$vip_a" 53 30 --timeout 1
  awk '{print $2}' "$1.raw" >"$1"
}

# expect_answers WHAT FILE COUNT POD...: all COUNT answered, by the listed
# pods only, each at least once.
expect_answers() {
  local what=$1 file=$2 count=$3 tally answered pod ok=1
  shift 3
  answered=$(grep -cxE 'pod[0-9]+' "$file")
  tally=$(grep -xE 'pod[0-9]+' "$file" | sort | uniq -c | awk '{printf " %s=%s", $2, $1}')
  if ((answered != count)); then
    fail "$what: $answered of $count answered:$tally; e.g. $(grep -vxE 'pod[0-9]+' "$file" | head -n 2 | tr '\n' ' ')"
    ok=0
  fi
  if grep -xE 'pod[0-9]+' "$file" | grep -qvxE "$(printf 'pod%s|' "$@")NONE"; then
    fail "$what: answers from pods outside {$*}:$tally"
    ok=0
  fi
  for pod in "$@"; do
    grep -qx "pod$pod" "$file" || {
      fail "$what: pod$pod never answered:$tally"
      ok=0
    }
  done
  ((ok)) && pass "$what: $count answered:$tally"
}

# expect_silent WHAT VIP: three connections (1 s each), none answered.
expect_silent() {
  run_bounded 30 "$tmp/silent.out" ip netns exec "$(topo_client_ns)" "$topo_python" "$here/flows.py" \
    "$2:80" --short 3 --timeout 1
  if grep -qxE 'pod[0-9]+' "$tmp/silent.out"; then
    fail "$1: $2 still answers: $(grep -cxE 'pod[0-9]+' "$tmp/silent.out") of 3"
  else
    pass "$1: $2 answers no connection"
  fi
}

# hold_check WHAT: asks the long-lived flows for a verdict.
hold_check() {
  local before line deadline=$((SECONDS + 5))
  [[ -n $hold_pid ]] || return 0
  before=$(grep -c '^check ' "$tmp/hold.out")
  kill -USR1 "$hold_pid"
  while (($(grep -c '^check ' "$tmp/hold.out") == before)) && ((SECONDS < deadline)); do
    sleep 0.1
  done
  line=$(grep '^check ' "$tmp/hold.out" | tail -n 1)
  if [[ $line == "check $((before + 1)): ok: "* ]]; then
    pass "$1: $line"
  else
    fail "$1: ${line:-no verdict from the flows}"
  fi
}

# expect_acked WHAT: every type's last response ACKed.
expect_acked() {
  local type
  for type in "${xds_types[@]}"; do
    if wait_acked "$type" 10; then
      pass "$1: $type ACKed ($mode version $(acked_version "$tmp/xds.log" "$type" | cut -c1-80))"
    else
      fail "$1: the last $type response was not ACKed within 10 s"
    fi
  done
}

# expect_nack WHAT TYPE ACCEPTED SINCE [REASON]: a TYPE NACK after log entry
# SINCE, with a reason (matching the regex REASON when given), carrying
# (SotW) ACCEPTED, the version accepted before; and no NACK loop: a SotW
# server built on go-control-plane's snapshot cache answers each NACK with
# the same resources at once (its issues #46, #962), so a client that NACKs
# every copy spins both at thousands a second. Envoy bounds this with
# request rate limiting; the bound here, 25 in 2 s, admits such a limit or
# no repeat at all.
expect_nack() {
  local n line message
  if ! wait_nack "$2" 10 "$4"; then
    fail "$1: no $2 NACK within 10 s"
    return
  fi
  line=$(nacks "$tmp/xds.log" "$2" "$4" | head -n 1)
  message=$(jq -r '.message' <<<"$line")
  if [[ -z $message ]]; then
    fail "$1: NACK without error_detail.message: $line"
  elif [[ -n ${5:-} && ! $message =~ $5 ]]; then
    fail "$1: NACK reason '$message' does not match /$5/"
  elif [[ $mode == sotw && $(jq -r '.version_info' <<<"$line") != "$3" ]]; then
    fail "$1: NACK version_info $(jq -r '.version_info' <<<"$line"), want the last accepted $3"
  else
    pass "$1: NACKed: $(jq -r '(if .version_info == null then "" else "version_info=\"\(.version_info)\" " end) + "error_detail=\"\(.message)\""' <<<"$line")"
  fi
  sleep 2
  xds_log "$tmp/xds.log"
  n=$(nacks "$tmp/xds.log" "$2" "$4" | wc -l)
  if ((n <= 25)); then
    pass "$1: $n NACK(s) of the bad $2 in 2 s (no NACK loop)"
  else
    fail "$1: $n NACKs of the bad $2 in 2 s: a NACK loop"
  fi
}

echo "---- topology $topo_ns-*, management server, sluiced ($mode, $forward)"
topo_create || exit 1
topo_start_pods "$tmp" || exit 1
xds_start "$tmp/xds-server.log" || exit 1
pass "management server on 127.0.0.1:$xds_port, control $xds_control"
{
  sluiced_conf_head info "$prefix" 512 8191 backoff
  sluiced_conf_ports 1 "net_af_packet0,iface=$topo_if-c0" "net_af_packet1,iface=$topo_if-p0"
  sluiced_conf_worker
  cat <<EOF
addresses = (
  { port = "p0"; address = "$(topo_sluice_addr4)/24"; },
  { port = "p1"; address = "$(topo_sluice_pod_addr4)/24"; }
);
snat = [ "$(topo_sluice_pod_addr4)" ];
admin = { socket = "$socket"; };
xds = {
  server = "127.0.0.1:$xds_port";
  mode = "$mode";
  node = { id = "gw-$mode"; cluster = "sluice"; };
  backoff = { initial_ms = 100; max_ms = 1000; };
  forward_mode = "$forward";
};
EOF
} >"$conf"
if ! sluiced_start "$log" 30 "$sluiced" --config "$conf"; then
  echo "FAIL: sluiced did not start"
  exit 1
fi
pass "sluiced running"

echo "---- add: service A"
a_listener=$(listener_json l-a "$vip_a" 80 c-a)
xds_set listener "$a_listener" cluster "$(cluster_json c-a)" \
  endpoint "$(cla_json c-a "$(pod 1):8080" "$(pod 2):8080" "$(pod 3):8080")" \
  listener "$(udp_listener_json l-u "$vip_a" 53 c-u)" cluster "$(cluster_json c-u)" \
  endpoint "$(cla_json c-u "$(pod 1):5353" "$(pod 2):5353" "$(pod 3):5353")"
state_u="$vip_a:53/udp $(pod 1):5353/ready,$(pod 2):5353/ready,$(pod 3):5353/ready"
state_a="$vip_a:80/tcp $(pod 1):8080/ready,$(pod 2):8080/ready,$(pod 3):8080/ready"
expect_services "add" "$state_u"$'\n'"$state_a" 15
if ((failures > 0)); then
  echo "---- the other scenarios need service A; stopping. sluiced's output:"
  cat "$log"
  echo "---- the management server's last log entries"
  xds_call GET /log | jq -c '.entries[-20:][]' | cut -c1-300
  exit 1
fi
short "$vip_a" 60 "$tmp/add.out"
expect_answers "add: new connections to A" "$tmp/add.out" 60 1 2 3
udp_queries "$tmp/udp.out"
expect_answers "add: UDP queries to A:53" "$tmp/udp.out" 30 1 2 3
modes=$(timeout 10 "$ctl" --socket "$socket" service list --json | jq -r '[.services[].mode] | unique | join(",")')
if [[ $modes == "$forward" ]]; then pass "add: services forward in $modes"; else fail "add: services forward in '$modes', want $forward"; fi
expect_acked "add"
node=$(jq -rs '[.[] | select(.dir == "req" and .node != null)][0].node | "\(.id)/\(.cluster)"' "$tmp/xds.log")
if [[ $node == "gw-$mode/sluice" ]]; then pass "add: node $node"; else fail "add: node $node, want gw-$mode/sluice"; fi

echo "---- endpoints: pod4 added, pod2 drained under long-lived flows"
ip netns exec "$(topo_client_ns)" "$topo_python" "$here/flows.py" "$vip_a:80" --conns 12 --max 170 \
  >"$tmp/hold.out" 2>&1 &
hold_pid=$!
deadline=$((SECONDS + 15))
until grep -q '^ready' "$tmp/hold.out" || ((SECONDS >= deadline)); do sleep 0.1; done
echo "long-lived flows $(grep '^ready' "$tmp/hold.out")"
sleep 0.5
hold_check "endpoints: before the update"
xds_set endpoint "$(cla_json c-a "$(pod 1):8080" "$(pod 2):8080:DRAINING" "$(pod 3):8080" "$(pod 4):8080")"
state_a="$vip_a:80/tcp $(pod 1):8080/ready,$(pod 2):8080/terminating,$(pod 3):8080/ready,$(pod 4):8080/ready"
expect_services "endpoints" "$state_u"$'\n'"$state_a" 10
sleep 0.5
hold_check "endpoints: held flows after the update"
short "$vip_a" 60 "$tmp/ep.out"
expect_answers "endpoints: new connections avoid the draining pod2" "$tmp/ep.out" 60 1 3 4
expect_acked "endpoints"

echo "---- unrelated: service B added and removed"
xds_set listener "$(listener_json l-b "$vip_b" 80 c-b)" cluster "$(cluster_json c-b)" \
  endpoint "$(cla_json c-b "$(pod 4):8080")"
state_b="$vip_b:80/tcp $(pod 4):8080/ready"
expect_services "unrelated: B added, A unchanged" "$state_u"$'\n'"$state_a"$'\n'"$state_b" 10
short "$vip_b" 20 "$tmp/b.out"
expect_answers "unrelated: B" "$tmp/b.out" 20 4
hold_check "unrelated: held flows on A after B was added"
short "$vip_a" 30 "$tmp/a2.out"
expect_answers "unrelated: A after B was added" "$tmp/a2.out" 30 1 3 4
expect_acked "unrelated: B added"
xds_remove listener l-b cluster c-b endpoint c-b
expect_services "unrelated: B removed, A unchanged" "$state_u"$'\n'"$state_a" 10
expect_silent "unrelated: B removed" "$vip_b"
hold_check "unrelated: held flows on A after B was removed"
expect_acked "unrelated: B removed"

echo "---- nack: invalid resources"
accepted=$(acked_version "$tmp/xds.log" listener)
since=$(xds_log_next)
xds_set listener "$(listener_json l-bad "$vip_b" 80 c-a not-an-ip)"
expect_nack "nack: Listener address not-an-ip" listener "$accepted" "$since" 'not-an-ip'
short "$vip_a" 20 "$tmp/nack.out"
expect_answers "nack: A keeps forwarding" "$tmp/nack.out" 20 1 3 4
hold_check "nack: held flows"
expect_services "nack: nothing applied" "$state_u"$'\n'"$state_a" 5
xds_remove listener l-bad
expect_acked "nack: the bad Listener removed"

accepted=$(acked_version "$tmp/xds.log" cluster)
since=$(xds_log_next)
xds_set cluster "$(cluster_json c-bad 10)" endpoint "$(cla_json c-bad "$(pod 4):8080")"
expect_nack "nack: Cluster maglev table_size 10" cluster "$accepted" "$since" 'table_size'
short "$vip_a" 20 "$tmp/nack2.out"
expect_answers "nack: A keeps forwarding" "$tmp/nack2.out" 20 1 3 4
xds_remove cluster c-bad endpoint c-bad
expect_acked "nack: the bad Cluster removed"

# A filter in front of tcp_proxy that Sluice cannot enforce (a connection
# limit; an RBAC filter would be worse) must not be skipped silently.
accepted=$(acked_version "$tmp/xds.log" listener)
since=$(xds_log_next)
xds_set listener "$(listener_json l-lim "$vip_b" 80 c-a | jq -c '.filter_chains[0].filters |= [{
  name: "envoy.filters.network.connection_limit",
  typed_config: {"@type": "type.googleapis.com/envoy.extensions.filters.network.connection_limit.v3.ConnectionLimit",
    stat_prefix: "lim", max_connections: 10}}] + .')"
expect_nack "nack: a connection_limit filter before tcp_proxy" listener "$accepted" "$since" 'connection_limit'
xds_remove listener l-lim
expect_acked "nack: the filtered Listener removed"
expect_services "nack: A unchanged" "$state_u"$'\n'"$state_a" 5

echo "---- unknown: fields the subset does not define"
options='{"extras": true, "raw_unknown": true}'
[[ $mode == sotw ]] && options='{"extras": true, "raw_unknown": true, "wrap_resource": true}'
xds_log "$tmp/xds.log"
seq_before=$(wc -l <"$tmp/xds.log")
xds_options "$options"
pass "server options $options"
expect_acked "unknown"
late_nacks=$(jq -c --argjson s "$seq_before" 'select(.seq >= $s and .dir == "req" and .error_detail != null)' "$tmp/xds.log")
if [[ -z $late_nacks ]]; then
  pass "unknown: no NACK"
else
  fail "unknown: NACKed: $(head -n 2 <<<"$late_nacks")"
fi
expect_services "unknown: A unchanged" "$state_u"$'\n'"$state_a" 5
hold_check "unknown: held flows"
short "$vip_a" 20 "$tmp/unknown.out"
expect_answers "unknown: A" "$tmp/unknown.out" 20 1 3 4

echo "---- restart: server killed and restarted"
xds_log "$tmp/xds-before.log"
declare -A resume=()
for type in "${xds_types[@]}"; do resume[$type]=$(resume_state "$tmp/xds-before.log" "$type"); done
xds_call GET /state >"$tmp/state.json"
control_port=${xds_control##*:}
xds_kill
pass "server killed"
sleep 1
short "$vip_a" 20 "$tmp/down.out"
expect_answers "restart: A while the server is down" "$tmp/down.out" 20 1 3 4
udp_queries "$tmp/down-udp.out"
expect_answers "restart: UDP to A:53 while the server is down" "$tmp/down-udp.out" 30 1 2 3
hold_check "restart: held flows while the server is down"
if sluiced_wait_line "$log" 'xds: lost' "$sluiced_pid" 5; then
  pass "restart: $(grep 'xds: lost' "$log" | tail -n 1)"
else
  fail "restart: sluiced did not report the lost stream"
fi
xds_start "$tmp/xds-server2.log" --port "$xds_port" --control-port "$control_port" --state "$tmp/state.json" || exit 1
pass "server restarted on 127.0.0.1:$xds_port"
for type in "${xds_types[@]}"; do
  if ! first=$(wait_request "$type" 15); then
    fail "restart: no $type request on the new server within 15 s"
    continue
  fi
  if [[ $mode == sotw ]]; then
    got=$(jq -r '.version_info' <<<"$first")
  else
    got=$(jq -cS '.initial_resource_versions' <<<"$first")
  fi
  if [[ $got == "${resume[$type]}" ]]; then
    pass "restart: $type resumed with what it had accepted: ${got:0:160}"
  else
    fail "restart: $type's first request after the restart carries $got, want ${resume[$type]}"
  fi
done
xds_set listener "$(listener_json l-b "$vip_b" 80 c-b)" cluster "$(cluster_json c-b)" \
  endpoint "$(cla_json c-b "$(pod 4):8080")"
expect_services "restart: a change after the restart converges" "$state_u"$'\n'"$state_a"$'\n'"$state_b" 15
short "$vip_b" 20 "$tmp/b2.out"
expect_answers "restart: B again" "$tmp/b2.out" 20 4
hold_check "restart: held flows after the restart"
expect_acked "restart"

echo "---- remove: service A"
kill -TERM "$hold_pid" 2>/dev/null
wait "$hold_pid" 2>/dev/null
hold_pid=""
xds_remove listener l-a cluster c-a endpoint c-a listener l-u cluster c-u endpoint c-u
expect_services "remove: only B left" "$state_b" 10
expect_silent "remove: A" "$vip_a"
udp_queries "$tmp/gone-udp.out"
if grep -qE 'pod[0-9]' "$tmp/gone-udp.out"; then
  fail "remove: A:53/udp still answers: $(grep -cE 'pod[0-9]' "$tmp/gone-udp.out") of 30"
else
  pass "remove: A:53/udp answers no query"
fi
expect_acked "remove"

echo "---- SIGTERM"
if sluiced_stop "$sluiced_pid" TERM 15 && ((sluiced_rc == 0)); then
  pass "sluiced exited 0"
else
  fail "sluiced exit $sluiced_rc on SIGTERM"
fi
sluiced_pid=""
echo "---- sluiced's xds lines"
grep -E 'xds' "$log" | head -n 60
if ((failures > 0)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
