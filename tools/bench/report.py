#!/usr/bin/python3
"""Turns the raw output of tools/bench/run into latest.json, latest.md and latest.png.

Reads from --raw: Google Benchmark JSON files (pipeline, maglev, conntrack, scale) and the
JSON of the benchmark scripts (e2e, kernel: {"kind", "rows": [...], "notes": [...]}). A
missing input leaves its section out, marked "not run"; nothing is made up. Only Python's
standard library and gnuplot (Debian's gnuplot-nox).
"""
import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time

TARGETS = [
    # key, text, comparison, goal
    ("pipeline_1m_tsc", "pipeline, established flows at 1M flows (TSC cycles/packet)", "<=", 150),
    ("e2e_ratio", "end to end over memif, Sluice fullnat / testpmd macswap ceiling", ">=", 0.90),
    ("kernel_ratio", "per-core capacity, Sluice / best kernel datapath", ">=", 20),
    ("new_flows_mps", "new flows per second per core (M)", ">=", 2.0),
    ("publish_10k_us", "one-service publish visible at 10k services, p50 (us)", "<=", 1000),
]


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def gbench_rows(doc):
    """Google Benchmark JSON -> [{name, args, real_time, time_unit, counters...}]."""
    rows = []
    for b in (doc or {}).get("benchmarks", []):
        if b.get("run_type") == "aggregate" or b.get("error_occurred"):
            continue
        name = b["name"]
        parts = [p for p in name.split("/") if ":" not in p and p != "manual_time"]
        row = {"name": parts[0], "args": [int(a) for a in parts[1:] if a.isdigit()],
               "real_time": b.get("real_time"), "time_unit": b.get("time_unit")}
        skip = {"name", "run_name", "run_type", "repetitions", "repetition_index", "threads",
                "iterations", "real_time", "cpu_time", "time_unit", "family_index",
                "per_family_instance_index", "aggregate_name", "label"}
        for k, v in b.items():
            if k not in skip and isinstance(v, (int, float)):
                row[k] = v
        rows.append(row)
    return rows


def find(rows, name, args=None):
    for r in rows:
        if r["name"] == name and (args is None or r["args"][: len(args)] == args):
            return r
    return None


