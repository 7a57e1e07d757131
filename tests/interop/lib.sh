# shellcheck shell=bash
# Helpers for the interop scenarios: the management server (server.js) and
# its control channel, Envoy resources in proto3 JSON, and questions to the
# server's request log. Source tests/netns/lib.sh first (fail, pass,
# sluiced_wait_line). Needs node, curl and jq.

interop_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
xds_pid=""
xds_port=0
xds_control=""
xds_log_file=""

# xds_start LOG [ARGS...]: starts server.js (ARGS: --port, --control-port,
# --state), output to LOG; sets xds_pid, xds_port and xds_control once it
# listens (at most 15 s).
xds_start() {
  local log=$1 deadline line
  shift
  xds_log_file=$log
  : >"$log"
  node "$interop_dir/server.js" "$@" >>"$log" 2>&1 &
  xds_pid=$!
  deadline=$((SECONDS + 15))
  until line=$(grep -m1 -E '^interop-xds: ads ' "$log"); do
    if ! kill -0 "$xds_pid" 2>/dev/null || ((SECONDS >= deadline)); then
      echo "management server did not start; its output:"
      cat "$log"
      return 1
    fi
    sleep 0.1
  done
  [[ $line =~ ads\ 127\.0\.0\.1:([0-9]+)\ control\ (127\.0\.0\.1:[0-9]+) ]] || return 1
  xds_port=${BASH_REMATCH[1]}
  xds_control=http://${BASH_REMATCH[2]}
}

# xds_kill: SIGKILL, as a crash: no stream is closed cleanly.
xds_kill() {
  [[ -z $xds_pid ]] && return 0
  kill -KILL "$xds_pid" 2>/dev/null
  wait "$xds_pid" 2>/dev/null
  xds_pid=""
}

# xds_call METHOD PATH [JSON]: the control channel; prints the answer, fails
# (printing the server's reason) unless it is 200.
xds_call() {
  local out code
  out=$(mktemp)
  code=$(curl -sS -m 10 -o "$out" -w '%{http_code}' -X "$1" --data-binary "${3:-}" "$xds_control$2")
  cat "$out"
  rm -f "$out"
  [[ $code == 200 ]] || {
    echo "xds_call $1 $2: HTTP $code" >&2
    return 1
  }
}

# xds_set TYPE JSON [TYPE JSON...]: sets resources (one update, pushed).
xds_set() {
  local items=()
  while (($# >= 2)); do
    items+=("$(jq -nc --arg t "$1" --argjson r "$2" '{type: $t, resource: $r}')")
    shift 2
  done
  xds_call POST /update "$(printf '%s\n' "${items[@]}" | jq -sc '{set: .}')" >/dev/null
}

# xds_remove TYPE NAME [TYPE NAME...]
xds_remove() {
  local items=()
  while (($# >= 2)); do
    items+=("$(jq -nc --arg t "$1" --arg n "$2" '{type: $t, name: $n}')")
    shift 2
  done
  xds_call POST /update "$(printf '%s\n' "${items[@]}" | jq -sc '{remove: .}')" >/dev/null
}

# xds_options JSON
xds_options() { xds_call POST /options "$1" >/dev/null; }

# xds_log FILE: the server's whole log, one entry per line.
xds_log() { xds_call GET /log | jq -c '.entries[]' >"$1"; }

# Resources ------------------------------------------------------------

# listener_json NAME VIP PORT CLUSTER [ADDRESS_OVERRIDE]: TCP, tcp_proxy.
listener_json() {
  jq -nc --arg n "$1" --arg vip "${5:-$2}" --argjson port "$3" --arg c "$4" '{
    name: $n,
    address: {socket_address: {address: $vip, port_value: $port, protocol: "TCP"}},
    filter_chains: [{filters: [{name: "envoy.filters.network.tcp_proxy", typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
      stat_prefix: $n, cluster: $c}}]}]}'
}

# udp_listener_json NAME VIP PORT CLUSTER: UDP, a udp_proxy listener filter.
udp_listener_json() {
  jq -nc --arg n "$1" --arg vip "$2" --argjson port "$3" --arg c "$4" '{
    name: $n,
    address: {socket_address: {address: $vip, port_value: $port, protocol: "UDP"}},
    listener_filters: [{name: "envoy.filters.udp_listener.udp_proxy", typed_config: {
      "@type": "type.googleapis.com/envoy.extensions.filters.udp.udp_proxy.v3.UdpProxyConfig",
      stat_prefix: $n, cluster: $c}}]}'
}

# cluster_json NAME [MAGLEV_TABLE_SIZE]: EDS over ADS, MAGLEV.
cluster_json() {
  jq -nc --arg n "$1" --arg size "${2:-}" '{
    name: $n, type: "EDS", eds_cluster_config: {eds_config: {ads: {}}}, lb_policy: "MAGLEV"}
    + (if $size == "" then {} else {maglev_lb_config: {table_size: ($size | tonumber)}} end)'
}

