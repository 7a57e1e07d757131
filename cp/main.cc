// sluiced: the Sluice gateway daemon. The main thread is the control plane:
// it loads the config, brings the data plane up, applies what the workers
// post, reports counters, and tears everything down on SIGINT/SIGTERM.
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "cp/admin/dataplane_backend.h"
#include "cp/admin/server.h"
#include "cp/config.h"
#include "cp/control_queue.h"
#include "cp/dataplane_sink.h"
#include "cp/metrics/server.h"
#include "cp/metrics/telemetry.h"
#include "cp/publisher.h"
#include "cp/reload.h"
#include "cp/xds/agent.h"
#include "dp/api/dataplane.h"
#include "dp/api/eal.h"

namespace sluice::cp {
extern const char kDefaultConfig[];

namespace {

// How long a metrics scrape or telemetry command waits for the control loop.
constexpr std::chrono::milliseconds kGatherTimeout{2000};

volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_reload = 0;

struct Options {
  std::string config_path;  // empty: the embedded default
  bool check = false;
  bool print_default = false;
  unsigned stats_interval_s = 0;
};

void onSignal(int sig) {
  if (sig == SIGHUP) {
    g_reload = 1;
  } else {
    g_stop = 1;
  }
}

Result<Config> loadConfig(const Options& opts) {
  return opts.config_path.empty() ? loadConfigText(kDefaultConfig, "<embedded conf/demo.conf>")
                                  : loadConfigFile(opts.config_path);
}

// SIGHUP (and the admin API's Reload): re-read the config and publish what
// changed in its services. A config that does not load is refused whole and
// the running tables stay.
void reload(const Options& opts, const Config& running, Publisher& publisher) {
  auto next = loadConfig(opts);
  if (!next) {
    std::fprintf(stderr, "sluiced: reload refused, running config kept:\n%s\n",
                 next.status().message().c_str());
    return;
  }
  auto report = applyReload(*next, running, publisher);
  if (!report) {
    std::fprintf(stderr, "sluiced: reload: %s\n", report.status().message().c_str());
    return;
  }
  for (const std::string& name : report->restart_required) {
    std::fprintf(stderr, "sluiced: reload: %s changed; it takes effect on restart\n", name.c_str());
  }
  const PublishStats& stats = report->stats;
  std::printf("sluiced: reloaded %s: %zu services added, %zu changed, %zu removed, %zu unchanged\n",
              report->source.c_str(), stats.added, stats.changed, stats.removed, stats.unchanged);
  std::fflush(stdout);
}

void usage(FILE* out) {
  std::fprintf(out,
               "usage: sluiced [--config FILE] [--check] [--stats-interval SECONDS]\n"
               "       sluiced --print-default-config\n"
               "\n"
               "  --config FILE          libconfig file (default: the embedded demo config)\n"
               "  --check                validate the config and exit (0 = valid)\n"
               "  --stats-interval SECS  print counters every SECS seconds while running\n"
               "  --print-default-config print the embedded default config and exit\n");
}

bool parseArgs(int argc, char** argv, Options* o) {
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto value = [&](std::string* out) {
      if (i + 1 >= argc) return false;
      *out = argv[++i];
      return true;
    };
    std::string v;
    if (a == "--config") {
      if (!value(&o->config_path) || o->config_path.empty()) return false;
    } else if (a == "--check") {
      o->check = true;
    } else if (a == "--print-default-config") {
      o->print_default = true;
    } else if (a == "--stats-interval") {
      if (!value(&v)) return false;
      char* end = nullptr;
      unsigned long n = std::strtoul(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != '\0' || n > 86400) return false;
      o->stats_interval_s = static_cast<unsigned>(n);
    } else if (a == "-h" || a == "--help") {
      usage(stdout);
      std::exit(0);
    } else {
      return false;
    }
  }
  return true;
}

// "name=value" for every non-zero counter, drops after a "drops:" marker.
std::string formatWorker(const dp::WorkerCounterSnapshot& s) {
  std::string line;
  for (size_t i = 0; i < dp::kWorkerEventCount; i++) {
    if (s.events[i] != 0) {
      line += std::string(" ") + dp::kWorkerEventNames[i] + "=" + std::to_string(s.events[i]);
    }
  }
  std::string drops;
  for (size_t i = 1; i < dp::kDropCount; i++) {
    if (s.drops[i] != 0) {
      drops += std::string(" ") + dp::kDropNames[i] + "=" + std::to_string(s.drops[i]);
    }
  }
  if (!drops.empty()) line += " drops:" + drops;
  return line.empty() ? " idle" : line;
}

void printCounters(const dp::Dataplane& dp, const char* heading) {
  std::printf("%s\n", heading);
  for (const auto& p : dp.portCounters()) {
    std::printf(
        "port %s: ipackets=%lu opackets=%lu ibytes=%lu obytes=%lu imissed=%lu ierrors=%lu "
        "oerrors=%lu rx_nombuf=%lu\n",
        p.name.c_str(), p.ipackets, p.opackets, p.ibytes, p.obytes, p.imissed, p.ierrors, p.oerrors,
        p.rx_nombuf);
  }
  for (const auto& w : dp.workerCounters()) {
    std::printf("worker %u:%s\n", w.lcore, formatWorker(w).c_str());
  }
  std::fflush(stdout);
}

void printSummary(const Config& c, const dp::Dataplane& dp) {
  std::printf("sluiced: config %s\n", c.source.c_str());
  for (const auto& p : c.dataplane.ports) {
    auto mac = dp.portMac(p.name);
    std::printf("port %s: mac %s device %s rx_queues %u vlan %u\n", p.name.c_str(),
                mac ? mac->toString().c_str() : "?", p.device.c_str(), p.rx_queues, p.vlan);
  }
  for (const auto& a : c.dataplane.addresses) {
    std::printf("address %s on %s\n", a.prefix.toString().c_str(), a.port.c_str());
  }
  for (const auto& r : c.dataplane.routes) {
    std::printf("route %s via %s%s%s\n", r.prefix.toString().c_str(),
                r.via ? r.via->toString().c_str() : "(connected)", r.port.empty() ? "" : " port ",
                r.port.c_str());
  }
  for (const auto& w : c.dataplane.workers) {
    std::string rx;
    for (const auto& q : w.rx) rx += " " + q.port + "/" + std::to_string(q.queue);
    std::printf("worker %u: cpu %u rx%s\n", w.lcore, w.cpu.value_or(w.lcore), rx.c_str());
  }
  for (const auto& svc : c.services) {
    std::printf("service %s %s %s%s: %zu endpoints\n", svc.key.toString().c_str(),
                toString(svc.mode), toString(svc.algorithm),
                svc.affinity_client_ip ? " client-ip affinity" : "", svc.endpoints.size());
  }
  // What the workers' busy_cycles count in: cycles/packet -> packets/s.
  std::printf("tsc_hz %lu\n", static_cast<unsigned long>(dp::tscHz()));
  std::printf("idle policy: %s\n",
              c.dataplane.idle.policy == dp::IdlePolicy::kBusy ? "busy" : "backoff");
  std::fflush(stdout);
}

int run(const Config& config, const Options& opts, const char* argv0) {
  dp::setLogLevel(config.log_level);
  if (Status s = dp::initEal(buildEalArgs(config, argv0)); !s) {
    std::fprintf(stderr, "sluiced: %s\n", s.message().c_str());
    return 1;
  }
  dp::setLogLevel(config.log_level);
  int rc = 0;
  {
    auto dp = dp::Dataplane::create(config.dataplane);
    if (!dp) {
      std::fprintf(stderr, "sluiced: %s\n", dp.status().message().c_str());
      dp::cleanupEal();
      return 1;
    }
    dp::Dataplane& plane = **dp;
    printSummary(config, plane);
    DataplaneSink sink(plane);
    Publisher publisher(sink);
    Status started = publisher.replaceSource(ServiceSource::kConfig, config.services).status();
    // The admin API posts its work to this loop, which owns the publisher.
    ControlQueue control;
    admin::DataplaneBackend backend(publisher, config, plane, [&] { return loadConfig(opts); });
    std::unique_ptr<admin::AdminServer> admin_server;
    if (started && config.admin) {
      auto server = admin::AdminServer::start(*config.admin, control, backend);
      started = server ? Status::ok() : server.status();
      if (server) {
        admin_server = std::move(*server);
        std::printf("sluiced: admin API on unix:%s", admin_server->socketPath().c_str());
        if (admin_server->tcpPort() != 0) std::printf(" and TLS port %d", admin_server->tcpPort());
        std::printf("\n");
      }
    }
    std::unique_ptr<xds::XdsAgent> xds_agent;
    if (started && config.xds) {
      auto agent = xds::XdsAgent::start(*config.xds, config.dataplane, publisher, control);
      started = agent ? Status::ok() : agent.status();
      if (agent) {
        xds_agent = std::move(*agent);
        std::printf("sluiced: xds client for %s (%s%s), node %s\n", config.xds->server.c_str(),
                    config.xds->mode == xds::XdsMode::kDelta ? "delta" : "sotw",
                    config.xds->lazy ? ", lazy" : "", config.xds->node.id.c_str());
        backend.setXdsStats([&xds_agent] { return xds_agent->stats(); });
      }
    }
    metrics::SnapshotSource snapshots = [&] {
      return metrics::gather(control, backend, kGatherTimeout);
    };
    if (started) started = metrics::registerTelemetry(snapshots);
    std::unique_ptr<metrics::MetricsServer> metrics_server;
    if (started && config.metrics) {
      auto server = metrics::MetricsServer::start(*config.metrics, snapshots);
      started = server ? Status::ok() : server.status();
      if (server) {
        metrics_server = std::move(*server);
        std::printf("sluiced: metrics on %s\n", metrics_server->url().c_str());
      }
    }
    if (started) started = plane.launch();
    backend.markLaunched();
    if (!started) {
      std::fprintf(stderr, "sluiced: %s\n", started.message().c_str());
      rc = 1;
      control.close();
      metrics::closeTelemetry();
    } else {
      std::printf("sluiced: running (SIGINT or SIGTERM stops, SIGHUP reloads services)\n");
      std::fflush(stdout);
      auto interval = std::chrono::seconds(opts.stats_interval_s);
      auto next_stats = std::chrono::steady_clock::now() + interval;
      while (g_stop == 0) {
        if (g_reload != 0) {
          g_reload = 0;
          reload(opts, config, publisher);
        }
        plane.pollControl();
        if (xds_agent) xds_agent->poll(plane);
        if (opts.stats_interval_s != 0 && std::chrono::steady_clock::now() >= next_stats) {
          printCounters(plane, "-- counters");
          next_stats = std::chrono::steady_clock::now() + interval;
        }
        control.runPending(std::chrono::milliseconds(1));
      }
      std::printf("sluiced: stopping\n");
      // Fails what other threads still wait for, so that servers can stop.
      control.close();
      if (xds_agent) xds_agent->stop();
      metrics::closeTelemetry();
      if (metrics_server) metrics_server->stop();
      if (admin_server) admin_server->stop();
      plane.stop();
      plane.pollControl();
    }
    printCounters(plane, "-- final counters");
  }
  dp::cleanupEal();
  return rc;
}

}  // namespace
}  // namespace sluice::cp

int main(int argc, char** argv) {
  using namespace sluice::cp;
  Options opts;
  if (!parseArgs(argc, argv, &opts)) {
    usage(stderr);
    return 2;
  }
  if (opts.print_default) {
    std::fputs(kDefaultConfig, stdout);
    return 0;
  }
  auto config = loadConfig(opts);
  if (!config) {
    std::fprintf(stderr, "sluiced: invalid config:\n%s\n", config.status().message().c_str());
    return 1;
  }
  if (opts.check) {
    std::printf("sluiced: %s is valid: %zu ports, %zu workers, %zu addresses, %zu routes\n",
                config->source.c_str(), config->dataplane.ports.size(),
                config->dataplane.workers.size(), config->dataplane.addresses.size(),
                config->dataplane.routes.size());
    return 0;
  }
  struct sigaction sa {};
  sa.sa_handler = onSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  return run(*config, opts, argv[0]);
}
