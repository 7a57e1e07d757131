// The Dataplane: builds ports, mempools and tables from a spec, launches the
// workers and gives the control plane its views of them.
#include "dp/api/dataplane.h"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>

#include <atomic>
#include <cstring>
#include <map>
#include <set>

#include "dp/context.h"
#include "dp/hold.h"
#include "dp/neigh.h"
#include "dp/port.h"
#include "dp/route.h"
#include "dp/services.h"
#include "dp/steer.h"
#include "dp/worker.h"

namespace sluice::dp {

class DataplaneImpl {
 public:
  ~DataplaneImpl();
  Status build(const DataplaneSpec& spec);

  DpContext ctx;
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<std::unique_ptr<NeighborEventRing>> events;
  std::vector<std::unique_ptr<ServiceMissRing>> misses;
  std::unique_ptr<RouteTable> routes;
  std::unique_ptr<NeighborTable> neighbors;
  std::unique_ptr<ServiceTable> services;
  std::vector<rte_ring*> handoff_rings;
  std::vector<uint16_t> steered_ports;
  std::map<int, rte_mempool*> pools;  // by NUMA socket
  std::vector<uint16_t> started_ports;
  std::atomic<bool> stop{false};
  bool launched = false;

 private:
  Result<rte_mempool*> poolFor(int socket, uint32_t mbufs);
  Result<uint16_t> portIndex(const std::string& name) const;
};

namespace {

// A unique prefix for the DPDK object names of one Dataplane instance, so a
// process (a test) can build several in turn.
std::string objectPrefix() {
  static std::atomic<unsigned> seq{0};
  return "sl" + std::to_string(seq.fetch_add(1)) + "_";
}

IpAddr addrOf(uint8_t family, const uint8_t* bytes) {
  IpAddr a;
  a.family = family == 4 ? Family::kV4 : Family::kV6;
  std::memcpy(a.bytes.data(), bytes, a.size());
  return a;
}

int workerMain(void* arg) {
  auto* impl = static_cast<DataplaneImpl*>(arg);
  unsigned lcore = rte_lcore_id();
  for (auto& w : impl->workers) {
    if (w->lcore() == lcore) w->run(impl->stop);
  }
  return 0;
}

}  // namespace

Result<rte_mempool*> DataplaneImpl::poolFor(int socket, uint32_t mbufs) {
  if (auto it = pools.find(socket); it != pools.end()) return it->second;
  std::string name = objectPrefix() + "mbuf_s" + std::to_string(socket);
  rte_mempool* pool =
      rte_pktmbuf_pool_create(name.c_str(), mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, socket);
  if (pool == nullptr) {
    return Status::error("mempool of " + std::to_string(mbufs) + " mbufs on socket " +
                         std::to_string(socket) + ": " + rte_strerror(rte_errno));
  }
  pools[socket] = pool;
  return pool;
}

Result<uint16_t> DataplaneImpl::portIndex(const std::string& name) const {
  for (uint16_t i = 0; i < ctx.ports.size(); i++) {
    if (ctx.ports[i].name == name) return i;
  }
  return Status::error("unknown port '" + name + "'");
}

Status DataplaneImpl::build(const DataplaneSpec& spec) {
  if (spec.ports.empty() || spec.ports.size() > kMaxPorts) {
    return Status::error("between 1 and " + std::to_string(kMaxPorts) + " ports are supported");
  }
  if (spec.workers.empty() || spec.workers.size() > RTE_MAX_LCORE) {
    return Status::error("at least one worker is needed");
  }
  for (const WorkerSpec& w : spec.workers) {
    if (w.lcore >= RTE_MAX_LCORE || !rte_lcore_is_enabled(w.lcore) ||
        w.lcore == rte_get_main_lcore()) {
      return Status::error("worker lcore " + std::to_string(w.lcore) +
                           " is not an enabled worker lcore of the EAL");
    }
  }
  const std::string prefix = objectPrefix();
  ctx.tsc_hz = rte_get_tsc_hz();
  ctx.idle = spec.idle;
  ctx.tx_drain_tsc = ctx.tsc_hz / 1000000 * spec.tx_drain_us;
  ctx.resolve_tsc = ctx.tsc_hz / 1000 * spec.neighbor_resolve_ms;
  ctx.probe_interval_tsc = ctx.tsc_hz / 4;
  ctx.lazy_hold = spec.lazy_hold;
  ctx.lazy_hold_tsc = ctx.tsc_hz / 1000 * spec.lazy_hold_ms;

  // Ports, each with its own pool on its socket.
  auto tx_queues = static_cast<uint16_t>(spec.workers.size());
  for (const PortSpec& ps : spec.ports) {
    uint16_t port_id;
    if (rte_eth_dev_get_port_by_name(ps.ethdevName().c_str(), &port_id) != 0) {
      return Status::error("port " + ps.name + ": device '" + ps.ethdevName() +
                           "' not found (not probed by the EAL)");
    }
    auto pool = poolFor(portSocket(port_id), spec.mbufs_per_socket);
    if (!pool) return pool.status();
    std::vector<IpAddr> v6;
    for (const LocalAddrSpec& a : spec.addresses) {
      if (a.port == ps.name && !a.prefix.addr.isV4()) v6.push_back(a.prefix.addr);
    }
    PortCtx pc;
    Status s = setupPort(ps, tx_queues, *pool, v6, &pc);
    if (!s) return s.withContext("port " + ps.name);
    pc.pool = *pool;
    started_ports.push_back(pc.port_id);
    ctx.port_idx_by_id[pc.port_id] = static_cast<uint16_t>(ctx.ports.size());
    ctx.ports.push_back(pc);
  }

  // Local addresses and their connected routes.
  auto rt = RouteTable::create(prefix + "rt", spec.route_capacity, SOCKET_ID_ANY);
  if (!rt) return rt.status();
  routes = std::move(*rt);
  ctx.routes = routes.get();
  for (const LocalAddrSpec& a : spec.addresses) {
    auto idx = portIndex(a.port);
    if (!idx) return idx.status().withContext("address " + a.prefix.toString());
    ctx.locals.add(*idx, a.prefix);
    Nexthop nh;
    nh.port_idx = *idx;
    if (Status s = routes->add(a.prefix, nh); !s) return s;
  }
  for (const RouteSpec& r : spec.routes) {
    Nexthop nh;
    nh.connected = !r.via.has_value();
    if (r.via) nh.gateway = *r.via;
    if (!r.port.empty()) {
      auto idx = portIndex(r.port);
      if (!idx) return idx.status().withContext("route " + r.prefix.toString());
      nh.port_idx = *idx;
    } else {
      bool found = false;
      for (const LocalAddr& l : ctx.locals.all()) {
        if (r.via && l.prefix.contains(*r.via)) {
          nh.port_idx = l.port_idx;
          found = true;
          break;
        }
      }
      if (!found) {
        return Status::error("route " + r.prefix.toString() +
                             ": gateway is on no connected subnet and no port is given");
      }
    }
    if (Status s = routes->add(r.prefix, nh); !s) return s;
  }

  auto nt = NeighborTable::create(prefix + "neigh", spec.neighbor_capacity, SOCKET_ID_ANY);
  if (!nt) return nt.status();
  neighbors = std::move(*nt);
  ctx.neighbors = neighbors.get();
  for (const NeighborSpec& n : spec.neighbors) {
    auto idx = portIndex(n.port);
    if (!idx) return idx.status().withContext("neighbor " + n.addr.toString());
    if (Status s = neighbors->set(*idx, n.addr, n.mac, true); !s) return s;
  }

  // RCU: every worker reports quiescent states; later table swaps wait on it.
  size_t qsbr_size = rte_rcu_qsbr_get_memsize(static_cast<uint32_t>(spec.workers.size()));
  ctx.qsbr = static_cast<rte_rcu_qsbr*>(rte_zmalloc("sluice_qsbr", qsbr_size, RTE_CACHE_LINE_SIZE));
  if (ctx.qsbr == nullptr ||
      rte_rcu_qsbr_init(ctx.qsbr, static_cast<uint32_t>(spec.workers.size())) != 0) {
    return Status::error("cannot set up RCU");
  }

  // Services, published through RCU.
  auto st = ServiceTable::create(prefix + "svc", spec.services_capacity,
                                 spec.endpoint_stats_capacity, ctx.qsbr);
  if (!st) return st.status();
  services = std::move(*st);
  ctx.services = services.get();
  for (const IpAddr& a : spec.snat) {
    if (ctx.locals.find(a.family, a.bytes.data()) == nullptr) {
      return Status::error("SNAT address " + a.toString() + " is not a local address");
    }
    (a.isV4() ? ctx.snat_v4 : ctx.snat_v6).push_back(a);
  }
  ctx.worker_count = static_cast<unsigned>(spec.workers.size());
  // Ports of each worker's residue class that fit below 65536 (the same
  // count for every worker: the smallest class size).
  ctx.snat_slice = (65536 - kSnatPortMin) / ctx.worker_count;
  const ConntrackSpec& cs = spec.conntrack;
  ctx.ct_timeouts = {cs.tcp_half_open_s * ctx.tsc_hz, cs.tcp_established_s * ctx.tsc_hz,
                     cs.tcp_fin_s * ctx.tsc_hz, cs.tcp_closed_s * ctx.tsc_hz,
                     cs.udp_s * ctx.tsc_hz};

  // Workers and their queues.
  for (unsigned i = 0; i < spec.workers.size(); i++) {
    const WorkerSpec& ws = spec.workers[i];
    std::vector<RxQueue> rx;
    for (const RxQueueRef& ref : ws.rx) {
      auto idx = portIndex(ref.port);
      if (!idx) return idx.status().withContext("worker " + std::to_string(ws.lcore));
      rx.push_back({*idx, ctx.ports[*idx].port_id, ref.queue});
    }
    const auto socket = static_cast<int>(rte_lcore_to_socket_id(ws.lcore));
    auto ring = NeighborEventRing::create(prefix + "nev" + std::to_string(i),
                                          kNeighborEventRingSize, socket);
    if (!ring) return ring.status();
    auto miss_ring =
        ServiceMissRing::create(prefix + "miss" + std::to_string(i), kServiceMissRingSize, socket);
    if (!miss_ring) return miss_ring.status();
    auto ct = Conntrack::create(cs.capacity, ctx.ct_timeouts);
    if (!ct) return ct.status().withContext("conntrack of worker " + std::to_string(ws.lcore));
    TrafficCells traffic(spec.services_capacity, spec.endpoint_stats_capacity);
    if (!traffic.ok()) {
      return Status::error("traffic counters of worker " + std::to_string(ws.lcore) +
                           ": out of memory");
    }
    workers.push_back(std::make_unique<Worker>(ctx, i, ws.lcore, std::move(rx), ring->get(),
                                               miss_ring->get(), std::move(*ct),
                                               std::move(traffic)));
    events.push_back(std::move(*ring));
    misses.push_back(std::move(*miss_ring));
  }

  // Where a NIC can steer replies to their owner itself, let it.
  for (size_t p = 0; p < ctx.ports.size(); p++) {
    if (spec.ports[p].rx_queues < 2) continue;
    std::vector<SteerQueue> queues;
    for (unsigned i = 0; i < spec.workers.size(); i++) {
      for (const RxQueueRef& ref : spec.workers[i].rx) {
        if (ref.port == spec.ports[p].name) queues.push_back({i, ref.queue});
      }
    }
    std::vector<IpAddr> snat = ctx.snat_v4;
    snat.insert(snat.end(), ctx.snat_v6.begin(), ctx.snat_v6.end());
    std::string why;
    unsigned rules = installSteering(ctx.ports[p].port_id, ctx.worker_count, queues, snat, &why);
    if (rules != 0) {
      steered_ports.push_back(ctx.ports[p].port_id);
      RTE_LOG(INFO, USER1, "port %s: %u rte_flow rules steer SNAT replies to their workers\n",
              ctx.ports[p].name.c_str(), rules);
    } else {
      RTE_LOG(INFO, USER1,
              "port %s: no rte_flow steering (%s); replies reach their owner by hand-off\n",
              ctx.ports[p].name.c_str(), why.c_str());
    }
  }

  // Hand-off rings between every pair of workers: ring[from * W + to].
  unsigned w_count = ctx.worker_count;
  if (w_count > 1) {
    handoff_rings.assign(w_count * w_count, nullptr);
    for (unsigned from = 0; from < w_count; from++) {
      for (unsigned to = 0; to < w_count; to++) {
        if (from == to) continue;
        std::string name = prefix + "ho" + std::to_string(from) + "_" + std::to_string(to);
        rte_ring* r =
            rte_ring_create(name.c_str(), 1024, SOCKET_ID_ANY, RING_F_SP_ENQ | RING_F_SC_DEQ);
        if (r == nullptr)
          return Status::error("hand-off ring: " + std::string(rte_strerror(rte_errno)));
        handoff_rings[from * w_count + to] = r;
      }
    }
    for (unsigned i = 0; i < w_count; i++) {
      std::vector<rte_ring*> to(w_count), from(w_count);
      for (unsigned j = 0; j < w_count; j++) {
        to[j] = handoff_rings[i * w_count + j];
        from[j] = handoff_rings[j * w_count + i];
      }
      workers[i]->setHandoffRings(std::move(to), std::move(from));
    }
  }
  return Status::ok();
}

DataplaneImpl::~DataplaneImpl() {
  for (auto& w : workers) w->release();
  for (rte_ring* r : handoff_rings) {
    rte_mbuf* m;
    while (r != nullptr && rte_ring_dequeue(r, reinterpret_cast<void**>(&m)) == 0) {
      rte_pktmbuf_free(m);
    }
    rte_ring_free(r);
  }
  for (uint16_t p : steered_ports) removeSteering(p);
  for (uint16_t p : started_ports) closePort(p);
  workers.clear();
  services.reset();
  for (auto& [socket, pool] : pools) rte_mempool_free(pool);
  rte_free(ctx.qsbr);
}

Dataplane::Dataplane(std::unique_ptr<DataplaneImpl> impl) : impl_(std::move(impl)) {}

Dataplane::~Dataplane() {
  stop();
}

Result<std::unique_ptr<Dataplane>> Dataplane::create(const DataplaneSpec& spec) {
  auto impl = std::make_unique<DataplaneImpl>();
  if (Status s = impl->build(spec); !s) return s;
  return std::unique_ptr<Dataplane>(new Dataplane(std::move(impl)));
}

Status Dataplane::launch() {
  if (impl_->launched) return Status::error("already launched");
  impl_->stop.store(false);
  for (auto& w : impl_->workers) {
    if (int rc = rte_eal_remote_launch(workerMain, impl_.get(), w->lcore()); rc != 0) {
      stop();
      return Status::error("cannot launch worker on lcore " + std::to_string(w->lcore()) + ": " +
                           rte_strerror(-rc));
    }
    impl_->launched = true;
  }
  return Status::ok();
}

void Dataplane::stop() {
  if (!impl_->launched) return;
  impl_->stop.store(true);
  for (auto& w : impl_->workers) rte_eal_wait_lcore(w->lcore());
  impl_->launched = false;
}

void Dataplane::pollControl() {
  impl_->services->reclaim();
  NeighborEvent batch[64];
  for (auto& ring : impl_->events) {
    unsigned n;
    while ((n = ring->drain(batch, 64)) != 0) {
      for (unsigned i = 0; i < n; i++) {
        const NeighborEvent& ev = batch[i];
        IpAddr addr;
        addr.family = static_cast<Family>(ev.family);
        std::memcpy(addr.bytes.data(), ev.addr, addr.size());
        MacAddr mac;
        std::memcpy(mac.bytes.data(), ev.mac, 6);
        Status s = impl_->neighbors->set(ev.port_idx, addr, mac, false);
        if (!s)
          RTE_LOG(WARNING, USER1, "neighbor %s: %s\n", addr.toString().c_str(),
                  s.message().c_str());
      }
    }
  }
}

Status Dataplane::upsertService(const ServiceSpec& spec, const std::vector<uint32_t>& table) {
  return impl_->services->upsert(spec, table);
}

Status Dataplane::removeService(const ServiceKey& key) {
  return impl_->services->remove(key);
}

size_t Dataplane::serviceCount() const {
  return impl_->services->size();
}

uint64_t Dataplane::serviceTableBytes() const {
  return impl_->services->totalVersionBytes();
}

std::vector<ServiceKey> Dataplane::takeServiceMisses() {
  std::vector<ServiceKey> out;
  std::set<uint32_t> slots;  // a slot holds one service at a time
  ServiceMiss batch[64];
  for (auto& ring : impl_->misses) {
    unsigned n;
    while ((n = ring->drain(batch, 64)) != 0) {
      for (unsigned i = 0; i < n; i++) {
        const ServiceMiss& miss = batch[i];
        // Loaded or removed since it was posted: nothing to load.
        const ServiceVersion* v = impl_->services->at(miss.slot);
        if (v == nullptr || v->gen != miss.gen || !v->on_demand) continue;
        if (!slots.insert(miss.slot).second) continue;
        ServiceKey key;
        key.vip = addrOf(miss.family, miss.vip);
        key.port = rte_be_to_cpu_16(miss.port_be);
        key.proto = static_cast<Proto>(miss.proto);
        out.push_back(key);
      }
    }
  }
  return out;
}

unsigned Dataplane::pollWorkerOnce(size_t index) {
  return impl_->workers.at(index)->pollOnce();
}

size_t Dataplane::workerCount() const {
  return impl_->workers.size();
}

std::vector<WorkerCounterSnapshot> Dataplane::workerCounters() const {
  std::vector<WorkerCounterSnapshot> out;
  for (const auto& w : impl_->workers) {
    WorkerCounterSnapshot s;
    s.lcore = w->lcore();
    for (size_t i = 0; i < kWorkerEventCount; i++) {
      s.events[i] = w->counters().events[i].load(std::memory_order_relaxed);
    }
    for (size_t i = 0; i < kDropCount; i++) {
      s.drops[i] = w->counters().drops[i].load(std::memory_order_relaxed);
    }
    out.push_back(s);
  }
  return out;
}

std::vector<PortCounterSnapshot> Dataplane::portCounters() const {
  std::vector<PortCounterSnapshot> out;
  for (const PortCtx& p : impl_->ctx.ports) {
    rte_eth_stats st{};
    rte_eth_stats_get(p.port_id, &st);
    PortCounterSnapshot s;
    s.name = p.name;
    s.ipackets = st.ipackets;
    s.opackets = st.opackets;
    s.ibytes = st.ibytes;
    s.obytes = st.obytes;
    s.imissed = st.imissed;
    s.ierrors = st.ierrors;
    s.oerrors = st.oerrors;
    s.rx_nombuf = st.rx_nombuf;
    out.push_back(s);
  }
  return out;
}

std::vector<NeighborInfo> Dataplane::neighbors() const {
  std::vector<NeighborInfo> out;
  for (const auto& e : impl_->neighbors->list()) {
    out.push_back({impl_->ctx.ports[e.port_idx].name, e.addr, e.mac, e.is_static});
  }
  return out;
}

Result<MacAddr> Dataplane::portMac(const std::string& port) const {
  for (const PortCtx& p : impl_->ctx.ports) {
    if (p.name == port) return p.mac;
  }
  return Status::error("unknown port '" + port + "'");
}

}  // namespace sluice::dp

