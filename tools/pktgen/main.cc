// sluice-pktgen: a DPDK traffic generator (client role) and pod emulator (pod
// role) on one ethdev port, or both in one process on two ports (--pod-port).
// The main lcore sets up, prints progress once a second and writes the
// summary; one worker lcore runs the role's loop (or the client's, which
// polls the pod too).
//
//   sluice-pktgen EAL-ARGS -- --role client|pod OPTIONS
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tools/pktgen/client.h"
#include "tools/pktgen/flows.h"
#include "tools/pktgen/options.h"
#include "tools/pktgen/pod.h"
#include "tools/pktgen/port.h"
#include "tools/pktgen/progress.h"
#include "tools/pktgen/summary.h"

namespace sluice::pktgen {
namespace {

constexpr unsigned kResolveTimeoutS = 5;

// The process's start, near enough (static initialisation), for the
// start-up times the client reports: with millions of flows, building them
// and the per-flow state takes seconds before the first packet.
const std::chrono::steady_clock::time_point g_started = std::chrono::steady_clock::now();

double secondsSinceStart() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - g_started).count();
}

std::atomic<bool> g_stop{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

void onSignal(int) {
  g_stop.store(true);
}

template <class Role>
int launchRole(void* arg) {
  static_cast<Role*>(arg)->run();
  return 0;
}

struct ClientAndPod {
  Client* client;
  Pod* pod;
  void run() { client->run(pod); }
  const LiveCounters& live() const { return client->live(); }
};

// The endpoints' flows and moves so far, from the live counters.
std::vector<ProgressEndpoint> liveEndpoints(const LiveCounters& live) {
  std::vector<ProgressEndpoint> endpoints;
  const uint32_t n = live.endpoints.load(std::memory_order_acquire);
  for (uint32_t i = 0; i < n; ++i) {
    endpoints.push_back({live.endpoint_label[i],
                         live.endpoint_flows[i].load(std::memory_order_relaxed),
                         live.endpoint_moved_away[i].load(std::memory_order_relaxed)});
  }
  return endpoints;
}

// Prints a progress line every second until the worker is done; for the
// client also a JSON line to `json` when given. Returns when the client's
// first packet went, seconds after the process's start (0: none went).
double reportProgress(const LiveCounters& live, bool client, bool tcp, FILE* json) {
  uint64_t last_sent = 0;
  uint64_t last_received = 0;
  uint64_t last_completed = 0;
  auto next = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  unsigned second = 0;
  double first_packet_s = 0;
  while (!live.done.load(std::memory_order_acquire)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (client && first_packet_s == 0 && live.sent.load(std::memory_order_relaxed) != 0) {
      first_packet_s = secondsSinceStart();
      std::fprintf(stderr, "pktgen: first packet %.2f s after start\n", first_packet_s);
    }
    if (std::chrono::steady_clock::now() < next) continue;
    next += std::chrono::seconds(1);
    ++second;
    const uint64_t sent = live.sent.load(std::memory_order_relaxed);
    const uint64_t received = live.received.load(std::memory_order_relaxed);
    const uint64_t other = live.other.load(std::memory_order_relaxed);
    if (client) {
      const uint64_t completed = live.completed.load(std::memory_order_relaxed);
      Progress p;
      p.second = second;
      p.sent = sent - last_sent;
      p.received = received - last_received;
      p.outstanding = sent > received ? sent - received : 0;
      p.unmatched = other;
      p.tcp = tcp;
      p.completed = completed - last_completed;
      p.failed = live.failed.load(std::memory_order_relaxed);
      p.endpoints = liveEndpoints(live);
      last_completed = completed;
      std::fputs(progressLine(p).c_str(), stderr);
      if (json != nullptr) {
        std::fputs(progressJson(p).c_str(), json);
        std::fflush(json);
      }
    } else {
      std::fprintf(stderr, "pktgen pod: %3us received %9lu pps answered %9lu pps ignored %lu\n",
                   second, received - last_received, sent - last_sent, other);
    }
    last_sent = sent;
    last_received = received;
  }
  return first_packet_s;
}

// This process's peak and current resident memory, kB, from /proc/self/status.
ProcessFigures processMemory() {
  ProcessFigures p;
  std::ifstream status("/proc/self/status");
  std::string key;
  uint64_t kb = 0;
  while (status >> key) {
    if (key == "VmHWM:" && status >> kb) p.vmhwm_kb = kb;
    if (key == "VmRSS:" && status >> kb) p.vmrss_kb = kb;
  }
  return p;
}

Status writeOutput(const std::string& path, const std::string& text) {
  if (path.empty()) {
    std::fputs(text.c_str(), stdout);
    std::fflush(stdout);
    return Status::ok();
  }
  FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr) return Status::error("open " + path + ": " + std::strerror(errno));
  const bool ok = std::fputs(text.c_str(), f) >= 0;
  if (std::fclose(f) != 0 || !ok)
    return Status::error("write " + path + ": " + std::strerror(errno));
  return Status::ok();
}

