#!/usr/bin/env bash
# sluice-pktgen TCP through sluiced over memif, client and pod in one
# pktgen process on one lcore (ports 0 and 1 are two net_memif vdevs):
#
#   pktgen client --memif-- p0 [sluiced, 1 worker] p1 --memif-- pktgen pod
#   192.168.82.2             192.168.82.1  10.82.0.1          10.82.0.11-13
#                VIP 10.98.0.20:80/tcp fullnat -> 10.82.0.11-13:8080
#
# Two runs against the same sluiced, each a couple of seconds at a small rate:
#   steady:  600 flows, one handshake each, then data segments echoed by the
#            pod (RTT per segment);
#   connect: 300 flows, connection after connection on each: SYN, SYN-ACK,
#            ACK + data, echo, FIN, FIN-ACK, ACK, all on the flow's tuple;
#   connect-next: the same, each connection from the flow's next source
#            port (a new conntrack entry each time).
# sluiced's conntrack follows every segment's flags, so this fails if
# pktgen's seq/ack, flags or checksums are wrong (sluiced drops or resets).
#
#   steady-v6: steady over IPv6 (300 flows), neighbors found by solicitation.
# Checks per run: every answer-seeking segment answered (no loss, nothing
# unmatched or stale), no failed or reset connections, every flow answered,
# each endpoint within +-30% of an even share of flows (5 standard deviations
# at 600 flows, 3.7 at 300), no flow changed endpoint, the in-process pod
# answered exactly what the client sent; connect: connections completed at
# about the offered rate, connect times measured. sluiced exits 0.
#
# Usage: memif_tcp_test.sh SLUICED PKTGEN. Needs root (DPDK); exits 77 otherwise.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/pktgen/lib.sh
source "$here/lib.sh"
skip_unless_root "for DPDK"
pg_executables memif_tcp_test.sh "$@"

rate=2000
duration=2
vip=10.98.0.20
vip6=fd00:98::20
prefix=sluice-pgt$$ # DPDK --file-prefix stem: -lb, -gen
tmp=$(mktemp -d /tmp/sluice-pktgen-tcp.XXXXXX)
pg_network 82 5e
trap pg_cleanup EXIT
trap 'exit 1' INT TERM

pg_start_sluiced fullnat tcp "$vip" 80 8080 "$vip6"

# run_client NAME FLOWS SPORTS ARGS...: one pktgen process, client on port 0
# and pod on port 1 (serving both families), one worker lcore on CPU 0
# (sluiced's worker has CPU 1). IPv4 unless the name ends in -v6.
run_client() {
  local name=$1 flows=$2 sports=$3
  shift 3
  local src=$client_addr dst=$vip:80 gateway=192.168.82.1 expect=("${endpoints[@]}")
  if [[ $name == *-v6 ]]; then
    src=fd00:82::2 dst="[$vip6]:80" gateway=fd00:82::1 expect=("${endpoints6[@]}")
  fi
  # shellcheck disable=SC2046 # the EAL arguments are words
  run_bounded 60 "$tmp/$name.log" "$pktgen" $(pg_eal gen 0) --vdev "$(memif 0 client p0 "$client_mac")" \
    --vdev "$(memif 1 client p1 "$pod_mac")" -- \
    --role client --port 0 --pod-port 1 \
    --pod-address "$(pg_endpoints "${endpoints[@]}" "${endpoints6[@]}")" \
    --pod-id 7 --src "$src" --sport "$sports" --dst "$dst" --flows "$flows" \
    --rate $rate --duration $duration --gateway "$gateway" --idle-sleep-us 20 \
    --proto tcp --json "$tmp/$name.json" --progress-json "$tmp/$name.progress" "$@"
  pg_client_summary "$name: the client" "$tmp/$name.log" "$tmp/$name.json" || return
  # One line per verdict, "ok: ..." or "FAIL: ...".
  "$topo_python" - "$tmp/$name.json" "$name" "$flows" "$rate" "$duration" "${expect[@]}" <<'EOF' >"$tmp/$name.verdicts" || fail "$name: summary check crashed"
import json, sys

path, name, flows, rate, duration, *endpoints = sys.argv[1:]
flows, rate, duration = int(flows), int(rate), float(duration)
s = json.load(open(path))
t = s["tcp"]

def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + f"{name}: {what}")

