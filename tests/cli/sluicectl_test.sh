#!/usr/bin/env bash
# sluicectl against a running sluiced (two memif server ports, one worker,
# idle back-off) with its admin API on a unix socket in a temp dir:
#
#   pktgen client --memif-- p0 [sluiced A] p1 --memif-- pktgen pod
#   192.168.84.2             VIP 10.99.84.10:53/udp -> 10.84.0.11-13:5353
#
# Checks real output, tables and --json (read with jq): service list/get,
# add/del, endpoint add/set/del and the table values after each; the
# server's status code and message on stderr with exit 1 (INVALID_ARGUMENT
# naming endpoints[2].port, nothing half-applied; ALREADY_EXISTS; NOT_FOUND),
# usage errors exit 2, an absent socket exits 3, a silent one 4. With
# traffic from sluice-pktgen: stats (per-service and per-endpoint counts
# equal to what the client sent and got back, conntrack occupancy) and
# flows with each filter and the limit. reload (an added config service,
# API services kept, a broken file refused), check (valid, invalid with
# FILE:LINE, --server-path), and dump: its text, put in place of a config's
# services, passes sluiced --check and ValidateConfig and, run by a second
# sluiced (B), gives the same services as A. B serves TLS on TCP too, which
# sluicectl reaches with --tcp and --ca.
#
# Usage: sluicectl_test.sh SLUICED SLUICECTL PKTGEN. Needs root (DPDK);
# exits 77 otherwise.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/pktgen/lib.sh
source "$here/../pktgen/lib.sh"
skip_unless_root "for DPDK"
sluiced=${1:?usage: sluicectl_test.sh SLUICED SLUICECTL PKTGEN}
ctl=${2:?usage: sluicectl_test.sh SLUICED SLUICECTL PKTGEN}
pktgen=${3:?usage: sluicectl_test.sh SLUICED SLUICECTL PKTGEN}
need_executables "$sluiced" "$ctl" "$pktgen"
command -v jq >/dev/null || {
  echo "FAIL: jq is not installed (tools/install-deps)"
  exit 1
}

vip=10.99.84.10
api_vip=10.99.84.20
flows=150
prefix=sluice-ctl$$
tmp=$(mktemp -d /tmp/sluice-ctl.XXXXXX)
pg_network 84 5f
b_pid=""
hang_pid=""
cleanup() {
  [[ -z $hang_pid ]] || kill "$hang_pid" 2>/dev/null
  [[ -z $b_pid ]] || sluiced_stop "$b_pid" TERM 5
  pg_cleanup
}
trap cleanup EXIT
trap 'exit 1' INT TERM

socket=$tmp/admin.sock
# ctl ARGS...: sluicectl on A's socket, bounded; leaves $rc, $tmp/out, $tmp/err.
ctl() {
  timeout 30 "$ctl" --socket "$socket" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
}
# expect RC WHAT: fails unless the last ctl exited RC.
expect() {
  if ((rc == $1)); then
    return 0
  fi
  fail "$2: exit $rc, not $1; stderr: $(cat "$tmp/err")"
  return 1
}
# expect_err RC MESSAGE WHAT: exit RC and stderr exactly MESSAGE.
expect_err() {
  if ((rc == $1)) && [[ $(cat "$tmp/err") == "$2" ]]; then
    pass "$3: exit $rc, $(cat "$tmp/err")"
  else
    fail "$3: exit $rc (want $1), stderr '$(cat "$tmp/err")', want '$2'"
  fi
}
# same WHAT GOT WANT
same() {
  if [[ $2 == "$3" ]]; then
    pass "$1: $2"
  else
    fail "$1: got '$2', want '$3'"
  fi
}
# cell FILE KEY COLUMN: in a table, the cell under header COLUMN (the first
# line with that word is the header) of the row whose first cell is KEY.
cell() {
  awk -v key="$2" -v col="$3" '!c { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
    $1 == key { print $c; exit }' "$1"
}
header() { head -n 1 "$1" | tr -s ' '; }

