#include "tools/xds-server/server.h"

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include <grpcpp/grpcpp.h>

#include "envoy/service/discovery/v3/ads.grpc.pb.h"
#include "tools/xds-server/delta_stream.h"
#include "tools/xds-server/sotw_stream.h"

namespace sluice::xds_server {

namespace discovery = envoy::service::discovery::v3;

namespace {

// A delta request on reconnect lists every resource the client holds in
// initial_resource_versions: at 100k resources that is past gRPC's default
// 4 MiB receive limit.
constexpr int kMaxReceiveBytes = 64 << 20;
constexpr auto kShutdownGrace = std::chrono::seconds(2);
constexpr int kMinPingIntervalMs = 10 * 1000;

// What a stream's thread waits on: requests from its reader thread, a new
// snapshot, the end of the client's requests, or the server stopping.
struct WakeUp {
  std::mutex mu;
  std::condition_variable cv;
  bool snapshot_changed = false;
  bool reading_done = false;
  bool stopping = false;

  void set(bool WakeUp::*flag) {
    std::lock_guard lock(mu);
    this->*flag = true;
    cv.notify_one();
  }
};

template <class Request>
struct Mailbox : WakeUp {
  std::deque<Request> requests;  // under mu
};

Result<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::error(path + ": cannot open: " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<std::shared_ptr<grpc::ServerCredentials>> credentials(const ServerOptions& options) {
  if (options.tls_cert.empty() && options.tls_key.empty()) {
    return grpc::InsecureServerCredentials();
  }
  if (options.tls_cert.empty() || options.tls_key.empty()) {
    return Status::error("TLS needs both a certificate and a key");
  }
  auto cert = readFile(options.tls_cert);
  if (!cert) {
    return cert.status();
  }
  auto key = readFile(options.tls_key);
  if (!key) {
    return key.status();
  }
  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  ssl.pem_key_cert_pairs.push_back({*key, *cert});
  return grpc::SslServerCredentials(ssl);
}

// A socket file left by an earlier run is replaced; any other file is not
// ours to remove.
Status clearSocketPath(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return errno == ENOENT ? Status::ok() : Status::error(path + ": " + std::strerror(errno));
  }
  if (!S_ISSOCK(st.st_mode)) {
    return Status::error(path + " exists and is not a socket");
  }
  if (::unlink(path.c_str()) != 0) {
    return Status::error("cannot remove " + path + ": " + std::strerror(errno));
  }
  return Status::ok();
}

}  // namespace

// The snapshot and the open streams, shared by the server and its streams.
class Hub {
 public:
  explicit Hub(EventSink sink) : sink_(std::move(sink)), snapshot_(std::make_shared<Snapshot>()) {}

  std::shared_ptr<const Snapshot> snapshot() const {
    std::lock_guard lock(mu_);
    return snapshot_;
  }

  Result<std::shared_ptr<const Snapshot>> setServices(const std::vector<ServiceSpec>& services) {
    // One update at a time, built outside mu_ so streams keep reading the
    // current snapshot meanwhile.
    std::lock_guard update(update_mu_);
    auto next = nextSnapshot(*snapshot(), services);
    if (!next) {
      return next.status();
    }
    // The old snapshot is freed after the lock, when this holds the last
    // reference: at 10k services that takes milliseconds.
    std::shared_ptr<const Snapshot> old = *next;
    std::lock_guard lock(mu_);
    if ((*next)->version == snapshot_->version) {
      return snapshot_;
    }
    snapshot_.swap(old);
    for (WakeUp* stream : streams_) {
      stream->set(&WakeUp::snapshot_changed);
    }
    return snapshot_;
  }

  // 0 when the server is stopping.
  uint64_t join(WakeUp* stream) {
    std::lock_guard lock(mu_);
    if (stopping_) {
      return 0;
    }
    streams_.insert(stream);
    return ++last_stream_;
  }

  void leave(WakeUp* stream) {
    std::lock_guard lock(mu_);
    streams_.erase(stream);
  }

  void stop() {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (WakeUp* stream : streams_) {
      stream->set(&WakeUp::stopping);
    }
  }

  void report(const StreamEvent& event) const {
    if (sink_) {
      sink_(event);
    }
  }

 private:
  const EventSink sink_;
  std::mutex update_mu_;
  mutable std::mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_;  // under mu_
  std::set<WakeUp*> streams_;                 // under mu_
  bool stopping_ = false;                     // under mu_
  uint64_t last_stream_ = 0;                  // under mu_
};

namespace {

// Runs one stream: a reader thread hands requests over, this thread runs
// the state machine and does every write, so a push never waits for the
// client to send something.
template <class Machine, class Request, class Response>
grpc::Status serve(Hub& hub, grpc::ServerContext* context,
                   grpc::ServerReaderWriter<Response, Request>* stream, bool delta) {
  Mailbox<Request> box;
  uint64_t id = hub.join(&box);
  if (id == 0) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "sluice-xds is stopping");
  }
  std::thread reader([&box, stream] {
    Request request;
    while (stream->Read(&request)) {
      std::lock_guard lock(box.mu);
      box.requests.push_back(std::move(request));
      box.cv.notify_one();
      request = Request();
    }
    box.set(&WakeUp::reading_done);
  });

