#!/usr/bin/env bash
# End to end over memif, one DUT core against the harness ceiling: the same
# generator and wiring drive dpdk-testpmd (macswap), sluiced fullnat and
# sluiced dnat, and the highest round-trip rate each sustains with loss
# <= 0.1% is reported with its RTT percentiles and the ratio to testpmd.
#
#   sluice-pktgen (one lcore, CPU 0)                 DUT (one lcore, CPU 1)
#   client port 192.168.81.2     --memif p0--  port 0  192.168.81.1
#   pod port    10.81.0.11-13    --memif p1--  port 1  10.81.0.1
#
#   testpmd-macswap  swaps MACs and sends out of the other port: the pod
#                    owns the VIP itself (nothing translates), so its
#                    answers match the client's flows.
#   sluice-fullnat   VIP 10.98.0.10:53/udp -> 10.81.0.11-13:5353, SNAT to 10.81.0.1
#   sluice-dnat      the same service in dnat mode; the pod's replies go back
#                    to the client address through sluiced (its MAC).
#
# The generator is one sluice-pktgen process: client role on its port 0 and
# the pod on port 1 (--pod-port), both on one worker lcore. Main lcores
# sleep. Search per DUT: as fast as possible first; when that loses more
# than 0.1%, fixed rates below what came back, highest passing wins.
#
#   tools/bench/e2e/run.sh [--quick] [--out FILE.json] [--build DIR] [--size N]
#
#   --quick       1 s trials, at most 3 fixed rates (under 60 s in all)
#   --size N      frame size on the wire, FCS included, as sluice-pktgen's
#                 --size counts it (default 64, the Ethernet minimum: 60 bytes
#                 built, which memif carries without the FCS)
#   --out FILE    the JSON summary ({"kind": "e2e_memif", "machine", "rows", "notes"})
#   --build DIR   where sluiced and sluice-pktgen are (default build-rel)
#
# Needs root (DPDK). Uses --no-huge and a --file-prefix per process; the
# memif sockets live in a temporary directory removed on exit or Ctrl-C.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
# The memif wiring, sluiced's config and the pktgen processes.
# shellcheck source=tests/pktgen/lib.sh
source "$root/tests/pktgen/lib.sh"

quick=0
out=""
build=$root/build-rel
frame_size=64
while (($# > 0)); do
  if ! bench_opt "$@"; then
    echo "e2e: unknown argument '$1' (try --help)" >&2
    exit 2
  fi
  shift "$bench_words"
done
bench_setup e2e "for DPDK"
testpmd=$(command -v dpdk-testpmd || echo /usr/bin/dpdk-testpmd)
[[ -x $testpmd ]] || {
  echo "e2e: $testpmd is not executable (apt-get install dpdk)" >&2
  exit 1
}

if ((quick)); then
  trial_s=1
  factors=(0.9 0.7 0.5)
  flows=1000
else
  trial_s=5
  factors=(0.95 0.9 0.8 0.7 0.6 0.5)
  flows=10000
fi
max_loss=0.001
vip=10.98.0.10
pg_network 81 5c
pg_bench_settings

prefix=sluice-e2e$$ # DPDK --file-prefix stem: -lb (the DUT), -gen, -pod
tmp=$(mktemp -d /tmp/sluice-e2e.XXXXXX)
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
# pg_cleanup stops the generator (bounded_pid), the pod and the DUT
# (sluiced_pid, testpmd's pid too).
trap pg_cleanup EXIT
trap 'exit 130' INT TERM

# start_dut NAME: starts the DUT, its worker on CPU 1, and waits until it polls.
start_dut() {
  local log=$tmp/$1.log
  : >"$log"
  case $1 in
    testpmd-macswap)
      # shellcheck disable=SC2046 # the EAL arguments are words
      "$testpmd" $(pg_eal lb 1) --vdev "$(memif 0 server p0 "$sluiced_mac")" \
        --vdev "$(memif 1 server p1 "$sluiced_pod_mac")" -- --forward-mode=macswap --nb-cores=1 \
        --rxq=1 --txq=1 --total-num-mbufs=16383 --stats-period=1 </dev/null >"$log" 2>&1 &
      sluiced_pid=$!
      sluiced_wait_line "$log" 'Port statistics|Press enter' "$sluiced_pid" 20
      ;;
    sluice-fullnat | sluice-dnat)
      pg_sluiced_conf "${1#sluice-}" udp "$vip" 53 5353 >"$tmp/$1.conf"
      sluiced_start "$log" 30 "$sluiced" --config "$tmp/$1.conf" >/dev/null
      ;;
  esac
}