# A's config: pg_sluiced_conf's, and the admin group.
a_conf() {
  pg_sluiced_conf fullnat udp "$vip" 53 5353 "$@"
  echo "admin = { socket = \"$socket\"; };"
}
a_conf >"$tmp/sluiced.conf"
sluiced_start "$tmp/sluiced.log" 30 "$sluiced" --config "$tmp/sluiced.conf" || exit 1
pass "sluiced A running, $(grep -o 'admin API on .*' "$tmp/sluiced.log")"

# --- services: list and get ------------------------------------------------
ctl service list
expect 0 "service list" && {
  same "service list header" "$(header "$tmp/out")" "SERVICE MODE ALGORITHM AFFINITY ENDPOINTS READY SOURCE"
  same "service list row" "$(grep -F "$vip:53/udp" "$tmp/out" | tr -s ' ')" \
    "$vip:53/udp fullnat maglev none 3 3 config"
}
ctl service list --json
expect 0 "service list --json" &&
  same "service list --json" "$(jq -c '[.services[] | [.vip, .port, .protocol, .source,
    (.endpoints | map(.address + ":" + (.port | tostring) + "/" + (.weight | tostring) + "/" + .state))]]' "$tmp/out")" \
    "[[\"$vip\",53,\"udp\",\"config\",[\"${endpoints[0]}:5353/1/ready\",\"${endpoints[1]}:5353/1/ready\",\"${endpoints[2]}:5353/1/ready\"]]]"

# --- add, replace, endpoint add/set/del ------------------------------------
api=$api_vip:80/tcp
ctl service add "$api" "${endpoints[0]}:8080" "${endpoints[1]}:8080,weight=3" --mode dnat \
  --affinity client-ip --affinity-timeout 600
expect 0 "service add" &&
  same "service add output" "$(sed 's/published in [0-9.]* ms/published in T ms/' "$tmp/out")" \
    "created $api: 2 endpoints, 2 ready; published in T ms"
ctl service list
same "service list after add" "$(grep -F "$api" "$tmp/out" | tr -s ' ')" \
  "$api dnat maglev client-ip/600s 2 2 api"
ctl service add "$api" "${endpoints[2]}:8080"
expect_err 1 "sluicectl: ALREADY_EXISTS: service $api already exists (source api)" "service add on a taken key"
ctl service add "$api" "${endpoints[0]}:8080" "${endpoints[1]}:8080,weight=3" --replace
expect 0 "service add --replace" &&
  same "service add --replace" "$(cut -d: -f1-2 "$tmp/out")" "updated $api_vip:80/tcp"
ctl service get "$api" --json
same "--replace set every setting: mode, affinity back to defaults" \
  "$(jq -c '[.mode, .affinity, .affinity_timeout, .source, [.endpoints[].weight]]' "$tmp/out")" \
  '["fullnat","none",null,"api",[1,3]]'

ctl endpoint add "$api" "${endpoints[2]}:8080" --weight 2 --state terminating
expect 0 "endpoint add" &&
  same "endpoint add output" "$(cut -d';' -f1 "$tmp/out")" "updated $api: 3 endpoints, 2 ready"
ctl service get "$api"
same "service get endpoint row after add" "$(grep -F "${endpoints[2]}:8080" "$tmp/out" | tr -s ' ')" \
  "${endpoints[2]}:8080 2 terminating"
same "service get header" "$(grep ENDPOINT "$tmp/out" | tr -s ' ')" "ENDPOINT WEIGHT STATE"
ctl endpoint set "$api" "${endpoints[2]}:8080" --weight 7 --state ready
ctl service get "$api"
same "endpoint set --weight 7 --state ready" "$(cell "$tmp/out" "${endpoints[2]}:8080" WEIGHT)/$(cell "$tmp/out" "${endpoints[2]}:8080" STATE)" \
  "7/ready"
ctl endpoint set "$api" "${endpoints[0]}:8080" --state unhealthy
ctl service list
same "READY after endpoint set --state unhealthy" "$(grep -F "$api" "$tmp/out" | tr -s ' ' | cut -d' ' -f5-6)" "3 2"
ctl endpoint del "$api" "${endpoints[1]}:8080" --json
same "endpoint del --json" "$(jq -c '[.result, [.service.endpoints[].address]]' "$tmp/out")" \
  "[\"updated\",[\"${endpoints[0]}\",\"${endpoints[2]}\"]]"
