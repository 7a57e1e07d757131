#!/usr/bin/env bash
# Many concurrent flows over memif: sluice-pktgen keeps up to 10 million UDP
# flows going through sluiced (dnat, one worker, conntrack sized for them),
# the pod role answering in the generator's process. The wiring is the e2e
# bench's (tools/bench/e2e/run.sh):
#
#   sluice-pktgen (one lcore, CPU 0)                 sluiced (one worker, CPU 1)
#   client port 192.168.81.2-201 --memif p0--  p0  192.168.81.1
#   pod port    10.81.0.11-13    --memif p1--  p1  10.81.0.1
#               VIP 10.98.0.10:53/udp -> 10.81.0.11-13:5353
#
# Flows: source addresses 192.168.81.2-201 times ports 10000-59999 (200 x
# 50000 = 10M at most), sent round-robin at a fixed rate: --rounds requests
# per flow (pktgen --packets rounds x flows), every flow as many; the run is
# bounded by 2 x the time that takes at the rate, + 10 s. UDP entries live
# 600 s, so none expires during a run and sluiced's flows_created is the
# number of concurrent flows at the end.
#
# Per flow count it prints and records: the generator's and sluiced's memory
# (VmRSS and peak VmHWM from /proc/PID/status: pktgen's own at its end, in its
# summary; sluiced's sampled every 0.5 s), start-up (sluiced to "running";
# pktgen's flows built and its first packet, seconds after its start),
# offered and achieved rates, loss, flows answered and sluiced's
# flows_created; then bytes per flow: the generator's peak RSS above the
# first run's, and sluiced's RSS at --capacity above its RSS at 65536.
#
#   tools/bench/e2e/flows10m.sh [--flows N[,N...]] [--rate PPS] [--rounds K] [--capacity N]
#                               [--mode dnat|fullnat] [--proto udp|tcp]
#                               [--out FILE] [--build DIR]
#                               [--quick] [--size N]
#
#   --flows LIST  flow counts, one run each (default 1000,1000000,10000000;
#                 the first is the baseline of the bytes-per-flow figures)
#   --rate PPS    offered rate, round trips per second (default 250000)
#   --rounds K    requests per flow (default 2)
#   --capacity N  sluiced's conntrack.capacity per worker (default 10000000)
#   --mode M      the service's mode (default dnat; fullnat runs out of SNAT
#                 ports far below 10M flows: one SNAT address, 3 endpoints)
#   --proto P     udp (default) or tcp: VIP port 80 -> 8080, pktgen's TCP steady
#                 mode (a handshake per flow, then data segments; --rounds
#                 counts the SYN and the data segments)
#   --quick       flows 1000,1000000 only
#   --size N      frame size on the wire, FCS included (default and least: 64
#                 for UDP, 88 for TCP)
#   --out FILE    the JSON (default tools/bench/results/raw/flows10m.json)
#   --build DIR   where sluiced and sluice-pktgen are (default build-rel)
#
# Needs root (DPDK); about 2 GB of memory at 10M flows (each process).
# KEEP_TMP=1 keeps the logs and configs in /tmp/sluice-flows10m.*.kept.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
# shellcheck source=tests/pktgen/lib.sh
source "$root/tests/pktgen/lib.sh"

quick=0
out=$root/tools/bench/results/raw/flows10m.json
build=$root/build-rel
frame_size=""
flows_list=1000,1000000,10000000
rate=250000
rounds=2
capacity=10000000
mode=dnat
proto=udp
while (($# > 0)); do
  if ! bench_opt "$@"; then
    case $1 in
      --flows | --flows=*) take_opt "$@" && flows_list=$opt_val ;;
      --rate | --rate=*) take_opt "$@" && rate=$opt_val ;;
      --rounds | --rounds=*) take_opt "$@" && rounds=$opt_val ;;
      --capacity | --capacity=*) take_opt "$@" && capacity=$opt_val ;;
      --mode | --mode=*) take_opt "$@" && mode=$opt_val ;;
      --proto | --proto=*) take_opt "$@" && proto=$opt_val ;;
      *)
        echo "flows10m: unknown argument '$1' (try --help)" >&2
        exit 2
        ;;
    esac
  fi
  shift "$bench_words"