namespace sluice::dp {

std::vector<ServiceTraffic> Dataplane::serviceTraffic() const {
  std::vector<ServiceTraffic> out;
  for (const ServiceTable::ServiceCells& sc : impl_->services->cells()) {
    ServiceTraffic st;
    st.key = sc.key;
    for (const auto& w : impl_->workers) w->traffic().readService(sc.slot, sc.gen, &st.traffic);
    for (const ServiceTable::EndpointCells& ec : sc.endpoints) {
      EndpointTraffic et;
      et.addr = ec.addr;
      et.port = ec.port;
      et.counted = ec.stat != kNoStat;
      for (const auto& w : impl_->workers) w->traffic().readEndpoint(ec.stat, ec.gen, &et.traffic);
      st.endpoints.push_back(et);
    }
    out.push_back(std::move(st));
  }
  return out;
}

std::vector<ConntrackOccupancy> Dataplane::conntrackOccupancy() const {
  std::vector<ConntrackOccupancy> out;
  for (const auto& w : impl_->workers) {
    // While the workers run, their tables are theirs: read what each
    // published last iteration. Stopped, read the tables.
    bool live = impl_->launched;
    out.push_back({w->lcore(), w->conntrack().capacity(),
                   live ? w->publishedFlows() : w->conntrack().size(),
                   live ? w->publishedHalfOpen() : w->conntrack().halfOpen()});
  }
  return out;
}

namespace {

const char* tcpStateName(TcpState s) {
  switch (s) {
    case TcpState::kNone:
      return "udp";
    case TcpState::kSynSent:
      return "syn_sent";
    case TcpState::kSynRecv:
      return "syn_recv";
    case TcpState::kEstablished:
      return "established";
    case TcpState::kFinWait:
      return "fin_wait";
    case TcpState::kClosed:
      return "closed";
  }
  return "closed";
}

FlowInfo flowInfo(const Flow& f, unsigned lcore, uint64_t now, uint64_t tsc_hz) {
  FlowInfo fi;
  fi.lcore = lcore;
  fi.proto = f.orig.proto == 17 ? Proto::kUdp : Proto::kTcp;
  fi.client = addrOf(f.orig.family, f.orig.src);
  fi.client_port = rte_be_to_cpu_16(f.orig.sport);
  fi.vip = addrOf(f.orig.family, f.orig.dst);
  fi.vip_port = rte_be_to_cpu_16(f.orig.dport);
  fi.endpoint = addrOf(f.reply.family, f.reply.src);
  fi.endpoint_port = rte_be_to_cpu_16(f.reply.sport);
  // fullnat replies go to a SNAT address; dnat ones to the client itself.
  IpAddr reply_dst = addrOf(f.reply.family, f.reply.dst);
  if (reply_dst != fi.client || f.reply.dport != f.orig.sport) {
    fi.snat = reply_dst;
    fi.snat_port = rte_be_to_cpu_16(f.reply.dport);
  }
  fi.state = tcpStateName(f.tcp);
  fi.expires_in_ms = f.expires > now ? (f.expires - now) * 1000 / tsc_hz : 0;
  return fi;
}

}  // namespace

Result<FlowList> Dataplane::listFlows(const FlowFilter& filter, uint32_t limit,
                                      uint32_t timeout_ms) const {
  if (limit == 0 || limit > kMaxFlowListLimit) {
    return Status::error("limit " + std::to_string(limit) + " is not in 1.." +
                         std::to_string(kMaxFlowListLimit));
  }
  auto& workers = impl_->workers;
  for (auto& w : workers) {
    if (!impl_->launched) w->flowScan().abandon();
    if (Status s = w->flowScan().start(filter, limit); !s) return s;
  }
  if (!impl_->launched) {
    // Nobody else reads the tables: walk them here.
    for (auto& w : workers) w->flowScan().step(w->conntrack(), w->conntrack().capacity());
  } else {
    const uint64_t deadline = rte_get_timer_cycles() + rte_get_timer_hz() / 1000 * timeout_ms;
    bool all = false;
    while (!all) {
      all = true;
      for (auto& w : workers) all = all && w->flowScan().done();
      if (all) break;
      if (rte_get_timer_cycles() > deadline) {
        bool finished = true;
        for (auto& w : workers) {
          if (!w->flowScan().done()) finished = w->flowScan().cancel() && finished;
        }
        if (finished) break;
        return Status::error("listFlows: the workers did not finish walking their flows in " +
                             std::to_string(timeout_ms) + " ms (timed out)");
      }
      rte_delay_us_sleep(100);
    }
  }
  FlowList list;
  const uint64_t now = rte_rdtsc();
  for (auto& w : workers) {
    const FlowScan& scan = w->flowScan();
    list.truncated = list.truncated || scan.truncated();
    for (uint32_t i = 0; i < scan.resultCount(); i++) {
      if (list.flows.size() == limit) {
        list.truncated = true;
        break;
      }
      list.flows.push_back(flowInfo(scan.results()[i], w->lcore(), now, impl_->ctx.tsc_hz));
    }
  }
  return list;
}

}  // namespace sluice::dp
