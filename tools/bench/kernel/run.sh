#!/usr/bin/env bash
# Per-core capacity of Sluice beside the kernel datapaths kube-proxy programs,
# measured in the same run, with the same generator, flows and frame size:
#
#   netns -g                  netns -gw                        netns -pod
#   sluice-pktgen (CPU0) g0 ==veth== gw0 [gateway] gw1 ==veth== p0  10.250.0.11-13
#   198.18.0.2-129            198.18.0.1      10.250.0.1           (counted, dropped)
#               UDP to VIP 10.96.0.10:80 -> endpoints 10.250.0.11-13:8080
#
# Scenarios (one gateway each, a fresh set of namespaces each):
#   iptables  kube-proxy's iptables mode: KUBE-SERVICES -> KUBE-SVC -> KUBE-SEP
#             chains, `statistic --mode random` picks, DNAT, masquerade of
#             off-cluster clients, conntrack (iptables-restore; Debian's
#             iptables is the nf_tables backend with xtables matches)
#   nftables  kube-proxy's nftables mode: a service-ips verdict map, a
#             `numgen random mod N` vmap to endpoint chains that DNAT
#   sluice-fullnat, sluice-dnat
#             sluiced, one worker on CPU1, net_af_packet on gw0 and gw1
#
# How per-core capacity is measured:
#   kernel  RPS steers gw0's receive (and so the forwarding, NAT and the
#           transmit into gw1) to CPU1; the generator runs on CPU0 and the pod
#           side's receive is steered to CPU0 too. Packets forwarded (gw1 tx)
#           divided by CPU1's softirq + system + irq time from /proc/stat over
#           the same window.
#   Sluice  the worker's busy_cycles (TSC cycles of poll iterations that moved
#           packets) over the window: packets / (busy_cycles / tsc_hz). gw0's
#           RPS is CPU0 here, so the kernel's copy into the af_packet rx ring
#           runs on the generator's core; the PMD's tx syscalls run in the
#           worker and are counted.
# The pod side drops everything at its netdev ingress hook, counting per
# endpoint address, so the table shows the spread over endpoints.
#
# Usage: run.sh [--quick] [--out FILE.json] [--build DIR] [--flows N[,N...]]
#               [--scenarios iptables,nftables,sluice-fullnat,sluice-dnat] [--size N]
#               [--pod-cpu 0|1]
#   --quick   about 5 s of measurement per scenario, 256 flows only (< 90 s)
#   default   about 15 s per scenario, 256 and 65536 flows
#   --pod-cpu    the CPU the pod side's receive (count and drop) runs on, by
#             RPS: 0 (default) keeps it off the measured core, but every
#             transmit into the pod veth then also sends an IPI to CPU0, which
#             Sluice's small af_packet tx bursts pay per syscall and the
#             kernel per softirq batch; 1 charges the pod side's (equal, small)
#             cost to every scenario's core instead
#   --size    frame size on the wire, FCS included, as sluice-pktgen's --size
#             counts it (default 64, the Ethernet minimum: 60 bytes built)
#   --build   the meson build with cp/sluiced and tools/pktgen/sluice-pktgen
#             (default: build-rel, as tools/bench/run builds it)
# Environment: GEN_BURST (generator burst, default 32), GEN_VDEV_ARGS and
# SLUICE_VDEV_ARGS (extra devargs for sluiced's ports, e.g. ",qdisc_bypass=1"),
# SLUICE_PMD (af_packet, the default, or af_xdp: sluiced's ports on the veths),
# KEEP_TMP=1 keeps the logs and snapshots.
# Needs root, ip, nft, iptables-restore, ethtool, python3.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
# sluiced's config pieces and process helpers, the bench options.
# shellcheck source=tests/pktgen/lib.sh
source "$root/tests/pktgen/lib.sh"

quick=0
out=""
build=$root/build-rel
flows_list=""
frame_size=""
pod_cpu=0
scenarios=iptables,nftables,sluice-fullnat,sluice-dnat
while (($# > 0)); do
  if ! bench_opt "$@"; then
    case $1 in
      --flows | --flows=*) take_opt "$@" && flows_list=$opt_val ;;
      --pod-cpu | --pod-cpu=*) take_opt "$@" && pod_cpu=$opt_val ;;
      --scenarios | --scenarios=*) take_opt "$@" && scenarios=$opt_val ;;
      *)
        echo "kernel bench: unknown argument '$1' (try --help)" >&2
        exit 2
        ;;
    esac
  fi
  shift "$bench_words"
