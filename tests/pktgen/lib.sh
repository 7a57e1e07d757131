# shellcheck shell=bash
# shellcheck disable=SC2154 # tmp, prefix, sluiced: set by the caller; sluiced_rc: by sluiced_stop
# Shared by the pktgen-over-memif tests: sluiced with two memif server ports
# and one worker, a three-endpoint fullnat service, and the common verdict
# and cleanup helpers. Source after tests/netns/lib.sh; callers set `prefix`
# (DPDK --file-prefix stem, unique per run) and `tmp` (a directory of their
# own) first.
#
#   pktgen client --memif-- p0 [sluiced] p1 --memif-- pktgen pod
#   192.168.N.2     192.168.N.1  10.N.0.1          10.N.0.11-13
#   fd00:N::2       fd00:N::1    fd00:N:1::1       fd00:N:1::11-13
#
# sluiced knows the client's and the pods' IPv4 MACs as static neighbors; it
# finds IPv6 neighbors by solicitation, as the client finds sluiced's MACs
# (ARP, solicitation).

failures=0
sluiced_pid=""
pod_pid=""

fail() {
  echo "FAIL: $*"
  ((failures += 1))
}
pass() { echo "ok: $*"; }

pg_cleanup() {
  trap - EXIT INT TERM
  [[ -z $pod_pid ]] || kill -KILL "$pod_pid" 2>/dev/null
  [[ -z $sluiced_pid ]] || sluiced_stop "$sluiced_pid" TERM 5
  rm -rf "$tmp" "/var/run/dpdk/$prefix-"*
}

# memif devargs: a unix socket in $tmp (not the abstract namespace, so
# nothing outlives the test), 4096-slot rings to ride out scheduling stalls.
memif() { echo "net_memif$1,role=$2,socket=$tmp/$3.sock,socket-abstract=no,rsize=12,mac=$4"; }

# pg_network N MACBYTE: sets endpoints (10.N.0.11-13), endpoints6
# (fd00:N:1::11-13), sluiced_mac, client_mac and pod_mac (02:MACBYTE:...) for
# subnet number N.
pg_network() {
  net=$1
  endpoints=("10.$net.0.11" "10.$net.0.12" "10.$net.0.13")
  endpoints6=("fd00:$net:1::11" "fd00:$net:1::12" "fd00:$net:1::13")
  sluiced_mac=02:$2:00:00:00:01
  sluiced_pod_mac=02:$2:00:00:01:01
  client_mac=02:$2:00:00:00:02
  pod_mac=02:$2:00:00:01:02
}

# pg_start_sluiced PROTO VIP PORT TARGET_PORT [VIP6]: writes
# $tmp/sluiced.conf (after pg_network) with the service on VIP (endpoints)
# and, given VIP6, the same on VIP6 (endpoints6), and starts sluiced; exits
# the test when it does not come up.
pg_start_sluiced() {
  local service6=""
  if (($# > 4)); then
    service6=",
  {
    vip = \"$5\"; port = $3; protocol = \"$1\"; mode = \"fullnat\";
    endpoints = (
      { address = \"${endpoints6[0]}\"; port = $4; },
      { address = \"${endpoints6[1]}\"; port = $4; },
      { address = \"${endpoints6[2]}\"; port = $4; }
    );
  }"
  fi
  cat >"$tmp/sluiced.conf" <<EOF
log_level = "info";
eal = {
  args = [ "--no-huge", "-m", "256", "--file-prefix", "$prefix-lb", "--no-telemetry" ];
  main_lcore = 0;
  main_cpu = 0;
};
idle = {
  policy = "backoff";
};
mbufs = 8191;
ports = (
  { name = "p0"; device = "$(memif 0 server p0 "$sluiced_mac")"; rx_queues = 1; },
  { name = "p1"; device = "$(memif 1 server p1 "$sluiced_pod_mac")"; rx_queues = 1; }
);
workers = (
  { lcore = 1; cpu = 1; rx = ( { port = "p0"; queue = 0; }, { port = "p1"; queue = 0; } ); }
);
addresses = (
  { port = "p0"; address = "192.168.$net.1/24"; },
  { port = "p0"; address = "fd00:$net::1/64"; },
  { port = "p1"; address = "10.$net.0.1/24"; },
  { port = "p1"; address = "fd00:$net:1::1/64"; }
);
neighbors = (
  { port = "p0"; address = "192.168.$net.2"; mac = "$client_mac"; },
  { port = "p1"; address = "${endpoints[0]}"; mac = "$pod_mac"; },
  { port = "p1"; address = "${endpoints[1]}"; mac = "$pod_mac"; },
  { port = "p1"; address = "${endpoints[2]}"; mac = "$pod_mac"; }
);
snat = [ "10.$net.0.1", "fd00:$net:1::1" ];
services = (
  {
    vip = "$2"; port = $3; protocol = "$1"; mode = "fullnat";
    endpoints = (
      { address = "${endpoints[0]}"; port = $4; },
      { address = "${endpoints[1]}"; port = $4; },
      { address = "${endpoints[2]}"; port = $4; }
    );
  }$service6
);
EOF
  "$sluiced" --config "$tmp/sluiced.conf" >"$tmp/sluiced.log" 2>&1 &
  sluiced_pid=$!
  if ! sluiced_wait_line "$tmp/sluiced.log" '^sluiced: running' "$sluiced_pid" 30; then
    echo "FAIL: sluiced did not start; its output:"
    cat "$tmp/sluiced.log"
    exit 1
  fi
  pass "sluiced running with two memif server ports"
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