done
((quick)) && flows_list=1000,1000000
case $proto in
  udp) svc_port=53 pod_port=5353 least_size=64 ;;
  tcp) svc_port=80 pod_port=8080 least_size=88 ;;
  *)
    echo "flows10m: --proto is udp or tcp" >&2
    exit 2
    ;;
esac
[[ -n $frame_size ]] || frame_size=$least_size
bench_setup flows10m "for DPDK"

vip=10.98.0.10
pg_network 81 5c
src_range=192.168.81.2-192.168.81.201
sport_range=10000-59999
pg_bench_settings
pg_lb_log=warning
# The 200 client addresses as static neighbors: no ARP (and its small
# pending queue) in the first round of replies.
pg_lb_clients=200
prefix=sluice-f10m$$ # DPDK --file-prefix stem: -lb, -gen
tmp=$(mktemp -d /tmp/sluice-flows10m.XXXXXX)
gen_pid=""
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
cleanup() {
  [[ -z $gen_pid ]] || sluiced_stop "$gen_pid" KILL 3
  [[ -z ${KEEP_TMP:-} ]] || cp -r "$tmp" "$tmp.kept"
  pg_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# status_kb PID FIELD: a /proc/PID/status figure in kB (empty once it exits).
status_kb() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status" 2>/dev/null; }

now() { date +%s.%N; }

# start_lb CAPACITY NAME: sluiced with that conntrack capacity; its log in
# $tmp/NAME.log. Sets lb_start_s (launch to "running") and lb_rss_kb.
start_lb() {
  pg_conntrack="capacity = $1; udp_timeout = 600; tcp_established_timeout = 600;"
  pg_sluiced_conf "$mode" "$proto" "$vip" "$svc_port" "$pod_port" >"$tmp/$2.conf"
  : >"$tmp/$2.log"
  local t0
  t0=$(now)
  sluiced_start "$tmp/$2.log" 120 "$sluiced" --config "$tmp/$2.conf" >&2 || return 1
  lb_start_s=$("$topo_python" -c "print(round($(now) - $t0, 3))")
  lb_rss_kb=$(status_kb "$sluiced_pid" VmRSS)
}

# stop_lb NAME: stops sluiced; its final worker counters in $tmp/NAME.counters.
stop_lb() {
  sluiced_stop "$sluiced_pid" TERM 30 || echo "flows10m: sluiced had to be killed" >&2
  sluiced_pid=""
  sed -n '/^-- final counters/,$p' "$tmp/$1.log" >"$tmp/$1.counters"
  rm -f "$tmp"/p0.sock "$tmp"/p1.sock
}

# One sluiced at a small capacity, for its memory without the flows' share.
echo "flows10m: sluiced at conntrack capacity 65536 (baseline)"
start_lb 65536 lb-small || exit 1
small_rss_kb=$lb_rss_kb
echo "  sluiced VmRSS ${small_rss_kb} kB, running after ${lb_start_s} s"
stop_lb lb-small

IFS=, read -r -a flow_counts <<<"$flows_list"
: >"$tmp/runs.jsonl"
failed=()
started=$SECONDS
for flows in "${flow_counts[@]}"; do
  packets=$((flows * rounds))
  duration=$((2 * ((packets + rate - 1) / rate) + 10))
  echo "== $flows $proto flows, $packets requests at $rate pps, at most $duration s (sluiced $mode, capacity $capacity)"
  if ! start_lb "$capacity" "lb-$flows"; then
    failed+=("$flows")
    continue
  fi
  echo "  sluiced VmRSS ${lb_rss_kb} kB, running after ${lb_start_s} s"
  lb_rss_before=$lb_rss_kb
  json=$tmp/gen-$flows.json
  glog=$tmp/gen-$flows.log
  # shellcheck disable=SC2046 # the EAL arguments are words
  "$pktgen" $(pg_eal gen 0) --vdev "$(memif 0 client p0 "$client_mac")" \
    --vdev "$(memif 1 client p1 "$pod_mac")" -- --role client --port 0 --pod-port 1 \
    --pod-address "$(pg_endpoints "${endpoints[@]}")" --src "$src_range" \
    --sport "$sport_range" --dst "$vip:$svc_port" --proto "$proto" --flows "$flows" --size "$frame_size" \
    --rate "$rate" --packets "$packets" --duration "$duration" --drain-ms 1000 --gateway-mac "$sluiced_mac" \
    --json "$json" >"$glog" 2>&1 &
  gen_pid=$!
  deadline=$((SECONDS + duration + 30))
  gen_rss=0 gen_hwm=0 lb_rss=0
  while kill -0 "$gen_pid" 2>/dev/null && ((SECONDS < deadline)); do
    r=$(status_kb "$gen_pid" VmRSS) h=$(status_kb "$gen_pid" VmHWM) l=$(status_kb "$sluiced_pid" VmRSS)
    ((${r:-0} > gen_rss)) && gen_rss=$r
    ((${h:-0} > gen_hwm)) && gen_hwm=$h
    ((${l:-0} > lb_rss)) && lb_rss=$l
    sleep 0.5
  done
  if kill -0 "$gen_pid" 2>/dev/null; then
    echo "flows10m: the generator ran past its bound; stopped" >&2
  fi
  sluiced_stop "$gen_pid" INT 10
  gen_rc=$sluiced_rc
  gen_pid=""
  stop_lb "lb-$flows"
  if ((gen_rc != 0)) || [[ ! -s $json ]]; then
    echo "flows10m: the generator exited $gen_rc without a summary; its output:" >&2
    tail -n 20 "$glog" >&2
    failed+=("$flows")
    continue
  fi
  "$topo_python" - "$json" "$glog" "$tmp/lb-$flows.counters" "$flows" "$rate" "$duration" \
    "$gen_rss" "$gen_hwm" "$lb_rss_before" "$lb_rss" "$lb_start_s" <<'EOF' >>"$tmp/runs.jsonl" || failed+=("$flows")
import json, re, sys

(path, glog, counters, flows, rate, duration, gen_rss, gen_hwm, lb_rss_before, lb_rss,
 lb_start) = sys.argv[1:]
s = json.load(open(path))
proc = s.get("process", {})
events = {}
for line in open(counters):
    if line.startswith("worker "):
        for name, value in re.findall(r"([a-z0-9_]+)=([0-9]+)", line):
            events[name] = events.get(name, 0) + int(value)
run = {
    "flows": int(flows), "rate_pps": int(rate), "bound_s": int(duration),
    "sending_s": s["duration_s"],
    # Its own figures at the end (the samples miss a short run's peak).
    "pktgen": {"vmhwm_kb": proc.get("vmhwm_kb", int(gen_hwm)),
               "vmrss_kb": proc.get("vmrss_kb", int(gen_rss)),
               "vmrss_kb_sampled_max": int(gen_rss),
               "flows_built_s": proc.get("flows_built_s"),
               "first_packet_s": proc.get("first_packet_s"),
               "sent": s["sent"], "received": s["received"], "lost": s["lost"],
               "loss_ratio": s["loss_ratio"], "skipped": s["skipped"],
               "offered_pps": s["offered_pps"], "sent_pps": s["sent_pps"],
               "received_pps": s["received_pps"], "flows_answered": s["flows_answered"],
               "flows_moved": s["flows_moved"],
               "rtt_us": {k: s["rtt_us"][k] for k in ("p50", "p99", "p999")},
               "endpoints": {e["address"]: e["flows"] for e in s["endpoints"]}},
    "sluiced": {"vmrss_kb_start": int(lb_rss_before),
                "vmrss_kb_max": max(int(lb_rss), int(lb_rss_before)),
                "running_after_s": float(lb_start),
                "flows_created": events.get("flows_created", 0),
                "flows_expired": events.get("flows_expired", 0),
                "counters": events},
}
p, l = run["pktgen"], run["sluiced"]
print(f"  pktgen: sent {p['sent']} ({p['sent_pps'] / 1e6:.3f} Mpps), received {p['received']} "
      f"({p['received_pps'] / 1e6:.3f} Mpps), lost {p['lost']} ({p['loss_ratio']:.5%}), "
      f"skipped {p['skipped']}, flows answered {p['flows_answered']} of {flows}, "
      f"rtt p50 {p['rtt_us']['p50']} p99 {p['rtt_us']['p99']} us", file=sys.stderr)
print(f"  pktgen: VmRSS {p['vmrss_kb'] / 1024:.1f} MB (peak VmHWM {p['vmhwm_kb'] / 1024:.1f} MB), "
      f"flows built in {p['flows_built_s']} s, first packet {p['first_packet_s']} s after start",
      file=sys.stderr)
print(f"  sluiced: flows_created {l['flows_created']}, VmRSS {l['vmrss_kb_max'] / 1024:.1f} MB, "
      f"running after {l['running_after_s']} s", file=sys.stderr)
print(json.dumps(run))
EOF
done

mkdir -p "$(dirname "$out")"
"$topo_python" - "$tmp/runs.jsonl" "$out" "$small_rss_kb" "$capacity" "$mode" "$frame_size" "$proto" \
  "$load_before" "$((SECONDS - started))" "${failed[*]}" <<'EOF'
import json, os, platform, sys, time

runs_path, out, small_rss, capacity, mode, frame_size, proto, load, seconds, failed = sys.argv[1:]
runs = [json.loads(l) for l in open(runs_path) if l.strip()]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
            if l.startswith("model name")), "unknown")
