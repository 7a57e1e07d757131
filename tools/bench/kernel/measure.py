#!/usr/bin/python3
"""Counters and arithmetic for tools/bench/kernel/run.sh (standard library only).

  measure.py snapshot --gw NS --gw-out IF --pod NS [--sluiced-log FILE]
      One JSON line: wall time, /proc/stat of every CPU, the gateway's egress
      veth tx packets, the pod side's per-endpoint nftables counters and, with
      --sluiced-log, the last counters sluiced printed for its worker.
  measure.py row --scenario S --flows N --frame-size L --before F --after F
      One result row (JSON) from two snapshot files.
  measure.py report --rows FILE --out FILE.json --notes FILE --machine FILE
      Prints the table, adds the Sluice/kernel ratio, writes the JSON.

/proc/stat counts in USER_HZ ticks; a kernel row's core time is the softirq
(+ system + irq) time of the CPU the forwarding was steered to. A Sluice
row's core time is busy_cycles / tsc_hz of its one worker.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

USER_HZ = os.sysconf("SC_CLK_TCK")
STAT_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


def proc_stat():
    cpus = {}
    with open("/proc/stat") as f:
        for line in f:
            parts = line.split()
            if re.fullmatch(r"cpu[0-9]+", parts[0]):
                cpus[parts[0]] = dict(zip(STAT_FIELDS, (int(v) for v in parts[1:9])))
    return cpus


def link_tx_packets(ns, dev):
    out = subprocess.run(["ip", "-n", ns, "-s", "-j", "link", "show", "dev", dev],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)[0]["stats64"]["tx"]["packets"]


def pod_counters(ns):
    """Packets per endpoint address from the pod side's netdev ingress table."""
    out = subprocess.run(["ip", "netns", "exec", ns, "nft", "-j", "list", "table", "netdev",
                          "pods"], capture_output=True, text=True, check=True).stdout
    counts = {}
    for item in json.loads(out)["nftables"]:
        rule = item.get("rule")
        if not rule:
            continue
        addr, packets = None, None
        for e in rule["expr"]:
            if "match" in e and e["match"]["left"].get("payload", {}).get("field") == "daddr":
                addr = e["match"]["right"]
            if "counter" in e:
                packets = e["counter"]["packets"]
        if packets is not None:
            counts[addr or "other"] = packets
    return counts


def sluiced_worker(log):
    """The last 'worker N: name=value ...' line sluiced printed, as a dict."""
    last = None
    with open(log) as f:
        for line in f:
            if re.match(r"worker [0-9]+: .*=", line):
                last = line
    if last is None:
        return None
    return {k: int(v) for k, v in re.findall(r"([a-z_0-9]+)=([0-9]+)", last)}