done
bench_setup "kernel bench" "network namespaces, DPDK"
if ((quick)); then
  window=5
  [[ -n $flows_list ]] || flows_list=256
else
  window=15
  [[ -n $flows_list ]] || flows_list=256,65536
fi
gen_vdev_args=${GEN_VDEV_ARGS-}
sluice_vdev_args=${SLUICE_VDEV_ARGS-}
sluice_pmd=${SLUICE_PMD:-af_packet}

gen_burst=${GEN_BURST:-32}
warmup=2 # seconds of traffic before the window: ARP, flow set-up, steady state
# The minimum Ethernet frame, as packet rates are quoted: 60 bytes built
# (14 + 20 + 8 + sluice-pktgen's 18-byte probe) and the 4-byte FCS.
[[ -n $frame_size ]] || frame_size=64
[[ $pod_cpu == [01] ]] || {
  echo "kernel bench: --pod-cpu is 0 or 1" >&2
  exit 2
}
if (($(nproc) < 2)); then
  echo "kernel bench: needs two CPUs (generator on CPU0, gateway on CPU1)" >&2
  exit 2
fi

# Addresses; all inside the namespaces this script makes.
gen_src=198.18.0.2-198.18.0.129
gen_gw=198.18.0.1
vip=10.96.0.10
svc_port=80
pod_port=8080
pod_net=10.250.0
cluster_cidr=10.250.0.0/16
pods=(10.250.0.11 10.250.0.12 10.250.0.13)

base=sluice-kb
ns_g=$base$$-g
ns_gw=$base$$-gw
ns_pod=$base$$-pod
prefix=$base$$ # DPDK --file-prefix stem: -lb and -gen
tmp=$(mktemp -d /tmp/sluice-kb.XXXXXX)
child_pids=()