ctl endpoint del "$api" "${endpoints[1]}:8080"
expect_err 1 "sluicectl: NOT_FOUND: endpoint ${endpoints[1]}:8080 is not in service $api" "endpoint del twice"
ctl endpoint set "$api" "${endpoints[2]}:8080" --weight 0
expect 1 "endpoint set --weight 0" && same "weight 0 refused, field named" "$(cut -d: -f1-3 "$tmp/err")" \
  "sluicectl: INVALID_ARGUMENT: weight"

# A refused service changes nothing.
bad=$api_vip:81/tcp
ctl service add "$bad" "${endpoints[0]}:8080" "${endpoints[1]}:8080" "${endpoints[2]}:0"
expect_err 1 "sluicectl: INVALID_ARGUMENT: endpoints[2].port: 0 is not a valid port" "endpoint port 0"
ctl service get "$bad"
expect_err 1 "sluicectl: NOT_FOUND: service $bad does not exist" "refused service not half-applied"
ctl service add "$bad" "10.84.0.x:8080"
expect 1 "bad endpoint address" && same "bad address names the field" "$(cat "$tmp/err")" \
  "sluicectl: INVALID_ARGUMENT: endpoints[0].address: '10.84.0.x' is not an IP address"

ctl service add "$api_vip:82/udp"
ctl service del "$api_vip:82/udp"
expect 0 "service del" && same "service del output" "$(cut -d';' -f1 "$tmp/out")" \
  "deleted $api_vip:82/udp: 0 endpoints, 0 ready"
ctl service del "$api_vip:82/udp"
expect_err 1 "sluicectl: NOT_FOUND: service $api_vip:82/udp does not exist" "service del twice"
ctl service list --source api --json
same "service list --source api" "$(jq -c '[.services[] | .vip + ":" + (.port | tostring)]' "$tmp/out")" \
  "[\"$api_vip:80\"]"

# --- traffic, stats, flows -------------------------------------------------
pg_start_pod "$tmp/pod.log" "$tmp/pod.json" "$(memif 0 client p1 "$pod_mac")" \
  "$(pg_endpoints "${endpoints[@]}")" --pod-id 4 || exit 1
# shellcheck disable=SC2046 # the EAL arguments are words
run_bounded 60 "$tmp/client.log" "$pktgen" $(pg_eal client 1) --vdev "$(memif 0 client p0 "$client_mac")" -- \
  --role client --src "$client_addr" --sport 20000-29999 --dst "$vip:53" --flows $flows \
  --rate 1500 --duration 1 --gateway 192.168.84.1 --idle-sleep-us 20 --json "$tmp/client.json"
pg_client_summary "the client" "$tmp/client.log" "$tmp/client.json" >/dev/null || exit 1
sent=$(jq .sent "$tmp/client.json")
received=$(jq .received "$tmp/client.json")
pass "client: $flows flows, $sent datagrams sent, $received answered"

ctl stats --json
if expect 0 "stats --json"; then
  cp "$tmp/out" "$tmp/stats.json"
  same "stats: worker lcores" "$(jq -c '[.workers[].lcore]' "$tmp/stats.json")" "[1]"
  same "stats: services" "$(jq .services "$tmp/stats.json")" 2
  same "stats: ports" "$(jq -c '[.ports[].name]' "$tmp/stats.json")" '["p0","p1"]'
  rx=$(jq '.workers[0].rx_packets' "$tmp/stats.json")
  ((rx >= sent + received)) && pass "stats: worker rx $rx >= $sent + $received" ||
    fail "stats: worker rx $rx < $sent + $received"
  # The config's service, then the API's: add, replace, endpoint add, set,
  # set, del, add of :82 (7), and the deletion of :82.
  same "stats: publish upserts, removals, failures, +Inf bucket" \
    "$(jq -c '.publish | [.upserts, .removals, .failures, .latency[-1].le_us, .latency[-1].count]' "$tmp/stats.json")" \
    "[8,1,0,0,9]"
  svc=".service_stats[] | select(.service.vip == \"$vip\" and .service.port == 53)"
  same "stats: $vip:53/udp traffic" \
    "$(jq -c "$svc | .traffic | [.new_flows, .active_flows, .in_packets, .out_packets]" "$tmp/stats.json")" \
    "[$flows,$flows,$sent,$received]"
  same "stats: endpoints sum to the service" \
    "$(jq -c "$svc | [([.endpoints[].traffic.new_flows] | add), ([.endpoints[].traffic.in_packets] | add), ([.endpoints[].counted] | all)]" "$tmp/stats.json")" \
    "[$flows,$sent,true]"
  same "stats: conntrack flows and capacity" \
    "$(jq -c '[.workers[0].conntrack.flows, .workers[0].conntrack.capacity > 0]' "$tmp/stats.json")" "[$flows,true]"
