#!/usr/bin/env bash
# sluice-pktgen against sluiced over memif, the full round trip on one host:
#
#   pktgen client --memif-- p0 [sluiced, 1 worker] p1 --memif-- pktgen pod
#   192.168.81.2             192.168.81.1  10.81.0.1          10.81.0.11-13
#                VIP 10.98.0.10:53/udp fullnat -> 10.81.0.11-13:5353
#
# One pod process serves all three endpoint addresses and stamps each answer
# with the address it was reached at, so the client can tell them apart.
# sluiced knows the client and pod MACs as static neighbors; the client finds
# sluiced's MAC by ARP. Everything backs off when idle: the machine may have
# two cores for the three pollers.
#
# Checks: 600 flows at 10k pps for 3 s all answered (no loss, nothing
# unmatched, the offered rate reached), each endpoint within +-30% of an even
# share of flows (binomial at 600 over 3: the bounds lie 5 standard deviations
# out), no flow changed endpoint, the pod answered every datagram it got, and
# sluiced exits 0.
#
# Usage: memif_test.sh SLUICED PKTGEN. Needs root (DPDK); exits 77 otherwise.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/pktgen/lib.sh
source "$here/lib.sh"
skip_unless_root "for DPDK"
pg_executables memif_test.sh "$@"

rate=10000
duration=3
flows=600
vip=10.98.0.10
prefix=sluice-pg$$ # DPDK --file-prefix stem: -lb, -pod, -client
tmp=$(mktemp -d /tmp/sluice-pktgen.XXXXXX)
pg_network 81 5c
trap pg_cleanup EXIT
trap 'exit 1' INT TERM

pg_start_sluiced fullnat udp "$vip" 53 5353

pg_start_pod "$tmp/pod.log" "$tmp/pod.json" "$(memif 0 client p1 "$pod_mac")" \
  "$(pg_endpoints "${endpoints[@]}")" --pod-id 7 || exit 1
pass "pod connected"

# shellcheck disable=SC2046 # the EAL arguments are words
run_bounded 60 "$tmp/client.log" "$pktgen" $(pg_eal client 1) --vdev "$(memif 0 client p0 "$client_mac")" -- \
  --role client --src "$client_addr" --sport 10000-19999 --dst "$vip:53" --flows $flows \
  --rate $rate --duration $duration --gateway 192.168.81.1 --idle-sleep-us 20 \
  --json "$tmp/client.json"
if pg_client_summary "the client" "$tmp/client.log" "$tmp/client.json"; then
  # One line per verdict, "ok: ..." or "FAIL: ...".
  "$topo_python" - "$tmp/client.json" "$rate" "$duration" "$flows" "${endpoints[@]}" <<'EOF' >"$tmp/verdicts" || fail "summary check crashed"
import json, sys

path, rate, duration, flows, *endpoints = sys.argv[1:]
rate, duration, flows = int(rate), float(duration), int(flows)
s = json.load(open(path))

def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what)

expected = rate * duration
check(s["sent"] >= 0.95 * expected, f"sent {s['sent']} of {expected:.0f} offered")
check(s["lost"] == 0 and s["received"] == s["sent"],
      f"no loss: received {s['received']} of {s['sent']}")
check(s["unmatched"] == 0, f"unmatched {s['unmatched']}")
check(s["flows_answered"] == flows, f"{s['flows_answered']} of {flows} flows answered")
check(s["flows_moved"] == 0, f"{s['flows_moved']} flows changed endpoint")
by_address = {e["address"]: e for e in s["endpoints"]}
check(sorted(by_address) == sorted(endpoints) and all(e["pod"] == 7 for e in s["endpoints"]),
      f"answers from pod 7 at {sorted(by_address)}")
even = flows / len(endpoints)
for a in endpoints:
    n = by_address.get(a, {"flows": 0})["flows"]
    check(0.7 * even <= n <= 1.3 * even, f"{a}: {n} flows, even share {even:.0f} +-30%")
p = s["rtt_us"]
check(0 < p["p50"] <= p["p99"] <= p["p999"] <= p["max"],
      f"rtt p50 {p['p50']} <= p99 {p['p99']} <= p99.9 {p['p999']} us")
EOF
  count_verdicts "$tmp/verdicts"
fi

# The pod reports its totals on SIGTERM.
if sluiced_stop "$pod_pid" TERM 10 && ((sluiced_rc == 0)); then
  pod_pid=""
  echo "pod: $(cat "$tmp/pod.json")"
  "$topo_python" - "$tmp/pod.json" "$tmp/client.json" <<'EOF' >"$tmp/pod-verdicts" || fail "pod check crashed"
import json, sys
pod = json.load(open(sys.argv[1]))
client = json.load(open(sys.argv[2]))
ok = pod["answered"] == client["sent"] and pod["tx_failed"] == 0 and pod["ignored"] == 0
print(("ok: " if ok else "FAIL: ") +
      f"pod answered {pod['answered']} of the client's {client['sent']}, "
      f"ignored {pod['ignored']}, tx_failed {pod['tx_failed']}")
EOF
  count_verdicts "$tmp/pod-verdicts"
else
  pod_pid=""
  fail "the pod did not exit 0 on SIGTERM (status $sluiced_rc); its output:"
  cat "$tmp/pod.log"
fi

pg_finish