// Where --progress-json goes: a file, stderr for "-", or nowhere.
class ProgressSink {
 public:
  Status open(const std::string& path) {
    if (path.empty()) return Status::ok();
    if (path == "-") {
      file_ = stderr;
      return Status::ok();
    }
    file_ = std::fopen(path.c_str(), "w");
    owned_ = file_ != nullptr;
    if (!owned_) return Status::error("open " + path + ": " + std::strerror(errno));
    return Status::ok();
  }
  ~ProgressSink() {
    if (owned_) std::fclose(file_);
  }
  FILE* file() const { return file_; }

 private:
  FILE* file_ = nullptr;
  bool owned_ = false;
};

// Runs `role` on `worker` while the main lcore reports progress.
// Returns reportProgress's first-packet time.
template <class Role>
double runOn(unsigned worker, Role& role, bool client, const Options& o, FILE* json) {
  rte_eal_remote_launch(launchRole<Role>, &role, worker);
  const double first_packet_s = reportProgress(role.live(), client, o.proto == Proto::kTcp, json);
  rte_eal_wait_lcore(worker);
  return first_packet_s;
}

Status runClient(const Options& o, const Port& port, const Port* pod_port, unsigned worker) {
  auto flows = makeFlows(o.flows, o.sources, o.source_ports, o.destinations);
  if (!flows) return flows.status();
  const double flows_built_s = secondsSinceStart();
  std::fprintf(stderr, "pktgen: %zu flows built %.2f s after start\n", flows->size(),
               flows_built_s);
  MacAddr gateway_mac;
  if (o.gateway_mac) {
    gateway_mac = *o.gateway_mac;
  } else {
    IpAddr source;
    for (const AddrRange& r : o.sources) {
      if (r.first.family == o.gateway->family) source = r.first;
    }
    auto resolved = resolveGateway(port, source, *o.gateway, o.sources, kResolveTimeoutS, g_stop);
    if (!resolved) return resolved.status();
    gateway_mac = *resolved;
    std::fprintf(stderr, "pktgen: gateway %s is at %s\n", o.gateway->toString().c_str(),
                 gateway_mac.toString().c_str());
  }
  ProgressSink progress;
  if (Status s = progress.open(o.progress_json); !s) return s;
  Client client(o, port, std::move(*flows), gateway_mac, g_stop);
  std::optional<Pod> pod;
  double first_packet_s = 0;
  if (pod_port == nullptr) {
    first_packet_s = runOn(worker, client, true, o, progress.file());
  } else {
    pod.emplace(o, *pod_port, g_stop);
    ClientAndPod both{&client, &*pod};
    first_packet_s = runOn(worker, both, true, o, progress.file());
  }
  ClientReport report = client.report();
  if (pod) report.pod = pod->totals();
  report.process = processMemory();
  report.process->flows_built_s = flows_built_s;
  report.process->first_packet_s = first_packet_s;
  return writeOutput(o.json_path, toJson(report));
}

Status runPod(const Options& o, const Port& port, unsigned worker) {
  Pod pod(o, port, g_stop);
  runOn(worker, pod, false, o, nullptr);
  return writeOutput(o.json_path, toJson(pod.totals()));
}

int run(int argc, char** argv) {
  // Our options come after "--"; check them before EAL touches anything.
  int dashes = 1;
  while (dashes < argc && std::strcmp(argv[dashes], "--") != 0) ++dashes;
  if (dashes == argc) {
    std::fputs(usageText(), stderr);
    return 2;
  }
  auto options = parseOptions(std::vector<std::string>(argv + dashes + 1, argv + argc));
  if (!options) {
    std::fprintf(stderr, "sluice-pktgen: %s\n\n%s", options.status().message().c_str(),
                 usageText());
    return 2;
  }
  const Options& o = *options;

  if (rte_eal_init(dashes, argv) < 0) {
    std::fprintf(stderr, "sluice-pktgen: EAL init failed: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  std::signal(SIGINT, onSignal);
  std::signal(SIGTERM, onSignal);

  Status status;
  const unsigned worker = rte_get_next_lcore(-1, 1, 0);
  if (worker >= RTE_MAX_LCORE) {
    status = Status::error("needs a worker lcore besides the main one (e.g. --lcores 0@0,1@1)");
  } else if (auto port = openPort(o.port, o.link_timeout_s, g_stop); !port) {
    status = port.status();
  } else {
    std::fprintf(stderr, "pktgen: port %u mac %s link up\n", port->id,
                 port->mac.toString().c_str());
    if (o.role == Role::kPod) {
      status = runPod(o, *port, worker);
    } else if (!o.pod_port) {
      status = runClient(o, *port, nullptr, worker);
    } else if (auto pod_port = openPort(*o.pod_port, o.link_timeout_s, g_stop); !pod_port) {
      status = pod_port.status();
    } else {
      std::fprintf(stderr, "pktgen: pod port %u mac %s link up\n", pod_port->id,
                   pod_port->mac.toString().c_str());
      status = runClient(o, *port, &*pod_port, worker);
      closePort(*pod_port);
    }
    closePort(*port);
  }
  rte_eal_cleanup();
  if (!status) {
    std::fprintf(stderr, "sluice-pktgen: %s\n", status.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace sluice::pktgen

int main(int argc, char** argv) {
  return sluice::pktgen::run(argc, argv);
}
