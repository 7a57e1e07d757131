// xDS figures with sluiced's pieces in one process: sluice-xds's server
// (tools/xds-server) on a unix socket, the XdsAgent (ADS client and
// controller) with its control loop on a thread, and the Dataplane on ring
// ports with its worker busy on lcore 1.
//
//   sync     initial sync of S services x E endpoints over delta (and SotW):
//            from the client's start until every service is published;
//            process RSS and service-table bytes it added
//   change   one endpoint's health (unhealthy -> healthy) in the server's
//            snapshot, to the data path: from setServices until a datagram
//            of a new flow leaves translated to it (p50/p99); the server's
//            own setServices time (it diffs every resource) alongside
//   memory   L services with 1% of them sent a packet: service-table bytes
//            and RSS, eager (every endpoint loaded) against lazy (loaded on
//            the first packet)
//
// Prints figures and one JSON line ("xds_json: {...}").
#include <rte_cycles.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "cp/control_queue.h"
#include "cp/dataplane_sink.h"
#include "cp/publisher.h"
#include "cp/xds/agent.h"
#include "tools/bench/bench_common.h"
#include "tools/xds-server/server.h"

namespace sluice::bench {
namespace {

struct Options {
  unsigned services = 10000;
  unsigned endpoints = 10;  // per service
  unsigned changes = 200;
  unsigned lazy_services = 100000;
  unsigned lazy_endpoints = 4;
};

// Service k's VIP: 10.100.0.0 + k (clear of kVip).
IpAddr vipOf(unsigned k) {
  return v4(0x0a640000 + k);
}

ServiceSpec serviceOf(unsigned k, unsigned endpoints) {
  ServiceSpec s;
  s.key = {vipOf(k), 80, Proto::kUdp};
  for (unsigned e = 0; e < endpoints; e++) {
    s.endpoints.push_back(
        {pod(e), static_cast<uint16_t>(8080 + k % 1000), 1, EndpointState::kReady});
  }
  return s;
}

uint64_t rssKb() {
  std::ifstream in("/proc/self/status");
  std::string key;
  uint64_t kb = 0;
  while (in >> key) {
    if (key == "VmRSS:") {
      in >> kb;
      return kb;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

double msSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// A rig with room for `capacity` services and neighbors for the pods.
class XdsRig : public RingRig {
 public:
  static Result<std::unique_ptr<XdsRig>> create(uint32_t capacity, unsigned pods) {
    std::unique_ptr<XdsRig> r(new XdsRig());
    dp::DataplaneSpec spec;
    for (unsigned k = 0; k < pods; k++) spec.neighbors.push_back({"in", pod(k), kPeerMac});
    spec.services_capacity = capacity;
    spec.conntrack.capacity = 1 << 16;
    if (Status s = r->init(spec, kVip); !s) return s;
    r->spec_ = spec;
    return r;
  }
  const dp::DataplaneSpec& spec() const { return spec_; }

 private:
  XdsRig() = default;
  dp::DataplaneSpec spec_;
};

// The agent and its control loop on a thread, as sluiced runs them.
class Fed {
 public:
  Fed(XdsRig& rig, const std::string& server, cp::xds::XdsMode mode, bool lazy)
      : rig_(rig), sink_(rig.dp()), publisher_(sink_) {
    spec_.server = server;
    spec_.mode = mode;
    spec_.node.id = "bench";
    spec_.lazy = lazy;
    spec_.backoff_initial_ms = 50;
    spec_.backoff_max_ms = 200;
    // The rig's SNAT addresses, which fullnat services are checked against.
    dataplane_ = rig.spec();
    for (unsigned i = 0; i < kSnatAddrs; i++) dataplane_.snat.push_back(v4(0x0a000001 + i));
  }
  ~Fed() { stop(); }

  Status start() {
    auto agent = cp::xds::XdsAgent::start(spec_, dataplane_, publisher_, queue_, false);
    if (!agent) return agent.status();
    agent_ = std::move(*agent);
    loop_ = std::thread([this] {
      while (!stop_.load()) {
        queue_.runPending(std::chrono::microseconds(100));
        rig_.dp().pollControl();
        agent_->poll(rig_.dp());
        stats_copy_.store(true);
      }
    });
    return Status::ok();
  }
  void stop() {
    if (!loop_.joinable()) return;
    stop_.store(true);
    loop_.join();
    queue_.close();
    agent_->stop();
  }
  // The agent's figures, read on the control thread.
  cp::xds::XdsStats stats() {
    cp::xds::XdsStats out;
    (void)queue_.run([&] { out = agent_->stats(); });
    return out;
  }
  // Waits (up to `limit_s`) until `done(stats)`; false on timeout.
  bool waitFor(const std::function<bool(const cp::xds::XdsStats&)>& done, double limit_s) {
    auto t0 = std::chrono::steady_clock::now();
    while (msSince(t0) < limit_s * 1000) {
      if (done(stats())) return true;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return false;
  }

 private:
  XdsRig& rig_;
  cp::DataplaneSink sink_;
  cp::Publisher publisher_;
  cp::ControlQueue queue_;
  cp::xds::XdsSpec spec_;
  dp::DataplaneSpec dataplane_;
  std::unique_ptr<cp::xds::XdsAgent> agent_;
  std::thread loop_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> stats_copy_{false};
};

struct SyncFigures {
  double ms = 0;
  uint64_t rss_kb = 0;
  uint64_t table_bytes = 0;
  uint64_t bytes_received = 0;
  bool ok = false;
};

SyncFigures measureSync(const Options& o, cp::xds::XdsMode mode, xds_server::XdsServer& server,
                        XdsRig& rig, std::unique_ptr<Fed>* keep) {
  SyncFigures f;
  uint64_t rss0 = rssKb();
  uint64_t table0 = rig.dp().serviceTableBytes();
  auto fed = std::make_unique<Fed>(rig, server.address(), mode, false);
  auto t0 = std::chrono::steady_clock::now();
  if (Status s = fed->start(); !s) {
    std::fprintf(stderr, "xds_bench: %s\n", s.message().c_str());
    return f;
  }
  f.ok = fed->waitFor(
      [&](const cp::xds::XdsStats& s) {
        return s.services >= o.services + 1 && s.services_pending == 0;
      },
      120);
  f.ms = msSince(t0);
  f.rss_kb = rssKb() - rss0;
  f.table_bytes = rig.dp().serviceTableBytes() - table0;
  f.bytes_received = fed->stats().bytes_received;
  if (keep != nullptr) *keep = std::move(fed);
  return f;
}

int run(const Options& o) {
  std::string dir = "/tmp/sluice-xds-bench-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  int rc = 0;
  std::vector<ServiceSpec> all;
  for (unsigned k = 0; k < o.services; k++) all.push_back(serviceOf(k, o.endpoints));
  // The measured service: kVip with one endpoint, pod(0), unhealthy to begin with.
  ServiceSpec probe = vipService(0, 1);
  probe.endpoints[0].state = EndpointState::kUnhealthy;
  all.push_back(probe);

  xds_server::ServerOptions so;
  so.listen = "unix:" + dir + "/xds.sock";
  auto server = xds_server::XdsServer::start(so);
  if (!server) {
    std::fprintf(stderr, "xds_bench: %s\n", server.status().message().c_str());
    return 1;
  }
  auto set = [&](const std::vector<ServiceSpec>& s) {
    auto snap = (*server)->setServices(s);
    if (!snap) std::fprintf(stderr, "xds_bench: %s\n", snap.status().message().c_str());
    return static_cast<bool>(snap);
  };
  if (!set(all)) return 1;

  // 1. Initial sync, delta then SotW, each into a fresh data plane.
  SyncFigures sotw;
  {
    auto rig = XdsRig::create(o.services + 16, o.endpoints);
    if (!rig) return std::fprintf(stderr, "xds_bench: %s\n", rig.status().message().c_str()), 1;
    sotw = measureSync(o, cp::xds::XdsMode::kSotw, **server, **rig, nullptr);
  }
  auto made = XdsRig::create(o.services + 16, o.endpoints);
  if (!made) return std::fprintf(stderr, "xds_bench: %s\n", made.status().message().c_str()), 1;
  XdsRig& rig = **made;
  std::unique_ptr<Fed> fed;
  SyncFigures delta = measureSync(o, cp::xds::XdsMode::kDelta, **server, rig, &fed);
  if (!delta.ok || !sotw.ok) {
    std::fprintf(stderr, "xds_bench: the initial sync did not complete\n");
    return 1;
  }

  // 2. One endpoint's health to the data path.
  if (Status s = rig.dp().launch(); !s) {
    std::fprintf(stderr, "xds_bench: %s\n", s.message().c_str());
    return 1;
  }
  std::vector<uint64_t> set_ticks, visible_ticks, after_set_ticks;
  uint32_t flow = 0;
  unsigned lost = 0;
  uint8_t frame[kFrameLen];
  unsigned premature = 0;
  // A datagram of a new flow; the TSC when it left translated, or 0 when
  // nothing came out within `wait_us`.
  auto probeOnce = [&](uint64_t wait_us) -> uint64_t {
    rte_mbuf* m = rig.frameMbuf(flow++);
    if (rte_ring_enqueue(rig.clientRx(), m) != 0) std::abort();
    uint64_t wait_until = rte_rdtsc() + rte_get_tsc_hz() / 1000000 * wait_us;
    rte_mbuf* out = nullptr;
    while (rte_rdtsc() < wait_until) {
      if (rte_ring_dequeue(rig.podTx(), reinterpret_cast<void**>(&out)) == 0) {
        uint64_t t = rte_rdtsc();
        std::memcpy(frame, rte_pktmbuf_mtod(out, const uint8_t*), kFrameLen);
        rte_pktmbuf_free(out);
        return t;
      }
    }
    return 0;
  };
  for (unsigned i = 0; i < o.changes + 5; i++) {
    uint64_t accepted = fed->stats().updates_accepted;
    // With the endpoint unhealthy a new flow has nowhere to go.
    // (A probe of the last change's that came out late is freed first.)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    rig.drainPodSide();
    if (probeOnce(200) != 0) premature++;
    all.back().endpoints[0].state = EndpointState::kReady;
    uint64_t t0 = rte_rdtsc_precise();
    if (!set(all)) return 1;
    uint64_t t1 = rte_rdtsc_precise();
    // New flows until one comes out: before the change reaches the worker
    // each is dropped (no ready endpoint).
    uint64_t seen = 0;
    uint64_t deadline = t0 + 5 * rte_get_tsc_hz();
    while (seen == 0 && rte_rdtsc() < deadline) seen = probeOnce(50);
    if (seen == 0) lost++;
    if (i >= 5 && seen != 0) {
      set_ticks.push_back(t1 - t0);
      visible_ticks.push_back(seen - t0);
      after_set_ticks.push_back(seen - t1);
    }
    // Untimed: back to unhealthy, and wait for both updates to be applied.
    all.back().endpoints[0].state = EndpointState::kUnhealthy;
    if (!set(all)) return 1;
    if (!fed->waitFor(
            [&](const cp::xds::XdsStats& s) { return s.updates_accepted >= accepted + 2; }, 5)) {
      lost++;
    }
  }
  fed->stop();
  rig.dp().stop();
  fed.reset();

  // 3. Table memory at L services, 1% active: eager against lazy.
  std::vector<ServiceSpec> many;
  for (unsigned k = 0; k < o.lazy_services; k++) many.push_back(serviceOf(k, o.lazy_endpoints));
  if (!set(many)) return 1;
  unsigned active = std::max(1u, o.lazy_services / 100);
  uint64_t bytes[2] = {0, 0}, rss[2] = {0, 0};
  double load_ms[2] = {0, 0};
  for (int lazy = 0; lazy < 2; lazy++) {
    auto r = XdsRig::create(o.lazy_services + 16, o.lazy_endpoints);
    if (!r) return std::fprintf(stderr, "xds_bench: %s\n", r.status().message().c_str()), 1;
    uint64_t rss0 = rssKb();
    uint64_t table0 = (*r)->dp().serviceTableBytes();
    Fed f(**r, (*server)->address(), cp::xds::XdsMode::kDelta, lazy != 0);
    auto t0 = std::chrono::steady_clock::now();
    if (!f.start()) return 1;
    bool ok = f.waitFor(
        [&](const cp::xds::XdsStats& s) {
          return s.services >= o.lazy_services && s.services_pending == 0;
        },
        300);
    if (ok && lazy != 0) {
      if (Status s = (*r)->dp().launch(); !s) return 1;
      // One datagram to each active service's VIP: 10.100.0.0 + 100 * i.
      for (unsigned i = 0; i < active; i += kBurst) {
        uint32_t flows[kBurst], dsts[kBurst];
        unsigned n = std::min<unsigned>(kBurst, active - i);
        for (unsigned j = 0; j < n; j++) {
          flows[j] = i + j;
          dsts[j] = 0x0a640000 + 100 * (i + j);
        }
        (*r)->injectTo(flows, dsts, n);
        std::this_thread::sleep_for(std::chrono::microseconds(200));
        (*r)->drainPodSide();
      }
      ok = f.waitFor([&](const cp::xds::XdsStats& s) { return s.lazy_loads >= active; }, 60);
      (*r)->drainPodSide();
    }
    load_ms[lazy] = msSince(t0);
    bytes[lazy] = (*r)->dp().serviceTableBytes() - table0;
    rss[lazy] = rssKb() - rss0;
    f.stop();
    (*r)->dp().stop();
    (*r)->drainPodSide();
    if (!ok) {
      std::fprintf(stderr, "xds_bench: the %s run did not complete\n", lazy ? "lazy" : "eager");
      rc = 1;
    }
  }
  (*server)->stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);

  auto q = [](const std::vector<uint64_t>& v, double p) { return quantileUs(v, p); };
  std::printf("initial sync, %u services x %u endpoints:\n", o.services, o.endpoints);
  std::printf("  delta  %8.1f ms  %7.1f MB RSS  %7.1f MB tables  %6.1f MB received\n", delta.ms,
              delta.rss_kb / 1024.0, delta.table_bytes / 1048576.0,
              delta.bytes_received / 1048576.0);
  std::printf("  sotw   %8.1f ms  %7.1f MB RSS  %7.1f MB tables  %6.1f MB received\n", sotw.ms,
              sotw.rss_kb / 1024.0, sotw.table_bytes / 1048576.0, sotw.bytes_received / 1048576.0);
  std::printf("one endpoint unhealthy -> healthy, %u changes (us p50 / p99 / max):\n",
              static_cast<unsigned>(visible_ticks.size()));
  std::printf("  server setServices (diff)   %8.1f %8.1f %8.1f\n", q(set_ticks, 0.5),
              q(set_ticks, 0.99), q(set_ticks, 1.0));
  std::printf("  change -> new flow out      %8.1f %8.1f %8.1f\n", q(visible_ticks, 0.5),
              q(visible_ticks, 0.99), q(visible_ticks, 1.0));
  std::printf("  setServices returned -> out   %8.1f %8.1f %8.1f\n", q(after_set_ticks, 0.5),
              q(after_set_ticks, 0.99), q(after_set_ticks, 1.0));
  std::printf("  changes not seen: %u, probes out before a change: %u\n", lost, premature);
  std::printf("%u services x %u endpoints, %u active:\n", o.lazy_services, o.lazy_endpoints,
              active);
  std::printf("  eager  %8.1f MB tables  %8.1f MB RSS  loaded in %8.1f ms\n", bytes[0] / 1048576.0,
              rss[0] / 1024.0, load_ms[0]);
  std::printf("  lazy   %8.1f MB tables  %8.1f MB RSS  synced + 1%% loaded in %8.1f ms\n",
              bytes[1] / 1048576.0, rss[1] / 1024.0, load_ms[1]);
  std::printf(
      "xds_json: {\"services\": %u, \"endpoints\": %u, \"sync_delta_ms\": %.1f, "
      "\"sync_sotw_ms\": %.1f, \"sync_delta_rss_mb\": %.1f, \"sync_table_mb\": %.1f, "
      "\"change_set_p50_us\": %.1f, \"change_visible_p50_us\": %.1f, "
      "\"change_visible_p99_us\": %.1f, \"change_after_set_p50_us\": %.1f, "
      "\"change_after_set_p99_us\": %.1f, \"changes_lost\": %u, \"lazy_services\": %u, "
      "\"eager_table_mb\": %.1f, \"lazy_table_mb\": %.1f, \"eager_rss_mb\": %.1f, "
      "\"lazy_rss_mb\": %.1f}\n",
      o.services, o.endpoints, delta.ms, sotw.ms, delta.rss_kb / 1024.0,
      delta.table_bytes / 1048576.0, q(set_ticks, 0.5), q(visible_ticks, 0.5),
      q(visible_ticks, 0.99), q(after_set_ticks, 0.5), q(after_set_ticks, 0.99), lost,
      o.lazy_services, bytes[0] / 1048576.0, bytes[1] / 1048576.0, rss[0] / 1024.0,
      rss[1] / 1024.0);
  return rc == 0 && lost == 0 && premature == 0 ? 0 : 1;
}

}  // namespace
}  // namespace sluice::bench

int main(int argc, char** argv) {
  sluice::bench::Options o;
  unsigned mb = 4096;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto num = [&](const char* prefix) {
      return static_cast<unsigned>(std::atoi(a.c_str() + std::strlen(prefix)));
    };
    if (a == "--quick") {
      o.services = 2000;
      o.changes = 50;
      o.lazy_services = 20000;
      mb = 1536;
    } else if (a.rfind("--services=", 0) == 0) {
      o.services = num("--services=");
    } else if (a.rfind("--endpoints=", 0) == 0) {
      o.endpoints = num("--endpoints=");
    } else if (a.rfind("--changes=", 0) == 0) {
      o.changes = num("--changes=");
    } else if (a.rfind("--lazy-services=", 0) == 0) {
      o.lazy_services = num("--lazy-services=");
    } else if (a.rfind("--memory-mb=", 0) == 0) {
      mb = num("--memory-mb=");
    } else {
      std::fprintf(stderr,
                   "usage: %s [--quick] [--services=N] [--endpoints=N] [--changes=N]\n"
                   "       [--lazy-services=N] [--memory-mb=N]\n",
                   argv[0]);
      return 2;
    }
  }
  if (!sluice::bench::initEal(argv[0], mb)) return 2;
  int rc = sluice::bench::run(o);
  sluice::bench::cleanupEal();
  return rc;
}