# cla_json NAME ENDPOINT...: ENDPOINT is ADDRESS:PORT or ADDRESS:PORT:HEALTH
# (HEALTHY by default).
cla_json() {
  local name=$1
  shift
  printf '%s\n' "$@" | jq -Rsc --arg n "$name" '{
    cluster_name: $n,
    endpoints: [{lb_endpoints: [split("\n")[] | select(. != "") | split(":") | {
      endpoint: {address: {socket_address: {address: .[0], port_value: (.[1] | tonumber)}}},
      health_status: (.[2] // "HEALTHY")}]}]}'
}

# Questions to the log --------------------------------------------------

# The type URLs' short names as server.js logs them.
xds_types=(listener cluster endpoint)

# acked_version LOG TYPE: the version of the last TYPE response that a
# later request ACKed (same nonce, no error_detail): SotW version_info, or
# for delta the response's resource versions as JSON. Empty if none.
acked_version() {
  jq -rs --arg t "$2" '
    [.[] | select(.type == $t)] as $e
    | ([$e[] | select(.dir == "req" and .error_detail == null) | "\(.stream)/\(.response_nonce)"]
       | INDEX(.)) as $acks
    | [$e[] | select(.dir == "resp" and $acks["\(.stream)/\(.nonce)"] != null)]
    | last // empty
    | if .proto == "sotw" then .version_info else (.resources | tojson) end' "$1"
}

# resume_state LOG TYPE: what the client should resume TYPE with on a new
# stream, from the last stream in LOG: SotW, the last ACKed version_info;
# delta, every resource sent and not removed, name -> version (sorted JSON),
# less those NACKed.
resume_state() {
  if [[ $mode == sotw ]]; then
    acked_version "$1" "$2"
    return
  fi
  jq -sc -S --arg t "$2" '
    [.[] | select(.type == $t and .proto == "delta")] as $e
    | ([$e[] | .stream] | max) as $s
    | [$e[] | select(.stream == $s)] as $e
    | ([$e[] | select(.dir == "req" and .error_detail != null) | .response_nonce] | INDEX(.)) as $nacked
    | reduce ($e[] | select(.dir == "resp")) as $r ({};
        if $nacked[$r.nonce] != null then .
        else (. + $r.resources | delpaths([$r.removed[] | [.]])) end)' "$1"
}

# wait_request TYPE SECONDS: waits for the first TYPE request in the
# server's log and prints it.
wait_request() {
  local deadline=$((SECONDS + $2)) first
  while ((SECONDS < deadline)); do
    xds_log "$tmp/xds.log"
    first=$(jq -c --arg t "$1" 'select(.type == $t and .dir == "req")' "$tmp/xds.log" | head -n 1)
    if [[ -n $first ]]; then
      echo "$first"
      return 0
    fi
    sleep 0.2
  done
  return 1
}

# nacks LOG TYPE [SINCE]: the NACKs of TYPE (from log entry SINCE on), one
# JSON line each: {version_info, message, nonce}.
nacks() {
  jq -c --arg t "$2" --argjson s "${3:-0}" 'select(.seq >= $s and .type == $t and .dir == "req" and .error_detail != null)
    | {version_info, message: (.error_detail.message // ""), nonce: .response_nonce}' "$1"
}

# wait_acked TYPE SECONDS: waits until the last TYPE response sent is ACKed;
# leaves the log in $tmp/xds.log.
wait_acked() {
  local deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    xds_log "$tmp/xds.log"
    if jq -es --arg t "$1" '
        [.[] | select(.type == $t)] as $e
        | ([$e[] | select(.dir == "resp")] | last) as $r
        | $r != null and any($e[]; .dir == "req" and .stream == $r.stream and .seq > $r.seq
                             and .response_nonce == $r.nonce and .error_detail == null)' \
      "$tmp/xds.log" >/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  return 1
}

# xds_log_next: the number the server's next log entry will have.
xds_log_next() { xds_call GET "/log?since=1000000000" | jq '.next'; }

# wait_nack TYPE SECONDS [SINCE]: waits for a TYPE NACK (from log entry
# SINCE on); leaves the log in $tmp/xds.log.
wait_nack() {
  local deadline=$((SECONDS + $2))
  while ((SECONDS < deadline)); do
    xds_log "$tmp/xds.log"
    [[ -n $(nacks "$tmp/xds.log" "$1" "${3:-0}") ]] && return 0
    sleep 0.2
  done
  return 1
}
