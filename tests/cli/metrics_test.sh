#!/usr/bin/env bash
# /metrics and the /sluice/ telemetry commands of a running sluiced with
# traffic flowing: sluice-pktgen client -> sluiced -> pod over memif, as
# tests/pktgen/memif_test.sh wires it (idle back-off, a modest rate).
#
#   pktgen client --memif-- p0 [sluiced, 1 worker] p1 --memif-- pktgen pod
#   192.168.82.2             192.168.82.1  10.82.0.1          10.82.0.11-13
#                VIP 10.98.1.10:53/udp fullnat -> 10.82.0.11-13:5353
#
# sluiced serves metrics on 127.0.0.1 (port 0: a free one, read from its
# log) and keeps DPDK telemetry on (the pg_* config turns it off).
#
# Checks: two scrapes during traffic both pass `promtool check metrics`; the
# worker's rx_packets, the service's in_packets and the endpoints' in_packets
# grew between them; every drop reason has a series; the histogram's +Inf
# bucket equals its _count. After the traffic, /sluice/workers (through
# dpdk-telemetry.py) gives the same lcore, rx and tx as a scrape taken
# beside it, /sluice/services and /sluice/service,VIP the service's
# in_packets, /sluice/worker,0 the drops; /sluice/worker,9 is refused with
# a reason.
#
# Usage: metrics_test.sh SLUICED PKTGEN. Needs root (DPDK); exits 77 without
# it or without promtool (Debian: prometheus) or curl.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/pktgen/lib.sh
source "$here/../pktgen/lib.sh"
skip_unless_root "for DPDK"
for tool in promtool curl; do
  if ! command -v "$tool" >/dev/null; then
    echo "skip: $tool is not installed"
    exit 77
  fi
done
sluiced=${1:?usage: metrics_test.sh SLUICED PKTGEN}
pktgen=${2:?usage: metrics_test.sh SLUICED PKTGEN}
need_executables "$sluiced" "$pktgen"

rate=2000
duration=8
flows=60
vip=10.98.1.10
service="$vip:53/udp"
prefix=sluice-mt$$
tmp=$(mktemp -d /tmp/sluice-metrics.XXXXXX)
pg_network 82 5d
pg_lb_ipv6=0
trap pg_cleanup EXIT
trap 'exit 1' INT TERM

# telemetry COMMAND: sluiced's reply to COMMAND, one JSON object, on stdout.
telemetry() {
  if command -v dpdk-telemetry.py >/dev/null; then
    echo "$1" | dpdk-telemetry.py -f "$prefix-lb" | tail -n 1
    return
  fi
  "$topo_python" - "/var/run/dpdk/$prefix-lb/dpdk_telemetry.v2" "$1" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
hello = json.loads(s.recv(1024))
s.send(sys.argv[2].encode())
print(s.recv(hello["max_output_len"]).decode())
PY
}

# scrape FILE: GET /metrics into FILE; fails (a check) on an HTTP error.
scrape() {
  curl -fsS --max-time 10 -o "$1" "$url" || {
    fail "GET $url failed"
    return 1
  }
}

pg_sluiced_conf fullnat udp "$vip" 53 5353 | sed 's/, "--no-telemetry"//' >"$tmp/sluiced.conf"
printf 'metrics = {\n  listen = "127.0.0.1:0";\n};\n' >>"$tmp/sluiced.conf"
if ! sluiced_start "$tmp/sluiced.log" 30 "$sluiced" --config "$tmp/sluiced.conf"; then
  echo "FAIL: sluiced did not start"
  exit 1