stop_dut() {
  local name=$1
  [[ -z $pod_pid ]] || sluiced_stop "$pod_pid" TERM 3
  pod_pid=""
  sluiced_stop "$sluiced_pid" TERM 10 || echo "e2e: $name had to be killed" >&2
  sluiced_pid=""
  rm -f "$tmp"/p0.sock "$tmp"/p1.sock
}

# trial DUT RATE JSON: one generator run at RATE pps (0: as fast as
# possible); its summary to JSON. Returns non-zero if it produced none.
trial() {
  local dut=$1 rate=$2 json=$3 pod_addrs
  if [[ $dut == testpmd-macswap ]]; then
    pod_addrs=$vip
  else
    pod_addrs=$(pg_endpoints "${endpoints[@]}")
  fi
  rm -f "$json"
  local pod_args=(--pod-port 1 --pod-address "$pod_addrs")
  local vdevs=(--vdev "$(memif 0 client p0 "$client_mac")" --vdev "$(memif 1 client p1 "$pod_mac")")
  if ((!one_process)); then
    pod_args=()
    vdevs=(--vdev "$(memif 0 client p0 "$client_mac")")
    if [[ -z $pod_pid ]]; then
      pg_start_pod "$tmp/pod.log" "$tmp/pod.json" "$(memif 0 client p1 "$pod_mac")" \
        "$pod_addrs" --duration 0 >&2 || return 1
    fi
  fi
  # shellcheck disable=SC2046 # the EAL arguments are words
  run_bounded $((trial_s + 30)) "$tmp/gen.log" "$pktgen" $(pg_eal gen 0) "${vdevs[@]}" -- \
    --role client --port 0 "${pod_args[@]}" --src "$client_addr" --sport 10000-59999 \
    --dst "$vip:53" --flows $flows --size "$frame_size" --rate "$rate" --duration $trial_s \
    --drain-ms 200 --gateway-mac "$sluiced_mac" --json "$json"
  if ((rc != 0)) || [[ ! -s $json ]]; then
    echo "e2e: generator against $dut exited $rc; its output:" >&2
    tail -n 20 "$tmp/gen.log" >&2
    return 1
  fi
}

# field JSON KEY: one number from a pktgen summary.
field() {
  "$topo_python" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

# search DUT: trials into $tmp/DUT-N.json, their names listed in $tmp/DUT.trials.
search() {
  local dut=$1 n=0 loss rx
  trial "$dut" 0 "$tmp/$dut-0.json" || return 1
  loss=$(field "$tmp/$dut-0.json" loss_ratio)
  rx=$(field "$tmp/$dut-0.json" received_pps)
  printf '  %-16s as fast as possible: %8.3f Mpps back, loss %.4f%%\n' "$dut" \
    "$("$topo_python" -c "print($rx / 1e6)")" "$("$topo_python" -c "print($loss * 100)")"
  echo "$tmp/$dut-0.json" >"$tmp/$dut.trials"
  "$topo_python" -c "import sys; sys.exit(0 if $loss <= $max_loss else 1)" && return 0
  local f rate
  for f in "${factors[@]}"; do
    n=$((n + 1))
    rate=$("$topo_python" -c "print(int($rx * $f))")
    trial "$dut" "$rate" "$tmp/$dut-$n.json" || return 1
    loss=$(field "$tmp/$dut-$n.json" loss_ratio)
    printf '  %-16s at %8.3f Mpps offered: %8.3f Mpps back, loss %.4f%%\n' "$dut" \
      "$("$topo_python" -c "print($rate / 1e6)")" \
      "$("$topo_python" -c "print($(field "$tmp/$dut-$n.json" received_pps) / 1e6)")" \
      "$("$topo_python" -c "print($loss * 100)")"
    echo "$tmp/$dut-$n.json" >>"$tmp/$dut.trials"
    "$topo_python" -c "import sys; sys.exit(0 if $loss <= $max_loss else 1)" && return 0
  done
  return 0
}

one_process=1
# Its usage text, read whole first: `grep -q` would close the pipe early and,
# under pipefail, fail the test on the writer's SIGPIPE.
usage=$("$pktgen" -- --help 2>&1 || true)
if [[ $usage != *--pod-port* ]]; then
  echo "e2e: $pktgen has no --pod-port: client and pod as two processes, both on CPU 0" >&2
  one_process=0
fi

duts=(testpmd-macswap sluice-fullnat sluice-dnat)
failed=()
started=$SECONDS
echo "e2e over memif: generator on CPU 0, DUT worker on CPU 1; $flows UDP flows of $frame_size-byte frames, ${trial_s} s trials"
for dut in "${duts[@]}"; do
  if ! start_dut "$dut"; then
    echo "e2e: $dut did not start; its output:" >&2
    tail -n 30 "$tmp/$dut.log" >&2
    failed+=("$dut")
    stop_dut "$dut"
    continue
  fi
  search "$dut" || failed+=("$dut")
  stop_dut "$dut"
done

# The table and the JSON, from the chosen trials.
"$topo_python" - "$tmp" "$out" "$quick" "$one_process" "$load_before" "$trial_s" "$flows" "$max_loss" \
  "$frame_size" "$((SECONDS - started))" "${failed[*]}" "${duts[@]}" <<'EOF'
import json, os, platform, subprocess, sys, time

(tmp, out, quick, one_process, load, trial_s, flows, max_loss, frame_size, seconds, failed,
 *duts) = sys.argv[1:]
failed = failed.split()
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
            if l.startswith("model name")), "unknown")