def machine(raw):
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    tsc = None
    text = ""
    try:
        text = open(os.path.join(raw, "pipeline.txt")).read()
    except OSError:
        pass
    m = re.search(r"TSC ([0-9.]+) GHz", text)
    if m:
        tsc = float(m.group(1))
    virt = ""
    try:
        virt = subprocess.run(["systemd-detect-virt"], capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(mem_gb, 1),
            "kernel": platform.release(), "virtualization": virt or "none", "tsc_ghz": tsc,
            "commit": commit, "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def collect(raw):
    out = {}
    pipe = gbench_rows(load(os.path.join(raw, "pipeline.json")))
    if pipe:
        est = [{"flows": r["args"][0], "tsc_per_packet": r.get("tsc/pkt"), "mpps": r.get("Mpps")}
               for r in pipe if r["name"] == "established"]
        nf = find(pipe, "new_flows")
        pub = [{"services": r["args"][0], "upsert_p50_us": r.get("upsert_p50_us"),
                "visible_p50_us": r.get("visible_p50_us"),
                "visible_p99_us": r.get("visible_p99_us")} for r in pipe if r["name"] == "publish"]
        out["pipeline"] = {"established": est, "new_flows_mps": nf and nf.get("Mpps"),
                           "new_flows_tsc": nf and nf.get("tsc/pkt"), "publish": pub}
    mag = gbench_rows(load(os.path.join(raw, "maglev.json")))
    if mag:
        out["maglev"] = [{"M": r["args"][0], "N": r["args"][1], "ms": r["real_time"]}
                         for r in mag if r["name"] == "buildTime" and r["time_unit"] == "ms"]
    ct = gbench_rows(load(os.path.join(raw, "conntrack.json")))
    if ct:
        out["conntrack"] = [{"op": r["name"], "flows": r["args"][0], "tsc_per_op": r.get("tsc/op")}
                            for r in ct]
    scale = gbench_rows(load(os.path.join(raw, "scale.json")))
    if scale:
        out["scale"] = scale
    for kind in ("admin", "xds", "e2e", "kernel"):
        doc = load(os.path.join(raw, kind + ".json"))
        if doc:
            out[kind] = doc
    return out


def measured_targets(res):
    got = {}
    pipe = res.get("pipeline", {})
    for e in pipe.get("established", []):
        if e["flows"] == 1000000:
            got["pipeline_1m_tsc"] = e["tsc_per_packet"]
    if pipe.get("new_flows_mps") is not None:
        got["new_flows_mps"] = pipe["new_flows_mps"]
    for p in pipe.get("publish", []):
        if p["services"] == 10000:
            got["publish_10k_us"] = p["visible_p50_us"]
    for r in res.get("e2e", {}).get("rows", []):
        if r.get("dut") == "sluice-fullnat" and r.get("ratio") is not None:
            got["e2e_ratio"] = r["ratio"]
    krows = res.get("kernel", {}).get("rows", [])
    kern = [r.get("mpps_per_core") for r in krows
            if not str(r.get("scenario", "")).startswith("sluice") and r.get("mpps_per_core")]
    sl = [r.get("mpps_per_core") for r in krows
          if str(r.get("scenario", "")).startswith("sluice") and r.get("mpps_per_core")]
    if kern and sl:
        got["kernel_ratio"] = max(sl) / max(kern)
    table = []
    for key, text, op, goal in TARGETS:
        v = got.get(key)
        met = None if v is None else (v <= goal if op == "<=" else v >= goal)
        table.append({"key": key, "what": text, "goal": f"{op} {goal}", "measured": v, "met": met})
    return table


def fmt(v, digits=2):
    if v is None:
        return "not run"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return f"{v:,}"


def markdown(doc):
    m, res = doc["machine"], doc["results"]
    lines = [f"Measured {m['date']} on {m['cpu']}, {m['cores']} vCPUs, {m['memory_gb']} GB, "
             f"kernel {m['kernel']} ({m['virtualization']}), TSC {fmt(m['tsc_ghz'], 3)} GHz, "
             f"commit {m['commit']}; `tools/bench/run{' --quick' if doc['mode'] == 'quick' else ''}`"
             f" in {doc['seconds']} s, load average before {doc['load_before']}.", ""]
    lines += ["| target | goal | measured | |", "|---|---|---|---|"]
    for t in doc["targets"]:
        mark = "n/a" if t["met"] is None else ("met" if t["met"] else "missed")
        lines.append(f"| {t['what']} | {t['goal']} | {fmt(t['measured'])} | {mark} |")
    pipe = res.get("pipeline")
    if pipe:
        lines += ["", "| pipeline, established flows | TSC cycles/packet | Mpps per core |",
                  "|---|---|---|"]
        for e in pipe["established"]:
            lines.append(f"| {e['flows']:,} flows | {fmt(e['tsc_per_packet'], 1)} | "
                         f"{fmt(e['mpps'])} |")
        lines.append(f"| new flows (conntrack miss, Maglev, SNAT port, insert) | "
                     f"{fmt(pipe['new_flows_tsc'], 1)} | {fmt(pipe['new_flows_mps'])} |")
        for p in pipe["publish"]:
            lines.append(f"| publish among {p['services']:,} services: call p50 / visible p50, p99 "
                         f"(us) | {fmt(p['upsert_p50_us'])} | {fmt(p['visible_p50_us'])}, "
                         f"{fmt(p['visible_p99_us'])} |")
    adm = res.get("admin")
    if adm:
        lines += ["", f"**admin API: endpoint set -> data path, {adm['services']:,} other services, "
                  f"{adm['calls']} calls** (us)", "", "| | p50 | p99 |", "|---|---|---|",
                  f"| SetEndpoint round trip (client) | {fmt(adm['rpc_p50_us'], 1)} | "
                  f"{fmt(adm['rpc_p99_us'], 1)} |",
                  f"| publish in the server | {fmt(adm['publish_p50_us'], 1)} | "
                  f"{fmt(adm['publish_p99_us'], 1)} |",
                  f"| call -> new flow leaves to the changed set | {fmt(adm['visible_p50_us'], 1)} | "
                  f"{fmt(adm['visible_p99_us'], 1)} |"]
    x = res.get("xds")
    if x:
        lines += ["", f"**xDS: {x['services']:,} services x {x['endpoints']} endpoints; "
                  f"{x['lazy_services']:,} services with 1% active**", "", "| | figure |", "|---|---|",
                  f"| initial sync, delta / SotW (ms) | {fmt(x['sync_delta_ms'], 1)} / "
                  f"{fmt(x['sync_sotw_ms'], 1)} |",
                  f"| initial sync: RSS / service tables added (MB) | {fmt(x['sync_delta_rss_mb'], 1)} / "
                  f"{fmt(x['sync_table_mb'], 1)} |",
                  f"| one endpoint healthy -> new flow to it, p50 / p99 (us) | "
                  f"{fmt(x['change_visible_p50_us'], 1)} / {fmt(x['change_visible_p99_us'], 1)} |",
                  f"| of which sluice-xds's snapshot diff, p50 (us) | {fmt(x['change_set_p50_us'], 1)} |",
                  f"| service tables, eager / lazy (MB) | {fmt(x['eager_table_mb'], 1)} / "
                  f"{fmt(x['lazy_table_mb'], 1)} |"]
    for kind, title in (("e2e", "end to end over memif, one DUT core"),
                        ("kernel", "per-core capacity against the kernel datapaths")):
        sec = res.get(kind)
        if not sec or not sec.get("rows"):
            continue
        cols = []
        for r in sec["rows"]:
            for k, v in r.items():
                if k not in cols and not isinstance(v, (dict, list)):
                    cols.append(k)
        lines += ["", f"**{title}**", "", "| " + " | ".join(cols) + " |",
                  "|" + "---|" * len(cols)]
        for r in sec["rows"]:
            lines.append("| " + " | ".join(fmt(r.get(c), 3) if isinstance(r.get(c), float)
                                           else str(r.get(c, "")) for c in cols) + " |")
        for n in sec.get("notes", []):
            lines.append(f"- {n}")
    if res.get("maglev"):
        mg = [x for x in res["maglev"] if (x["M"], x["N"]) in ((65521, 1000), (131071, 1000),
                                                               (16381, 1000))]
        if mg:
            lines += ["", "Maglev build: " + "; ".join(
                f"M = {x['M']}, N = {x['N']}: {fmt(x['ms'], 3)} ms" for x in mg) + "."]
    if res.get("scale"):
        lines += ["", "**scale** (bench_scale)", "", "| benchmark | args | figures |", "|---|---|---|"]
        for r in res["scale"]:
            figs = ", ".join(f"{k} {fmt(v, 2) if isinstance(v, float) else v}"
                             for k, v in r.items()
                             if k not in ("name", "args", "real_time", "time_unit"))
            lines.append(f"| {r['name']} | {'/'.join(map(str, r['args']))} | {figs} |")
    return "\n".join(lines) + "\n"


def chart(doc, out_png):
    """Packets per second one core sustains, every datapath measured, on one log axis."""
    if not shutil.which("gnuplot"):
        return "gnuplot not found"
    res = doc["results"]
    bars = []
    for r in res.get("kernel", {}).get("rows", []):
        if r.get("mpps_per_core"):
            bars.append((f"{r['scenario']} ({r.get('flows', '?')} flows)", r["mpps_per_core"]))
    for r in res.get("e2e", {}).get("rows", []):
        if r.get("mpps"):
            bars.append((f"memif e2e: {r['dut']}", r["mpps"]))
    for e in res.get("pipeline", {}).get("established", []):
        if e.get("mpps"):
            bars.append((f"pipeline {e['flows']:,} flows", e["mpps"]))
    if not bars:
        return "nothing to plot"
    dat = out_png + ".dat"
    with open(dat, "w") as f:
        for i, (label, v) in enumerate(bars):
            f.write(f'{i} "{label}" {v}\n')
    m = doc["machine"]
    script = f"""
set terminal pngcairo size 1000,{120 + 32 * len(bars)} font "sans,10"
set output "{out_png}"
set title "Mpps per core: Sluice and the kernel datapaths ({m['cpu']}, {m['date']})" noenhanced
set style fill solid 0.8 border -1
set xlabel "Mpps per core (log scale)"
set logscale x
set xrange [0.01:*]
set yrange [-0.7:{len(bars) - 0.3}]
set ytics noenhanced
set grid xtics
unset key
plot "{dat}" using (sqrt(0.01*$3)):1:(0.01):3:($1-0.35):($1+0.35):ytic(2) with boxxyerror lc rgb "#4878a8", \\
     "{dat}" using 3:1:(sprintf("%.2f", $3)) with labels left offset 0.5,0
"""
    r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True)
    os.unlink(dat)
    return None if r.returncode == 0 else r.stderr.strip()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--mode", default="full")
    ap.add_argument("--load", default="")
    ap.add_argument("--seconds", type=int, default=0)
    a = ap.parse_args()
    res = collect(a.raw)
    if not res:
        print("report: no benchmark output in " + a.raw, file=sys.stderr)
        return 1
    doc = {"machine": machine(a.raw), "mode": a.mode, "load_before": a.load,
           "seconds": a.seconds, "results": res}
    doc["targets"] = measured_targets(res)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "latest.json"), "w") as f:
        json.dump(doc, f, indent=1)
    md = markdown(doc)
    with open(os.path.join(a.out, "latest.md"), "w") as f:
        f.write(md)
    err = chart(doc, os.path.join(a.out, "latest.png"))
    print(md)
    if err:
        print("report: chart not drawn: " + err, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