fi
url=$(sed -n 's/^sluiced: metrics on //p' "$tmp/sluiced.log" | head -n 1)
[[ $url == http://127.0.0.1:*/metrics ]] || {
  echo "FAIL: sluiced logged no metrics URL"
  cat "$tmp/sluiced.log"
  exit 1
}
pass "sluiced serves $url"

pg_start_pod "$tmp/pod.log" "$tmp/pod.json" "$(memif 0 client p1 "$pod_mac")" \
  "$(pg_endpoints "${endpoints[@]}")" || exit 1

# The client runs in the background (bounded by timeout) while we scrape.
# shellcheck disable=SC2046 # the EAL arguments are words
timeout 60 "$pktgen" $(pg_eal client 1) --vdev "$(memif 0 client p0 "$client_mac")" -- \
  --role client --src "$client_addr" --sport 10000-19999 --dst "$vip:53" --flows $flows \
  --rate $rate --duration $duration --gateway 192.168.82.1 --idle-sleep-us 20 \
  --json "$tmp/client.json" >"$tmp/client.log" 2>&1 &
bounded_pid=$!

sleep 3
scrape "$tmp/first.prom"
sleep 2
scrape "$tmp/second.prom"
rc=0
wait "$bounded_pid" || rc=$?
bounded_pid=""
pg_client_summary "the client" "$tmp/client.log" "$tmp/client.json"

for f in first second; do
  if out=$(promtool check metrics <"$tmp/$f.prom" 2>&1); then
    pass "promtool check metrics accepts the $f scrape ($(wc -l <"$tmp/$f.prom") lines)"
  else
    fail "promtool check metrics on the $f scrape: $out"
  fi
done

# After the traffic the counters stand still: a scrape and the telemetry
# replies taken now must agree.
scrape "$tmp/after.prom"
for cmd in /sluice/workers /sluice/worker,0 /sluice/worker,9 /sluice/services \
  "/sluice/service,$service" /sluice/conntrack /sluice/publish; do
  echo "$cmd $(telemetry "$cmd")"
done >"$tmp/telemetry.txt"
cat "$tmp/telemetry.txt"

"$topo_python" - "$tmp" "$service" "${endpoints[@]}" <<'PY' >"$tmp/verdicts" || fail "metric checks crashed"
import json, re, sys

tmp, service, *endpoints = sys.argv[1:]
sample = re.compile(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$')
label = re.compile(r'([a-z_]+)="((?:[^"\\]|\\.)*)"')

def load(name):
    series = {}
    for line in open(f"{tmp}/{name}.prom"):
        if line.startswith("#"):
            continue
        m = sample.match(line.rstrip("\n"))
        if not m:
            raise SystemExit(f"unparsable line in {name}: {line!r}")
        labels = tuple(sorted(label.findall(m.group(2) or "")))
        series[(m.group(1), labels)] = float(m.group(3))
    return series

def check(ok, what):
    print(("ok: " if ok else "FAIL: ") + what)

first, second, after = load("first"), load("second"), load("after")
worker = (("worker", "1"),)
svc = (("service", service),)
def grew(name, labels, what):
    a, b = first.get((name, labels)), second.get((name, labels))
    check(a is not None and b is not None and b > a, f"{what} moved between scrapes: {a} -> {b}")

grew("sluice_worker_rx_packets_total", worker, "worker 1 rx_packets")
grew("sluice_worker_tx_packets_total", worker, "worker 1 tx_packets")
grew("sluice_port_rx_packets_total", (("port", "p0"),), "port p0 rx_packets")
grew("sluice_service_in_packets_total", svc, f"{service} in_packets")
grew("sluice_service_out_packets_total", svc, f"{service} out_packets")
for e in endpoints:
    grew("sluice_endpoint_in_packets_total", (("endpoint", f"{e}:5353"), ("service", service)),
         f"endpoint {e}:5353 in_packets")
reasons = [k for k in second if k[0] == "sluice_worker_drops_total"]
check(len(reasons) >= 40, f"{len(reasons)} drop reason series for worker 1")
check(second.get(("sluice_services", ())) == 1, "sluice_services 1")
inf = second.get(("sluice_publish_latency_seconds_bucket", (("le", "+Inf"),)))
count = second.get(("sluice_publish_latency_seconds_count", ()))
check(inf is not None and inf == count and count >= 1,
      f"publish histogram: +Inf bucket {inf} == _count {count} >= 1")
share = second.get(("sluice_worker_busy_share", worker))
check(share is not None and 0 < share <= 1, f"worker 1 busy share {share} in (0, 1]")

replies = {}
for line in open(f"{tmp}/telemetry.txt"):
    cmd, _, text = line.rstrip("\n").partition(" ")
    try:
        replies[cmd] = json.loads(text)[cmd.split(",")[0]]
    except (ValueError, KeyError, TypeError) as e:
        replies[cmd] = None
        check(False, f"{cmd}: no JSON reply ({e}): {text!r}")

w = replies.get("/sluice/workers") or {}
rx = after.get(("sluice_worker_rx_packets_total", worker))
tx = after.get(("sluice_worker_tx_packets_total", worker))
check(w.get("lcore") == [1] and w.get("rx_packets") == [rx] and w.get("tx_packets") == [tx],
      f"/sluice/workers lcore {w.get('lcore')} rx {w.get('rx_packets')} tx {w.get('tx_packets')}"
      f" == /metrics worker 1 rx {rx} tx {tx}")
one = replies.get("/sluice/worker,0") or {}
drops = sum(v for k, v in after.items() if k[0] == "sluice_worker_drops_total")
check(one.get("lcore") == 1 and one.get("rx_packets") == rx and one.get("drops") == drops
      and "drop_no_route" in one,
      f"/sluice/worker,0: rx {one.get('rx_packets')} drops {one.get('drops')} == /metrics {rx} {drops}")
bad = replies.get("/sluice/worker,9") or {}
check("not a worker index" in bad.get("error", ""), f"/sluice/worker,9 refused: {bad}")
in_packets = after.get(("sluice_service_in_packets_total", svc))
s = replies.get("/sluice/services") or {}
check(s.get("service") == [service] and s.get("in_packets") == [in_packets],
      f"/sluice/services {s.get('service')} in {s.get('in_packets')} == /metrics {in_packets}")
one = replies.get(f"/sluice/service,{service}") or {}
check(one.get("in_packets") == in_packets and len(one.get("endpoint", [])) == len(endpoints),
      f"/sluice/service,{service}: in {one.get('in_packets')}, endpoints {one.get('endpoint')}")
p = replies.get("/sluice/publish") or {}
check(p.get("upserts") == after.get(("sluice_publish_upserts_total", ())),
      f"/sluice/publish upserts {p.get('upserts')} == /metrics")
c = replies.get("/sluice/conntrack") or {}
check(c.get("lcore") == [1] and c.get("flows") == [after.get(("sluice_conntrack_flows", worker))],
      f"/sluice/conntrack flows {c.get('flows')} == /metrics")
PY
count_verdicts "$tmp/verdicts"
pg_finish
