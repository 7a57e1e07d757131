#!/usr/bin/env bash
# A real Linux host pings sluiced. The host lives in its own network
# namespace, joined by a veth pair to sluiced's net_af_packet port:
#
#   sluiced --(net_af_packet)-- sltPIDg ==veth== eth0 [netns sluice-tPID]
#   192.168.78.1, fd78::1                        192.168.78.2, fd78::2
#
# Checks: the host's ping and ping -6 to Sluice's addresses are answered, its
# neighbor table holds Sluice's MAC for both, an address Sluice does not own
# stays silent, and sluiced stops cleanly on SIGTERM with counters that
# match what happened.
#
# Usage: ping_test.sh SLUICED. Needs root; exits 77 (skip) otherwise.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# For skip_unless_root, need_executables, fail and pass.
# shellcheck source=tests/netns/lib.sh
source "$here/lib.sh"
skip_unless_root "to create network namespaces"
sluiced=${1:?usage: ping_test.sh SLUICED}
need_executables "$sluiced"

ns=sluice-t$$
gw_if=slt$$g # <= 15 characters for any pid
sluice_v4=192.168.78.1 sluice_v6=fd78::1
stranger_v4=192.168.78.3 stranger_v6=fd78::3
prefix=sluice-netns-$$
tmp=$(mktemp -d /tmp/sluice-netns.XXXXXX)
log=$tmp/sluiced.log
sluiced_pid=""

# Waits up to $1 seconds for process $2 to exit; true if it did.
wait_exit() {
  local deadline=$((SECONDS + $1))
  while kill -0 "$2" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# The links go first: on a timeout meson sends SIGTERM to the whole process
# group and SIGKILL half a second later.
cleanup() {
  trap - EXIT INT TERM
  ip link del "$gw_if" 2>/dev/null
  ip netns del "$ns" 2>/dev/null
  if [[ -n $sluiced_pid ]]; then
    kill -TERM "$sluiced_pid" 2>/dev/null
    wait_exit 5 "$sluiced_pid" || kill -KILL "$sluiced_pid" 2>/dev/null
    wait "$sluiced_pid" 2>/dev/null
  fi
  rm -rf "$tmp" "/var/run/dpdk/$prefix"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# A run killed before its cleanup (meson's timeout ends with SIGKILL) leaves
# its namespace; deleting it also deletes its veth pair.
for stale in $(ip netns list | awk '$1 ~ /^sluice-t[0-9]+$/ {print $1}'); do
  if ! kill -0 "${stale#sluice-t}" 2>/dev/null; then
    ip netns del "$stale"
    rm -rf "/var/run/dpdk/sluice-netns-${stale#sluice-t}"
  fi
done

set -e
ip netns add "$ns"
ip link add "$gw_if" type veth peer name eth0 netns "$ns"
# The host kernel sees the frames on sluiced's side too: keep it silent there.
sysctl -qw "net.ipv6.conf.$gw_if.disable_ipv6=1" "net.ipv4.conf.$gw_if.forwarding=0"
ip link set "$gw_if" up
ip -n "$ns" link set lo up
ip -n "$ns" addr add 192.168.78.2/24 dev eth0
ip -n "$ns" addr add fd78::2/64 dev eth0 nodad
ip -n "$ns" link set eth0 up
set +e

cat >"$tmp/netns.conf" <<EOF
log_level = "info";
eal = {
  args = [ "--no-huge", "-m", "256", "--file-prefix", "$prefix", "--no-telemetry" ];
  main_lcore = 0;
};
idle = {
  policy = "backoff";
};
mbufs = 4095;
ports = (
  { name = "p0"; device = "net_af_packet0,iface=$gw_if,qpairs=1"; rx_queues = 1; }
);
workers = (
  { lcore = 1; cpu = 1; rx = ( { port = "p0"; queue = 0; } ); }
);
addresses = (
  { port = "p0"; address = "$sluice_v4/24"; },
  { port = "p0"; address = "$sluice_v6/64"; }
);
EOF

: >"$log"
"$sluiced" --config "$tmp/netns.conf" >>"$log" 2>&1 &
sluiced_pid=$!

deadline=$((SECONDS + 30))
until grep -q '^sluiced: running' "$log"; do
  if ! kill -0 "$sluiced_pid" 2>/dev/null || ((SECONDS >= deadline)); then
    echo "FAIL: sluiced did not report 'sluiced: running' within 30 s; its output:"
    cat "$log"
    exit 1
  fi
  sleep 0.2
done
pass "sluiced running"

mac=$(sed -n 's/^port p0: mac \([0-9A-Fa-f:]\{17\}\).*/\1/p' "$log" | head -n 1)
mac=${mac,,}
veth_mac=$(cat "/sys/class/net/$gw_if/address")
if [[ -z $mac ]]; then
  fail "sluiced printed no 'port p0: mac ...' line"
elif [[ $mac != "$veth_mac" ]]; then
  fail "sluiced says port p0 has mac $mac but net_af_packet's veth has $veth_mac"
else
  pass "port p0: mac $mac"
fi

# Runs a command in the namespace, bounded to 10 s, so the whole test stays
# well inside meson's 120 s (30 s start, 6 pings, 15 s stop). Its output goes
# to $out and its status to $rc. In the background with `wait`, because a
# signal interrupts `wait` at once but not a foreground command.
in_ns() {
  timeout 10 ip netns exec "$ns" "$@" >"$tmp/in_ns.out" 2>&1 &
  wait $!
  rc=$?
  out=$(cat "$tmp/in_ns.out")
}

# Every echo request must be answered (3 of 3).
for target in "$sluice_v4" "$sluice_v6"; do
  in_ns ping -c 3 -W 2 "$target"
  if ((rc == 0)) && grep -q ' 3 received' <<<"$out"; then
    pass "ping $target: 3 of 3 answered"
  else
    fail "ping $target (exit $rc):"$'\n'"$out"
  fi
done

for target in "$sluice_v4" "$sluice_v6"; do
  entry=$(ip -n "$ns" neigh show "$target" dev eth0)
  learned=$(awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}' <<<"$entry")
  if [[ -n $mac && ${learned,,} == "$mac" ]]; then
    pass "ip neigh: $entry"
  else
    fail "ip neigh for $target is '$entry', expected lladdr $mac"
  fi
done

# Sluice must not answer ARP/ND for an address it does not own.
for target in "$stranger_v4" "$stranger_v6"; do
  in_ns ping -c 2 -W 1 "$target"
  if grep -q 'bytes from' <<<"$out"; then
    fail "ping $target, an address Sluice does not own, was answered:"$'\n'"$out"
  else
    pass "ping $target unanswered"
  fi
done

kill -TERM "$sluiced_pid"
if wait_exit 15 "$sluiced_pid"; then
  wait "$sluiced_pid"
  rc=$?
  sluiced_pid=""
  if ((rc == 0)); then
    pass "sluiced exited 0 on SIGTERM"
  else
    fail "sluiced exited $rc on SIGTERM"
  fi
else
  fail "sluiced still running 15 s after SIGTERM"
fi

# Final counters: lines like "worker 1: rx_packets=5 ... arp_replies=1 ...".
for counter in arp_replies nd_replies echo_replies arp_not_for_us; do
  if grep -Eq "^worker [0-9]+:.* $counter=[1-9][0-9]*( |$)" "$log"; then
    pass "$(grep -Eo "$counter=[0-9]+" "$log" | tail -n 1)"
  else
    fail "final counters show no $counter > 0"
  fi
done

echo "---- sluiced output"
cat "$log"
echo "----"
if ((failures > 0)); then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