teardown() {
  local ns
  for ns in "$ns_g" "$ns_gw" "$ns_pod"; do topo_delete_ns "$ns"; done
}
cleanup() {
  trap - EXIT INT TERM
  local pid
  for pid in "${child_pids[@]}" ${sluiced_pid:+"$sluiced_pid"}; do kill -KILL "$pid" 2>/dev/null; done
  teardown
  if [[ -n ${KEEP_TMP:-} ]]; then
    echo "kernel bench: kept $tmp" >&2
  else
    rm -rf "$tmp"
  fi
  rm -rf "/var/run/dpdk/$prefix-lb" "/var/run/dpdk/$prefix-gen"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Leftovers of runs killed before their cleanup.
topo_reap_stale "$base" "$base"
for d in /var/run/dpdk/"$base"*; do
  [[ -e $d && $d =~ /$base([0-9]+)- ]] || continue
  kill -0 "${BASH_REMATCH[1]}" 2>/dev/null || rm -rf "$d"
done

py=$topo_python
in_ns() {
  local ns=$1
  shift
  ip netns exec "$ns" "$@"
}

# rps NS DEV MASK: steer DEV's receive processing to the CPUs in MASK (hex).
rps() {
  in_ns "$1" sh -c "echo $3 > /sys/class/net/$2/queues/rx-0/rps_cpus"
}

# topology MODE: fresh namespaces and veths. MODE kernel gives the gateway
# addresses and forwarding; MODE sluice leaves gw0/gw1 bare for sluiced.
topology() (
  set -e
  trap 'echo "kernel bench: topology failed: $BASH_COMMAND" >&2' ERR
  local mode=$1 ns p
  teardown # what a failed scenario before may have left
  for ns in "$ns_g" "$ns_gw" "$ns_pod"; do
    ip netns add "$ns"
    in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$ns" link set lo up
  done
  ip -n "$ns_g" link add g0 type veth peer name gw0 netns "$ns_gw"
  ip -n "$ns_gw" link add gw1 type veth peer name p0 netns "$ns_pod"
  # The generator's end carries no address: only sluice-pktgen speaks there.
  ip -n "$ns_g" link set g0 up
  ip -n "$ns_gw" link set gw0 up
  ip -n "$ns_gw" link set gw1 up
  # Frames the kernel sends into sluiced's af_packet ports must carry full
  # checksums (lib.sh's topo_full_checksums).
  topo_full_checksums "$ns_pod" p0
  ip -n "$ns_pod" link set p0 up
  for p in "${pods[@]}"; do ip -n "$ns_pod" addr add "$p/24" dev p0; done
  # The pods answer ARP and nothing else: every IPv4 packet is counted by
  # destination and dropped at ingress, before IP.
  {
    echo "table netdev pods {"
    echo "  chain in {"
    echo "    type filter hook ingress device \"p0\" priority 0; policy accept;"
    echo "    meta protocol arp accept"
    for p in "${pods[@]}"; do echo "    ip daddr $p counter drop"; done
    echo "    counter drop"
    echo "  }"
    echo "}"
  } | in_ns "$ns_pod" nft -f -
  if [[ $mode == kernel ]]; then
    ip -n "$ns_gw" addr add "$gen_gw/24" dev gw0
    ip -n "$ns_gw" addr add "$pod_net.1/24" dev gw1
    in_ns "$ns_gw" sysctl -qw net.ipv4.ip_forward=1
    # The gateway's work on CPU1, the generator and the pods' on CPU0.
    rps "$ns_gw" gw0 2
  else
    in_ns "$ns_gw" sysctl -qw net.ipv4.ip_forward=0
    rps "$ns_gw" gw0 1
  fi
  rps "$ns_pod" p0 "$((1 << pod_cpu))"
  rps "$ns_gw" gw1 1
)

# kube-proxy's iptables mode for one UDP service with the pods as endpoints,
# laid out as its proxier writes it (chain names shortened, same structure).
iptables_rules() {
  local n=${#pods[@]} i sep
  echo "*nat"
  echo ":KUBE-SERVICES - [0:0]"
  echo ":KUBE-NODEPORTS - [0:0]"
  echo ":KUBE-POSTROUTING - [0:0]"
  echo ":KUBE-MARK-MASQ - [0:0]"
  echo ":KUBE-SVC-BENCHUDP80 - [0:0]"
  for ((i = 0; i < n; i++)); do echo ":KUBE-SEP-BENCH$i - [0:0]"; done
  echo "-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"
  echo "-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"
  echo "-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING"
  echo "-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000"
  echo "-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN"
  echo "-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000"
  echo "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE --random-fully"
  echo "-A KUBE-SERVICES -d $vip/32 -p udp -m comment --comment \"bench/svc:p80 cluster IP\" -m udp --dport $svc_port -j KUBE-SVC-BENCHUDP80"
  echo "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS"
  echo "-A KUBE-SVC-BENCHUDP80 ! -s $cluster_cidr -d $vip/32 -p udp -m comment --comment \"bench/svc:p80 cluster IP\" -m udp --dport $svc_port -j KUBE-MARK-MASQ"
  for ((i = 0; i < n; i++)); do
    # Endpoint i of n is taken with probability 1/(n-i); the last always.
    if ((i < n - 1)); then
      sep=$(printf -- '-m statistic --mode random --probability %s ' \
        "$("$py" -c "print('%.10f' % (1 / $((n - i))))")")
    else
      sep=""
    fi
    echo "-A KUBE-SVC-BENCHUDP80 -m comment --comment \"bench/svc:p80 -> ${pods[i]}:$pod_port\" ${sep}-j KUBE-SEP-BENCH$i"
    echo "-A KUBE-SEP-BENCH$i -s ${pods[i]}/32 -m comment --comment bench/svc:p80 -j KUBE-MARK-MASQ"
    echo "-A KUBE-SEP-BENCH$i -p udp -m comment --comment bench/svc:p80 -m udp -j DNAT --to-destination ${pods[i]}:$pod_port"
  done
  echo "COMMIT"
  echo "*filter"
  echo ":KUBE-FORWARD - [0:0]"
  echo ":KUBE-SERVICES - [0:0]"
  echo "-A FORWARD -m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD"
  echo "-A FORWARD -m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"
  echo "-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP"
  echo "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding rules\" -m mark --mark 0x4000/0x4000 -j ACCEPT"
  echo "-A KUBE-FORWARD -m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
  echo "COMMIT"
}

# kube-proxy's nftables mode for the same service: table ip kube-proxy with a
# service-ips verdict map and a numgen vmap over endpoint chains.
nftables_rules() {
  local n=${#pods[@]} i elems=""
  for ((i = 0; i < n; i++)); do elems+="${elems:+, }$i : goto endpoint-bench$i"; done
  cat <<EOF
table ip kube-proxy {
  comment "rules for kube-proxy"
  map service-ips {
    type ipv4_addr . inet_proto . inet_service : verdict
    comment "ClusterIP, ExternalIP and LoadBalancer IP traffic"
    elements = { $vip . udp . $svc_port : goto service-bench-udp-p80 }
  }
  map no-endpoint-services {
    type ipv4_addr . inet_proto . inet_service : verdict
  }
  chain mark-for-masquerade {
    mark set mark or 0x4000
  }
  chain masquerading {
    mark and 0x4000 == 0 return
    mark set mark xor 0x4000
    masquerade fully-random
  }
  chain services {
    ip daddr . meta l4proto . th dport vmap @service-ips
  }
  chain service-endpoints-check {
    ip daddr . meta l4proto . th dport vmap @no-endpoint-services
  }
  chain filter-forward {
    type filter hook forward priority -110; policy accept;
    ct state new jump service-endpoints-check
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    ct state invalid drop
    mark and 0x4000 == 0x4000 accept
  }
  chain nat-prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    jump services
  }
  chain nat-output {
    type nat hook output priority -100; policy accept;
    jump services
  }
  chain nat-postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    jump masquerading
  }
  chain service-bench-udp-p80 {
    ip daddr $vip udp dport $svc_port ip saddr != $cluster_cidr jump mark-for-masquerade
    numgen random mod $n vmap { $elems }
  }
EOF
  for ((i = 0; i < n; i++)); do
    cat <<EOF
  chain endpoint-bench$i {
    ip saddr ${pods[i]} jump mark-for-masquerade
    meta l4proto udp dnat to ${pods[i]}:$pod_port
  }
EOF
  done
  echo "}"
}

# sluiced_config MODE FLOWS: one worker on CPU1, af_packet on gw0 and gw1.
sluiced_config() {
  local mode=$1 flows=$2 eps="" p capacity
  capacity=$((flows * 4 > 65536 ? flows * 4 : 65536))
  for p in "${pods[@]}"; do eps+="${eps:+, }{ address = \"$p\"; port = $pod_port; }"; done
  sluiced_conf_head warning "$prefix-lb" 1024 16383 busy
  sluiced_conf_ports 1 "net_${sluice_pmd}0,iface=gw0$sluice_vdev_args" \
    "net_${sluice_pmd}1,iface=gw1$sluice_vdev_args"
  sluiced_conf_worker
  cat <<EOF
addresses = (
  { port = "p0"; address = "$gen_gw/24"; },
  { port = "p1"; address = "$pod_net.1/24"; }
);
snat = [ "$pod_net.1" ];
conntrack = {
  capacity = $capacity;
};
services = (
  { vip = "$vip"; port = $svc_port; protocol = "udp"; mode = "$mode"; endpoints = ( $eps ); }
);
EOF
}

snapshot() {
  "$py" "$here/measure.py" snapshot --gw "$ns_gw" --gw-out gw1 --pod "$ns_pod" "$@"
}

# drive SCENARIO FLOWS [SLUICED_LOG SLUICED_PID]: runs the generator for warm-up + window
# + 1 s, takes snapshots around the window, appends the row to rows.jsonl.
drive() {
  local scenario=$1 flows=$2 slog=${3:-} spid=${4:-} gen_pid extra=() row_args=()
  [[ -z $slog ]] || extra=(--sluiced-log "$slog" --sluiced-pid "$spid")
  local glog=$tmp/$scenario-$flows-gen.log
  # ip netns exec directly (not in_ns): $! must be the process itself.
  ip netns exec "$ns_g" timeout $((warmup + window + 30)) "$pktgen" --no-huge -m 512 --no-pci \
    --no-telemetry --file-prefix "$prefix-gen" --lcores 0@0,1@0 \
    --vdev "net_af_packet0,iface=g0${gen_vdev_args}" -- --role client --burst "$gen_burst" --src "$gen_src" --sport 10000-60000 \
    --dst "$vip:$svc_port" --flows "$flows" --rate 0 --window none --size "$frame_size" \
    --duration $((warmup + window + 1)) --drain-ms 0 --gateway "$gen_gw" \
    --json "$tmp/$scenario-$flows-gen.json" >"$glog" 2>&1 &
  gen_pid=$!
  child_pids+=("$gen_pid")
  if ! sluiced_wait_line "$glog" 'gateway .* is at' "$gen_pid" 20; then
    echo "kernel bench: $scenario: the generator did not start; its output:" >&2
    cat "$glog" >&2
    kill -KILL "$gen_pid" 2>/dev/null
    wait "$gen_pid" 2>/dev/null
    return 1
  fi
  sleep "$warmup"
  snapshot "${extra[@]}" >"$tmp/before.json" || return 1
  sleep "$window"
  # sluiced prints its counters once a second: let one more line arrive.
  [[ -z $slog ]] || sleep 1.2
  snapshot "${extra[@]}" >"$tmp/after.json" || return 1
  wait "$gen_pid"
  [[ -z $slog ]] || row_args=(--tsc-hz "$tsc_hz")
  "$py" "$here/measure.py" row --scenario "$scenario" --flows "$flows" \
    --frame-size "$frame_size" --before "$tmp/before.json" --after "$tmp/after.json" \
    "${row_args[@]}" >>"$tmp/rows.jsonl" || return 1
  echo "  generator: $(grep -o '"sent_pps": [0-9.]*' "$tmp/$scenario-$flows-gen.json")"
  tail -n 1 "$tmp/rows.jsonl" | "$py" -c '
import json, sys
r = json.loads(sys.stdin.read())
print("  %s: forwarded %d in %.1f s (%.3f Mpps), core %.3f s, %s Mpps per core, at pods %d %s" % (
    r["scenario"], r["forwarded"], r["seconds"], r["forwarded_mpps"], r["core_seconds"],
    r["mpps_per_core"], r["at_pods"], r["per_endpoint"]))
print("  cpu share of the window:", {c: {k: v for k, v in d.items() if v} for c, d in r["cpus"].items()})'
}

run_kernel() {
  local scenario=$1 flows=$2
  local rc=0
  topology kernel || rc=1
  if ((rc == 0)) && [[ $scenario == iptables ]]; then
    iptables_rules >"$tmp/iptables.rules"
    in_ns "$ns_gw" iptables-restore "$tmp/iptables.rules" || rc=1
  elif ((rc == 0)); then
    nftables_rules >"$tmp/nftables.rules"
    in_ns "$ns_gw" nft -f "$tmp/nftables.rules" || rc=1
  fi
  ((rc != 0)) || drive "$scenario" "$flows" || rc=1
  if ((rc == 0)); then
    echo "  conntrack entries: $(in_ns "$ns_gw" cat /proc/sys/net/netfilter/nf_conntrack_count)"
  fi
  teardown
  return "$rc"
}

tsc_hz=0
run_sluice() {
  local scenario=$1 flows=$2 mode=${1#sluice-} pid rc=0 slog=$tmp/$1-$2-sluiced.log
  if ! topology sluice; then
    teardown
    return 1
  fi
  sluiced_config "$mode" "$flows" >"$tmp/sluiced.conf"
  : >"$slog"
  if ! sluiced_start "$slog" 30 ip netns exec "$ns_gw" "$sluiced" --config "$tmp/sluiced.conf" \
    --stats-interval 1 >&2; then
    sluiced_stop "$sluiced_pid" KILL 5
    sluiced_pid=""
    teardown
    return 1
  fi
  pid=$sluiced_pid
  tsc_hz=$(awk '/^tsc_hz /{print $2}' "$slog")
  if [[ -z $tsc_hz ]]; then
    echo "kernel bench: sluiced printed no tsc_hz (older build?)" >&2
    rc=1
  else
    drive "$scenario" "$flows" "$slog" "$pid" || rc=1
  fi
  sluiced_stop "$pid" TERM 10
  sluiced_pid=""
  ((sluiced_rc == 0)) || echo "kernel bench: sluiced exited with $sluiced_rc" >&2
  grep -A3 -- '-- final counters' "$slog" | sed 's/^/  /'
  teardown
  return "$rc"
}

: >"$tmp/rows.jsonl"
: >"$tmp/notes.txt"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
failed=()
IFS=, read -r -a flow_counts <<<"$flows_list"
IFS=, read -r -a scenario_list <<<"$scenarios"
for flows in "${flow_counts[@]}"; do
  for scenario in "${scenario_list[@]}"; do
    echo "== $scenario, $flows flows, $frame_size-byte frames, ${window} s"
    case $scenario in
      iptables | nftables) run_kernel "$scenario" "$flows" || failed+=("$scenario/$flows") ;;
      sluice-fullnat | sluice-dnat) run_sluice "$scenario" "$flows" || failed+=("$scenario/$flows") ;;
      *)
        echo "kernel bench: unknown scenario $scenario" >&2
        failed+=("$scenario")
        ;;
    esac
  done