mode = name.split("-")[0]
check(t["mode"] == mode, f"mode {t['mode']}")
check(s["sent"] > 0 and s["lost"] == 0 and s["received"] == s["sent"],
      f"no loss: {s['received']} answers to {s['sent']} segments asking for one")
check(s["unmatched"] == 0 and t["stale"] == 0,
      f"unmatched {s['unmatched']}, stale {t['stale']}")
check(t["failed"] == 0 and t["reset"] == 0 and t["unfinished"] == 0,
      f"failed {t['failed']}, reset {t['reset']}, unfinished {t['unfinished']}")
check(t["established"] == t["connects"], f"{t['established']} of {t['connects']} SYNs answered")
check(s["flows_answered"] == flows, f"{s['flows_answered']} of {flows} flows answered")
if name != "connect-next":  # there each connection is a new tuple, balanced anew
    check(s["flows_moved"] == 0, f"{s['flows_moved']} flows changed endpoint")
else:
    check(s["flows_moved"] > 0, f"{s['flows_moved']} flows changed endpoint with their port")
by_address = {e["address"]: e for e in s["endpoints"]}
check(sorted(by_address) == sorted(endpoints) and all(e["pod"] == 7 for e in s["endpoints"]),
      f"answers from pod 7 at {sorted(by_address)}")
even = flows / len(endpoints)
for a in endpoints:
    n = by_address.get(a, {"flows": 0})["flows"]
    check(0.7 * even <= n <= 1.3 * even, f"{a}: {n} flows, even share {even:.0f} +-30%")
pod = s["pod"]
check(pod["tcp"] == s["sent"] and pod["tx_failed"] == 0 and pod["ignored"] == 0,
      f"pod answered {pod['tcp']} of {s['sent']} segments, ignored {pod['ignored']}, "
      f"tx_failed {pod['tx_failed']}")
lines = [json.loads(l) for l in open(path.replace(".json", ".progress"))]
check(len(lines) >= 1 and all(l["failed"] == 0 and len(l["endpoints"]) == 3 for l in lines)
      and lines[-1]["flows_answered"] == flows,
      f"{len(lines)} progress lines, the last: {lines[-1] if lines else None}")
p = s["rtt_us"]
check(0 < p["p50"] <= p["p99"] <= p["max"], f"echo rtt p50 {p['p50']} <= p99 {p['p99']} us")
if name.endswith("-v6"):
    check(pod["nd"] >= len(endpoints),
          f"pod answered {pod['nd']} neighbor solicitations for {len(endpoints)} endpoints")
if mode == "steady":
    check(t["connects"] == flows, f"one handshake per flow: {t['connects']}")
    # The handshake's ACK carries the first data, so nothing is taken quietly.
    check(pod["tcp_quiet"] == 0, f"pod took {pod['tcp_quiet']} segments without answer")
else:
    offered = rate * duration  # a paced turn opens one connection
    check(t["completed"] >= 0.9 * offered,
          f"{t['completed']} connections completed of {offered:.0f} offered, "
          f"{t['connections_per_s']} per s")
    check(t["completed"] == t["connects"], f"every connection closed: {t['completed']}")
    check(pod["tcp_quiet"] == t["completed"], f"pod took {pod['tcp_quiet']} final ACKs")
    c = t["connect_us"]
    check(0 < c["p50"] <= c["p99"] <= c["max"], f"connect p50 {c['p50']} <= p99 {c['p99']} us")
EOF
  count_verdicts "$tmp/$name.verdicts"
}

# Each run its own source ports, so the second does not meet the first's
# conntrack entries.
run_client steady 600 10000-19999
run_client connect 300 20000-29999 --mode connect
run_client connect-next 300 30000-39999 --mode connect --connect-ports next
# Over IPv6: the client finds sluiced by neighbor solicitation, sluiced finds
# the pods the same way (the in-process pod answers).
run_client steady-v6 300 40000-49999
if grep -q "^pktgen: gateway fd00:82::1 is at $sluiced_mac" "$tmp/steady-v6.log"; then
  pass "steady-v6: the client resolved its IPv6 gateway by neighbor solicitation"
else
  fail "steady-v6: no IPv6 gateway resolution in the client's log"
fi

pg_finish