def worker_sched(pid):
    """[ns on CPU, ns waiting to run, user ticks, system ticks] of the process's DPDK worker lcore thread."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            if not re.match(r"(rte|lcore)-worker", f.read()):
                continue
        with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
            sched = [int(v) for v in f.read().split()[:2]]
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return sched + [int(fields[11]), int(fields[12])]  # + utime, stime ticks
    return None


def snapshot(a):
    t = time.time()
    snap = {"time": t, "stat": proc_stat(), "tx": link_tx_packets(a.gw, a.gw_out)}
    snap["pods"] = pod_counters(a.pod)
    if a.sluiced_log:
        snap["worker"] = sluiced_worker(a.sluiced_log)
    if a.sluiced_pid:
        snap["worker_sched"] = worker_sched(a.sluiced_pid)
    print(json.dumps(snap))


def ticks(before, after, cpu, fields):
    return sum(after["stat"][cpu][k] - before["stat"][cpu][k] for k in fields)


def row(a):
    with open(a.before) as f:
        b = json.load(f)
    with open(a.after) as f:
        e = json.load(f)
    wall = e["time"] - b["time"]
    r = {"scenario": a.scenario, "flows": a.flows, "frame_size": a.frame_size}
    cpus = {}
    for cpu in sorted(b["stat"]):
        cpus[cpu] = {k: round(ticks(b, e, cpu, [k]) / USER_HZ / wall, 3)
                     for k in ("user", "nice", "system", "softirq", "irq", "idle")}
    pods = {k: e["pods"].get(k, 0) - b["pods"].get(k, 0) for k in e["pods"]}
    at_pods = sum(v for k, v in pods.items() if k != "other")
    if a.scenario.startswith("sluice"):
        w0, w1 = b.get("worker"), e.get("worker")
        if not w0 or not w1:
            sys.exit("measure.py: no worker counters from sluiced in the window")
        rx = w1.get("rx_packets", 0) - w0.get("rx_packets", 0)
        fwd = w1.get("tx_packets", 0) - w0.get("tx_packets", 0)
        busy = w1.get("busy_cycles", 0) - w0.get("busy_cycles", 0)
        core_s = busy / a.tsc_hz
        r.update({"forwarded": fwd, "core_seconds": round(core_s, 4),
                  "mpps_per_core": round(fwd / core_s / 1e6, 3) if core_s > 0 else None,
                  "cycles_per_packet": round(busy / rx, 1) if rx else None,
                  "packets_per_rx_burst": round(rx / max(1, w1.get("rx_bursts", 0) -
                                                         w0.get("rx_bursts", 0)), 1),
                  "worker_busy_share": round(core_s / wall, 3)})
        # busy_cycles is TSC time, so it also counts time the worker thread
        # was preempted (a shared machine): how much of the window it ran.
        s0, s1 = b.get("worker_sched"), e.get("worker_sched")
        if s0 and s1:
            r["worker_on_cpu_share"] = round((s1[0] - s0[0]) / 1e9 / wall, 3)
            # The worker thread's time in user space and in the kernel (the
            # PMD's sendto, and softirqs that run on its way out). Empty polls
            # are all user time, so the busy polls' user part is roughly
            # user - (1 - busy): an estimate of the cycles per packet a PMD
            # without syscalls would leave.
            user = (s1[2] - s0[2]) / USER_HZ / wall
            kern = (s1[3] - s0[3]) / USER_HZ / wall
            r["worker_user_share"] = round(user, 3)
            r["worker_kernel_share"] = round(kern, 3)
            busy_user = max(0.0, user - (1 - core_s / wall))
            if rx:
                r["user_cycles_per_packet_est"] = round(busy_user * wall * a.tsc_hz / rx, 1)
    else:
        cpu = "cpu%d" % a.cpu
        core_s = ticks(b, e, cpu, ["softirq", "system", "irq"]) / USER_HZ
        fwd = e["tx"] - b["tx"]
        r.update({"forwarded": fwd, "core_seconds": round(core_s, 3),
                  "mpps_per_core": round(fwd / core_s / 1e6, 3) if core_s > 0 else None,
                  "softirq_seconds": round(ticks(b, e, cpu, ["softirq"]) / USER_HZ, 3),
                  "core_busy_share": round(core_s / wall, 3)})
    r.update({"seconds": round(wall, 3), "forwarded_mpps": round(fwd / wall / 1e6, 3),
              "at_pods": at_pods, "per_endpoint": pods, "cpus": cpus})
    # Forwarded packets must arrive at the endpoints, and at every one of them.
    r["checks_ok"] = bool(fwd) and at_pods >= 0.95 * fwd and all(
        v > 0 for k, v in pods.items() if k != "other")
    print(json.dumps(r))


def fmt(v, digits):
    return "-" if v is None else f"{v:.{digits}f}"


def report(a):
    rows = []
    with open(a.rows) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    with open(a.notes) as f:
        notes = [line.rstrip("\n") for line in f if line.strip()]
    with open(a.machine) as f:
        machine = json.load(f)
    tsc_hz = machine.get("tsc_hz")
    # Sluice / kernel at the same flow count: the best Sluice row over each kernel row.
    best = {}
    for r in rows:
        if r["scenario"].startswith("sluice") and r.get("mpps_per_core"):
            best[r["flows"]] = max(best.get(r["flows"], 0), r["mpps_per_core"])
    for r in rows:
        if not r["scenario"].startswith("sluice") and r.get("mpps_per_core"):
            s = best.get(r["flows"])
            r["sluice_ratio"] = round(s / r["mpps_per_core"], 1) if s else None
    head = ("scenario", "flows", "forwarded", "core s", "busy", "Mpps/core", "Sluice/this",
            "cyc/pkt", "user est", "endpoint shares")
    print("%-16s %7s %11s %8s %6s %10s %11s %8s %8s  %s" % head)
    for r in rows:
        busy = r.get("core_busy_share", r.get("worker_busy_share"))
        pods = r["per_endpoint"]
        total = sum(v for k, v in pods.items() if k != "other") or 1
        shares = " ".join("%s=%.2f" % (k.rsplit(".", 1)[-1], v / total)
                          for k, v in sorted(pods.items()) if k != "other")
        cyc = r.get("cycles_per_packet")
        if cyc is None and r.get("mpps_per_core") and tsc_hz:
            cyc = tsc_hz / (r["mpps_per_core"] * 1e6)  # the kernel's, in the same TSC cycles
        print("%-16s %7d %11d %8s %6s %10s %11s %8s %8s  %s" % (
            r["scenario"], r["flows"], r["forwarded"], fmt(r["core_seconds"], 3),
            fmt(busy, 2), fmt(r.get("mpps_per_core"), 3), fmt(r.get("sluice_ratio"), 1),
            fmt(cyc, 0), fmt(r.get("user_cycles_per_packet_est"), 0), shares))
    print("(busy: share of the window the core worked; cyc/pkt: TSC cycles per packet; user est:"
          " Sluice's busy cycles outside the kernel, per packet, an estimate)")
    bad = [f"{r['scenario']}/{r['flows']}" for r in rows if not r.get("checks_ok")]
    if bad:
        notes.append("CHECK FAILED (forwarded packets not all at the endpoints, or an endpoint "
                     "got none): " + ", ".join(bad))
    for n in notes:
        print("note: " + n)
    doc = {"kind": "kernel", "machine": machine, "rows": rows, "notes": notes}
    if a.out:
        with open(a.out, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
    return 1 if bad else 0


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("snapshot")
    s.add_argument("--gw", required=True)
    s.add_argument("--gw-out", required=True)
    s.add_argument("--pod", required=True)
    s.add_argument("--sluiced-log")
    s.add_argument("--sluiced-pid", type=int)
    r = sub.add_parser("row")
    r.add_argument("--scenario", required=True)
    r.add_argument("--flows", type=int, required=True)
    r.add_argument("--frame-size", type=int, required=True,
                   help="bytes on the wire, FCS included")
    r.add_argument("--before", required=True)
    r.add_argument("--after", required=True)
    r.add_argument("--cpu", type=int, default=1)
    r.add_argument("--tsc-hz", type=float, default=0)
    o = sub.add_parser("report")
    o.add_argument("--rows", required=True)
    o.add_argument("--notes", required=True)
    o.add_argument("--machine", required=True)
    o.add_argument("--out")
    a = p.parse_args()
    sys.exit({"snapshot": snapshot, "row": row, "report": report}[a.cmd](a) or 0)


if __name__ == "__main__":
    main()