done

ipvs="this kernel ($(uname -r)) has no IPVS"
if [[ -e /proc/net/ip_vs ]]; then
  ipvs="IPVS is present but kube-proxy's ipvs mode is not measured"
elif command -v modprobe >/dev/null && modprobe -n ip_vs 2>/dev/null; then
  ipvs="ip_vs is available as a module but was not loaded; ipvs mode is not measured"
else
  ipvs+=" (no /proc/net/ip_vs, no ip_vs module), so kube-proxy's ipvs mode is not measured"
fi
cat >"$tmp/notes.txt" <<EOF
$ipvs
kernel rows: forwarding steered to CPU1 by RPS on the gateway's ingress veth; core time is CPU1's softirq + system + irq time from /proc/stat over the window; packets counted at the gateway's egress veth (tx)
kernel rows: one service with ${#pods[@]} endpoints (the kernel's best case: kube-proxy rule sets grow with services); off-cluster clients are masqueraded as kube-proxy does with a cluster CIDR, so the kernel does DNAT + SNAT like sluice-fullnat
iptables row: Debian's iptables-restore, nf_tables backend with xtables statistic/addrtype/comment matches
sluice rows: core time is the worker's busy_cycles / tsc_hz; with net_af_packet part of that is the PMD's tx syscalls and copies (the rx copy into the ring runs on CPU0, outside the figure); a real NIC's PMD costs less
the generator (sluice-pktgen, net_af_packet, CPU0) may not saturate the gateway; busy share < 1 means the core had idle time, so its per-packet cost was measured below saturation (Sluice's bursts are then smaller and its syscalls per packet more)
pod side's receive on CPU$pod_cpu (by RPS)$( ((pod_cpu == 1)) && echo ", so included in every row's core time" || echo ", so the gateway's transmit into the pod veth includes an IPI to CPU0 (a VM exit here): Sluice's af_packet sendto of 1-2 packets pays one each, the kernel one per softirq batch; --pod-cpu 1 avoids it")
$frame_size-byte frames on the wire (FCS included; $((frame_size - 4)) bytes built by sluice-pktgen), UDP, one way (client -> gateway -> pods); the pod side counts and drops at its netdev ingress hook
load average before: $load_before, after: $(cut -d' ' -f1-3 /proc/loadavg) (figures are noisy on a shared machine)
EOF
cpu=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
"$py" -c '
import json, sys
print(json.dumps({"cpu": sys.argv[1], "cores": int(sys.argv[2]), "kernel": sys.argv[3],
                  "tsc_hz": int(sys.argv[4]) or None}))' \
  "$cpu" "$(nproc)" "$(uname -r)" "$tsc_hz" >"$tmp/machine.json"
echo
"$py" "$here/measure.py" report --rows "$tmp/rows.jsonl" --notes "$tmp/notes.txt" \
  --machine "$tmp/machine.json" ${out:+--out "$out"} || failed+=(report)
if ((${#failed[@]} > 0)); then
  echo "kernel bench: failed: ${failed[*]}" >&2
  exit 1
fi