  Machine machine(id);
  std::shared_ptr<const Snapshot> seen;
  grpc::Status status = grpc::Status::OK;
  std::string why_closed;
  while (true) {
    std::deque<Request> requests;
    bool reading_done = false;
    {
      std::unique_lock lock(box.mu);
      box.cv.wait(lock, [&box] {
        return !box.requests.empty() || box.snapshot_changed || box.reading_done || box.stopping;
      });
      if (box.stopping) {
        status = grpc::Status(grpc::StatusCode::UNAVAILABLE, "sluice-xds is stopping");
        break;
      }
      requests.swap(box.requests);
      box.snapshot_changed = false;
      reading_done = box.reading_done;
    }
    std::shared_ptr<const Snapshot> snapshot = hub.snapshot();
    StreamOutput<Response> out;
    for (const Request& request : requests) {
      machine.onRequest(request, *snapshot, out);
    }
    // Freed, when this stream held the last reference, after the writes.
    std::shared_ptr<const Snapshot> replaced;
    if (snapshot != seen) {
      machine.onSnapshot(*snapshot, out);
      replaced = std::exchange(seen, snapshot);
    }
    for (const StreamEvent& event : out.events) {
      hub.report(event);
    }
    bool written = true;
    for (const Response& response : out.responses) {
      if (!stream->Write(response)) {
        written = false;
        break;
      }
    }
    if (!written) {
      why_closed =
          "a response could not be sent (the client went away, or it is larger than "
          "the send limit)";
      status = grpc::Status::CANCELLED;
      break;
    }
    if (reading_done) {
      break;
    }
  }
  hub.leave(&box);
  {
    std::lock_guard lock(box.mu);
    if (!box.reading_done) {
      // The reader is blocked in Read: cancelling the call ends it.
      context->TryCancel();
      status = grpc::Status::CANCELLED;
    }
  }
  reader.join();

  StreamEvent closed;
  closed.kind = StreamEvent::Kind::kClosed;
  closed.stream = id;
  closed.delta = delta;
  closed.node = machine.node();
  closed.detail = why_closed;
  hub.report(closed);
  return status;
}

}  // namespace

class AdsService final : public discovery::AggregatedDiscoveryService::Service {
 public:
  explicit AdsService(Hub& hub) : hub_(hub) {}

  grpc::Status StreamAggregatedResources(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<discovery::DiscoveryResponse, discovery::DiscoveryRequest>* stream)
      override {
    return serve<SotwStream>(hub_, context, stream, false);
  }

  grpc::Status DeltaAggregatedResources(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<discovery::DeltaDiscoveryResponse, discovery::DeltaDiscoveryRequest>*
          stream) override {
    return serve<DeltaStream>(hub_, context, stream, true);
  }

 private:
  Hub& hub_;
};

XdsServer::XdsServer() = default;

XdsServer::~XdsServer() {
  stop();
}

Result<std::unique_ptr<XdsServer>> XdsServer::start(const ServerOptions& options, EventSink sink) {
  std::unique_ptr<XdsServer> server(new XdsServer());
  auto creds = credentials(options);
  if (!creds) {
    return creds.status();
  }
  constexpr std::string_view kUnix = "unix:";
  bool unix_socket = options.listen.starts_with(kUnix);
  if (unix_socket) {
    server->socket_path_ = options.listen.substr(kUnix.size());
    if (Status s = clearSocketPath(server->socket_path_); !s) {
      return s;
    }
  } else if (options.listen.rfind(':') == std::string::npos) {
    return Status::error("listen address '" + options.listen +
                         "' is neither HOST:PORT nor unix:PATH");
  }
  server->hub_ = std::make_unique<Hub>(std::move(sink));
  server->service_ = std::make_unique<AdsService>(*server->hub_);

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen, *creds, unix_socket ? nullptr : &port);
  builder.SetMaxReceiveMessageSize(kMaxReceiveBytes);
  // An ADS stream is idle for hours between changes, and clients keep it
  // alive with pings (sluiced's every 5 min). gRPC's default refuses pings
  // without data more often than that and drops the connection after two;
  // a management server should take them.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                             kMinPingIntervalMs);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  if (options.max_send_bytes != 0) {
    builder.SetMaxSendMessageSize(static_cast<int>(options.max_send_bytes));
  }
  builder.RegisterService(server->service_.get());
  server->server_ = builder.BuildAndStart();
  if (!server->server_ || (!unix_socket && port == 0)) {
    server->server_.reset();
    return Status::error("cannot listen on " + options.listen + " (gRPC's log above says why)");
  }
  server->address_ =
      unix_socket ? options.listen
                  : options.listen.substr(0, options.listen.rfind(':') + 1) + std::to_string(port);
  return server;
}

Result<std::shared_ptr<const Snapshot>> XdsServer::setServices(
    const std::vector<ServiceSpec>& services) {
  return hub_->setServices(services);
}

std::shared_ptr<const Snapshot> XdsServer::snapshot() const {
  return hub_->snapshot();
}

void XdsServer::stop() {
  if (!server_) {
    return;
  }
  hub_->stop();
  server_->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  server_->Wait();
  server_.reset();
  if (!socket_path_.empty()) {
    ::unlink(socket_path_.c_str());
  }
}

}  // namespace sluice::xds_server
