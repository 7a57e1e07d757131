#include "cp/metrics/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>
#include <utility>

#include "cp/metrics/exposition.h"

namespace sluice::cp::metrics {

namespace {

// Scrapes are rare and short; two threads let a slow scrape not block a
// second scraper, without httplib's default of one thread per core.
constexpr size_t kServerThreads = 2;

}  // namespace

struct MetricsServer::Impl {
  httplib::Server http;
  std::thread thread;
  std::atomic<bool> ended{false};  // listen_after_bind returned
  std::string host;
};

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl, int port)
    : impl_(std::move(impl)), port_(port) {}

MetricsServer::~MetricsServer() {
  stop();
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const MetricsSpec& spec,
                                                            SnapshotSource source) {
  auto impl = std::make_unique<Impl>();
  impl->host = spec.host;
  httplib::Server& http = impl->http;
  http.new_task_queue = [] { return new httplib::ThreadPool(kServerThreads); };
  // httplib's default sets SO_REUSEPORT, with which a second sluiced would
  // bind the same port and take half the scrapes. SO_REUSEADDR alone still
  // lets a restart bind while old connections linger in TIME_WAIT.
  http.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  FormatOptions options{.endpoints = spec.endpoints};
  http.Get("/metrics", [source = std::move(source), options](const httplib::Request& /*req*/,
                                                             httplib::Response& res) {
    Result<Snapshot> snapshot = source();
    if (!snapshot) {
      res.status = 503;
      res.set_content(snapshot.status().message() + "\n", "text/plain; charset=utf-8");
      return;
    }
    res.set_content(format(*snapshot, options), kContentType);
  });

  errno = 0;
  int port = spec.port;
  bool bound = spec.port == 0 ? (port = http.bind_to_any_port(spec.host)) > 0
                              : http.bind_to_port(spec.host, spec.port);
  if (!bound) {
    int err = errno;
    return Status::error("metrics.listen: cannot listen on " + spec.listen +
                         (err != 0 ? std::string(": ") + std::strerror(err) : std::string()));
  }
  impl->thread = std::thread([&http, &ended = impl->ended] {
    http.listen_after_bind();
    ended = true;
  });
  // stop() before the thread is listening would be lost and leave it
  // serving for ever; start returns once it listens.
  while (!http.is_running() && !impl->ended) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl), port));
}

void MetricsServer::stop() {
  if (impl_ == nullptr || !impl_->thread.joinable()) {
    return;
  }
  impl_->http.stop();
  impl_->thread.join();
}

std::string MetricsServer::url() const {
  std::string host =
      impl_->host.find(':') != std::string::npos ? "[" + impl_->host + "]" : impl_->host;
  return "http://" + host + ":" + std::to_string(port_) + "/metrics";
}

}  // namespace sluice::cp::metrics