fi
ctl stats
if expect 0 "stats"; then
  cp "$tmp/out" "$tmp/stats.txt"
  sed 's/^/  | /' "$tmp/stats.txt"
  same "stats: publish line" "$(grep '^publish:' "$tmp/stats.txt" | cut -d, -f1-3)" \
    "publish: 8 upserts, 1 removals, 0 failures"
  same "stats: worker header" "$(grep '^WORKER  RX' "$tmp/stats.txt" | tr -s ' ')" \
    "WORKER RX_PKTS TX_PKTS DROPS BUSY FLOWS HALF_OPEN CAPACITY USED"
  same "stats: ipvsadm header" "$(grep '^Prot' "$tmp/stats.txt" | tr -s ' ')" \
    "Prot LocalAddress:Port Conns Active InPkts OutPkts InBytes OutBytes"
  same "stats: service row" "$(grep "^UDP  $vip:53 " "$tmp/stats.txt" | tr -s ' ' | cut -d' ' -f1-6)" \
    "UDP $vip:53 $flows $flows $sent $received"
  same "stats: worker row flows" "$(cell "$tmp/stats.txt" 1 FLOWS)" "$flows"
  ep0_flows=$(jq "$svc | .endpoints[] | select(.address == \"${endpoints[0]}\") | .traffic.new_flows" "$tmp/stats.json")
  same "stats: endpoint row" "$(grep -F -- "-> ${endpoints[0]}:5353 " "$tmp/stats.txt" | tr -s ' ' | cut -d' ' -f4-5)" \
    "$ep0_flows $ep0_flows"
fi