try:
    testpmd = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "dpdk"],
                             capture_output=True, text=True).stdout.strip()
except OSError:
    testpmd = ""
machine = {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
           "load_before": load, "dpdk_package": testpmd,
           "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}
rows = []
for dut in duts:
    listed = os.path.join(tmp, dut + ".trials")
    trials = []
    if os.path.exists(listed):
        trials = [json.load(open(p)) for p in open(listed).read().split() if os.path.exists(p)]
    if dut in failed or not trials:
        rows.append({"dut": dut, "mpps": None, "loss": None, "rtt_us": {}, "ratio": None,
                     "error": "did not run; see the log above"})
        continue
    # The most that came back within the loss bound; failing that, the least loss.
    good = [t for t in trials if t["loss_ratio"] <= float(max_loss)]
    s = (max(good, key=lambda t: t["received_pps"]) if good
         else min(trials, key=lambda t: (t["loss_ratio"], -t["received_pps"])))
    rows.append({"dut": dut, "mpps": round(s["received_pps"] / 1e6, 4),
                 "offered_mpps": round(s["offered_pps"] / 1e6, 4) if s["offered_pps"] else None,
                 "loss": s["loss_ratio"],
                 "within_loss": s["loss_ratio"] <= float(max_loss),
                 "rtt_us": {k: s["rtt_us"][k] for k in ("p50", "p99", "p999")},
                 "ratio": None,
                 "trials": [{"offered_mpps": t["offered_pps"] / 1e6 if t["offered_pps"] else None,
                             "mpps": t["received_pps"] / 1e6, "loss": t["loss_ratio"]}
                            for t in trials]})
ceiling = next((r["mpps"] for r in rows if r["dut"] == "testpmd-macswap" and r["mpps"]), None)
for r in rows:
    if ceiling and r["mpps"]:
        r["ratio"] = round(r["mpps"] / ceiling, 3)
generator = ("sluice-pktgen client and pod in one process" if one_process == "1" else
             "sluice-pktgen client and pod as two processes sharing it (no --pod-port)")
notes = [
    f"one generator core (CPU 0: {generator}), one DUT worker core (CPU 1), main lcores "
    f"sleeping; {flows} UDP flows of {frame_size}-byte frames (FCS included: "
    f"{int(frame_size) - 4} bytes built); {trial_s} s trials",
    "mpps: round-trip packets per second the client got back, at the highest rate tried "
    f"with loss <= {float(max_loss):.1%} (first as fast as possible, then fixed rates below "
    "what came back)",
    "testpmd macswap translates nothing: there the pod owns the VIP itself",
    "memif rings of 2048 slots, socket files, --no-huge; the machine may be shared, "
    f"load average before: {load}",
]
if any(r.get("within_loss") is False for r in rows):
    notes.append("a row with within_loss false found no tried rate under the loss bound; "
                 "it shows the trial with the least loss")
doc = {"kind": "e2e_memif", "mode": "quick" if quick == "1" else "full", "machine": machine,
       "frame_size": int(frame_size), "rows": rows, "notes": notes, "seconds": int(seconds)}
print()
print(f"{'dut':<18} {'Mpps':>8} {'loss':>9} {'p50 us':>9} {'p99 us':>9} {'p99.9 us':>9} "
      f"{'ratio':>6}")
for r in rows:
    if r["mpps"] is None:
        print(f"{r['dut']:<18} {'failed':>8}")
        continue
    t = r["rtt_us"]
    ratio = f"{r['ratio']:.3f}" if r["ratio"] is not None else "-"
    print(f"{r['dut']:<18} {r['mpps']:8.3f} {r['loss']:9.5f} {t['p50']:9.1f} {t['p99']:9.1f} "
          f"{t['p999']:9.1f} {ratio:>6}")
for n in notes:
    print("  - " + n)
if out:
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
    print("e2e: wrote " + out)
EOF
py_rc=$?
echo "e2e: done in $((SECONDS - started)) s"
if ((${#failed[@]} > 0 || py_rc != 0)); then
  echo "e2e: failed: ${failed[*]}" >&2
  exit 1
fi