machine = {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
           "load_before": load, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
per_flow = {}
if len(runs) > 1:
    base = runs[0]
    for r in runs[1:]:
        d = r["flows"] - base["flows"]
        per_flow[str(r["flows"])] = {
            "pktgen_vmhwm": round((r["pktgen"]["vmhwm_kb"] - base["pktgen"]["vmhwm_kb"]) * 1024 / d, 1),
            "pktgen_vmrss": round((r["pktgen"]["vmrss_kb"] - base["pktgen"]["vmrss_kb"]) * 1024 / d, 1)}
if runs:
    cap = int(capacity)
    per_flow["sluiced_per_capacity"] = round(
        (runs[-1]["sluiced"]["vmrss_kb_start"] - int(small_rss)) * 1024 / (cap - 65536), 1)
doc = {"kind": "flows_scale", "mode": mode, "proto": proto, "capacity": int(capacity),
       "frame_size": int(frame_size), "machine": machine, "runs": runs,
       "bytes_per_flow": per_flow, "sluiced_vmrss_kb_capacity_65536": int(small_rss),
       "failed": failed.split(), "seconds": int(seconds),
       "notes": ["pktgen bytes per flow: its peak RSS (VmHWM) above the first run's, over the "
                 "extra flows; client and pod in one process",
                 "sluiced bytes per flow: its RSS at the run's conntrack capacity above its RSS "
                 "at 65536, over the extra capacity (conntrack memory is touched at start)",
                 "one generator core (CPU 0), one sluiced worker (CPU 1), busy polling; the "
                 f"machine may be shared, load average before: {load}"]}
print()
print(f"{'flows':>10} {'sent Mpps':>10} {'recv Mpps':>10} {'loss':>9} {'answered':>10} "
      f"{'created':>10} {'pktgen MB':>10} {'sluiced MB':>11} {'1st pkt s':>9}")
for r in runs:
    p, l = r["pktgen"], r["sluiced"]
    print(f"{r['flows']:>10} {p['sent_pps'] / 1e6:>10.3f} {p['received_pps'] / 1e6:>10.3f} "
          f"{p['loss_ratio']:>9.5f} {p['flows_answered']:>10} {l['flows_created']:>10} "
          f"{p['vmhwm_kb'] / 1024:>10.1f} {l['vmrss_kb_max'] / 1024:>11.1f} "
          f"{p['first_packet_s'] if p['first_packet_s'] is not None else '-':>9}")
for k, v in per_flow.items():
    print(f"bytes per flow, {k}: {v}")
with open(out, "w") as f:
    json.dump(doc, f, indent=1)
print("flows10m: wrote " + out)
EOF
py_rc=$?
if ((${#failed[@]} > 0 || py_rc != 0)); then
  echo "flows10m: failed: ${failed[*]}" >&2
  exit 1
fi