ctl flows --vip "$vip" --port 53 --proto udp --limit 1000 --json
if expect 0 "flows --json"; then
  same "flows: all of them, not truncated" "$(jq -c '[(.flows | length), .truncated]' "$tmp/out")" "[$flows,false]"
  same "flows: each to the VIP from the client, UDP" \
    "$(jq -c "[.flows[] | select(.vip == \"$vip:53\" and (.client | startswith(\"$client_addr:\")) and .protocol == \"udp\" and .state == \"udp\")] | length" "$tmp/out")" \
    "$flows"
  ctl flows --endpoint "${endpoints[0]}" --limit 1000 --json
  same "flows --endpoint" "$(jq -c "[(.flows | length), ([.flows[].endpoint | startswith(\"${endpoints[0]}:\")] | all)]" "$tmp/out")" \
    "[${ep0_flows:-?},true]"
  ctl flows --limit 5 --json
  same "flows --limit 5" "$(jq -c '[(.flows | length), .truncated]' "$tmp/out")" "[5,true]"
  ctl flows --client 192.168.84.99 --json
  same "flows --client (nobody)" "$(jq -c '.flows | length' "$tmp/out")" 0
  ctl flows --client "$client_addr" --limit 3
  sed 's/^/  | /' "$tmp/out"
  same "flows table header" "$(header "$tmp/out")" "WORKER PROTO CLIENT VIP ENDPOINT SNAT STATE EXPIRES_S"
  same "flows table rows, truncated note" "$(($(wc -l <"$tmp/out") - 1)) $(cat "$tmp/err")" \
    "3 sluicectl: 3 flows shown, more matched; see --limit (at most 10000)"
fi
ctl flows --limit 20000
expect_err 2 "sluicectl: --limit: Value 20000 not in range 1 to 10000
Run sluicectl --help for usage." "flows --limit 20000"
ctl flows --vip 10.99.84.x
expect_err 1 "sluicectl: INVALID_ARGUMENT: service.vip: '10.99.84.x' is not an IP address" "flows --vip bad"

# --- reload ----------------------------------------------------------------
a_conf fd00:99:84::10 >"$tmp/sluiced.conf"
ctl reload
expect 0 "reload" && same "reload output" "$(cat "$tmp/out")" \
  "reloaded $tmp/sluiced.conf: 1 added, 0 changed, 0 removed, 1 unchanged"
ctl service list --json
same "after reload: config services added, the API's kept" \
  "$(jq -c '[.services[] | .vip + "/" + .source]' "$tmp/out")" \
  "[\"$vip/config\",\"$api_vip/api\",\"fd00:99:84::10/config\"]"
sed 's/port = 5353; }/port = 0; }/' "$tmp/sluiced.conf" >"$tmp/broken.conf"
cp "$tmp/sluiced.conf" "$tmp/good.conf"
cp "$tmp/broken.conf" "$tmp/sluiced.conf"
ctl reload
expect 1 "reload of a broken file" && same "reload refused" "$(head -n 1 "$tmp/err")" \
  "sluicectl: FAILED_PRECONDITION: reload refused, running services kept:"
cp "$tmp/good.conf" "$tmp/sluiced.conf"

# --- check -----------------------------------------------------------------
ctl check "$tmp/good.conf"
expect 0 "check" && same "check output" "$(cat "$tmp/out")" "$tmp/good.conf: valid: 2 ports, 1 workers, 2 services"
ctl check "$tmp/broken.conf"
line=$(grep -n 'port = 0; }' "$tmp/broken.conf" | head -n 1 | cut -d: -f1)
expect 1 "check of a broken file" && {
  grep -qF "$tmp/broken.conf:$line" "$tmp/err" && grep -qF 'port' "$tmp/err" &&
    pass "check names FILE:LINE: $(grep -F "$tmp/broken.conf:$line" "$tmp/err" | head -n 1)" ||
    fail "check does not name $tmp/broken.conf:$line: $(cat "$tmp/err")"
}
ctl check --server-path "$tmp/good.conf" --json
same "check --server-path --json" "$(jq -c '[.ports, .workers, .services, .restart_required]' "$tmp/out")" "[2,1,2,[]]"
ctl check "$tmp/none.conf"
expect 2 "check of a missing file" && same "check of a missing file" "$(cat "$tmp/err")" \
  "sluicectl: $tmp/none.conf: No such file or directory"

# --- dump, and the round trip through a second sluiced ---------------------
ctl dump
cp "$tmp/out" "$tmp/dump.txt"
expect 0 "dump" && same "dump: header and services" \
  "$(head -n 2 "$tmp/dump.txt"; grep -c '^    vip = ' "$tmp/dump.txt")" \
  "# 3 services from sluiced at unix:$socket
services = (
3"
ctl service list --json
jq -c '[.services[] | del(.source)]' "$tmp/out" >"$tmp/a_services.json"

mkdir -p "$tmp/b/tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=sluiced-test -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$tmp/b/tls/server.key" -out "$tmp/b/tls/server.pem" 2>"$tmp/openssl.log" ||
  fail "openssl: $(cat "$tmp/openssl.log")"
# B: A's ports and addresses on sockets of its own, the dump as its services.
(
  tmp=$tmp/b prefix=$prefix-b
  pg_sluiced_conf fullnat udp "$vip" 53 5353 | sed '/^services = (/,$d'
  echo "admin = { socket = \"$tmp/admin.sock\"; tcp = \"127.0.0.1:0\";"
  echo "  tls = { cert = \"$tmp/tls/server.pem\"; key = \"$tmp/tls/server.key\"; }; };"
  cat "$tmp/../dump.txt"
) >"$tmp/b/sluiced.conf"
if timeout 20 "$sluiced" --check --config "$tmp/b/sluiced.conf" >"$tmp/out" 2>"$tmp/err"; then
  pass "sluiced --check accepts a config with the dump as its services"
else
  fail "sluiced --check refuses the dump: $(cat "$tmp/err")"
fi
ctl check "$tmp/b/sluiced.conf"
expect 0 "ValidateConfig of the dump" && pass "ValidateConfig: $(cat "$tmp/out")"
"$sluiced" --config "$tmp/b/sluiced.conf" >"$tmp/b.log" 2>&1 &
b_pid=$!
if sluiced_wait_line "$tmp/b.log" '^sluiced: running' "$b_pid" 30; then
  timeout 30 "$ctl" --socket "$tmp/b/admin.sock" service list --json >"$tmp/out" 2>"$tmp/err"
  jq -c '[.services[] | del(.source)]' "$tmp/out" >"$tmp/b_services.json"
  if cmp -s "$tmp/a_services.json" "$tmp/b_services.json"; then
    pass "dump round trip: B runs A's $(jq length "$tmp/b_services.json") services, every setting equal"
  else
    fail "dump round trip: A $(cat "$tmp/a_services.json") B $(cat "$tmp/b_services.json")"
  fi
  same "B's services are all config-sourced" "$(jq -c '[.services[].source] | unique' "$tmp/out")" '["config"]'

  tls_port=$(grep -o 'and TLS port [0-9]*' "$tmp/b.log" | grep -o '[0-9]*$')
  timeout 30 "$ctl" --tcp "127.0.0.1:$tls_port" --ca "$tmp/b/tls/server.pem" service list \
    >"$tmp/out" 2>"$tmp/err"
  rc=$?
  expect 0 "--tcp with --ca" && same "TLS: the service list over TCP" "$(grep -c '/' "$tmp/out")" 3
  timeout 30 "$ctl" --tcp "127.0.0.1:$tls_port" --timeout 3 service list >"$tmp/out" 2>"$tmp/err"
  rc=$?
  expect 3 "TLS without the server's CA" && pass "TLS refused without --ca: $(cut -c1-80 "$tmp/err")"
  sluiced_stop "$b_pid" TERM 10
  b_pid=""
  ((sluiced_rc == 0)) && pass "sluiced B exited 0" || fail "sluiced B exited $sluiced_rc"
else
  fail "sluiced B did not start: $(cat "$tmp/b.log")"
fi

# --- usage errors, unreachable, timeout ------------------------------------
ctl service get 10.99.84.1:80
expect_err 2 "sluicectl: service '10.99.84.1:80' is not VIP:PORT/PROTOCOL, e.g. 10.96.0.10:80/tcp" "key without protocol"
ctl service get fd00::1:80/tcp
expect_err 2 "sluicectl: service 'fd00::1:80': write an IPv6 address in brackets, [fd00::1]:80" "IPv6 key without brackets"
ctl endpoint set "$api" "${endpoints[0]}:8080"
expect_err 2 "sluicectl: endpoint set: give --weight, --state or both" "endpoint set without a change"
ctl endpoint set "$api" "${endpoints[0]}:8080" --state sleepy
expect_err 2 "sluicectl: --state: 'sleepy' is not one of ready, terminating, unhealthy" "bad state"
ctl frobnicate
expect 2 "unknown command" && pass "unknown command: exit 2, $(head -n 1 "$tmp/err")"
ctl --socket "$tmp/none.sock" service list
expect 3 "absent socket" && same "absent socket" "$(cut -d: -f1-4 "$tmp/err")" \
  "sluicectl: UNAVAILABLE: no answer from sluiced at unix:$tmp/none.sock"
# A socket that accepts and never answers.
"$topo_python" -c 'import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(8); time.sleep(30)' "$tmp/hang.sock" &
hang_pid=$!
for _ in $(seq 50); do [[ -S $tmp/hang.sock ]] && break; sleep 0.1; done
ctl --socket "$tmp/hang.sock" --timeout 1 stats
expect 4 "silent socket" && same "silent socket" "$(cut -d: -f1-2 "$tmp/err")" "sluicectl: DEADLINE_EXCEEDED"
kill "$hang_pid" 2>/dev/null
hang_pid=""

pg_finish
