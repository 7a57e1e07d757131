#include "cp/xds/client.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <thread>
#include <utility>

#include <grpcpp/grpcpp.h>

#include "cp/xds/ads_state.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"

namespace sluice::cp::xds {

namespace {

using Stub = discovery::AggregatedDiscoveryService::Stub;
using Clock = std::chrono::steady_clock;

// How long the stream thread waits for the control thread to take a task
// before withdrawing it and checking for stop(): the control thread may
// itself be the one stopping the client.
constexpr auto kControlSlice = std::chrono::milliseconds(50);
// Keepalive pings on the stream find a server that vanished without a
// FIN. Five minutes is the least gRPC servers allow by default.
constexpr int kKeepaliveMs = 5 * 60 * 1000;
constexpr int kKeepaliveTimeoutMs = 20 * 1000;

Result<std::string> readFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::error(std::string(what) + " " + path + ": cannot open: " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<std::shared_ptr<grpc::ChannelCredentials>> channelCredentials(const XdsSpec& spec) {
  if (!spec.tls) {
    return grpc::InsecureChannelCredentials();
  }
  const XdsTlsSpec& tls = *spec.tls;
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    return Status::error("tls: cert_file and key_file go together");
  }
  grpc::SslCredentialsOptions options;
  if (!tls.ca_file.empty()) {  // else gRPC's default roots
    auto ca = readFile(tls.ca_file, "tls.ca_file");
    if (!ca) {
      return ca.status();
    }
    options.pem_root_certs = std::move(*ca);
  }
  if (!tls.cert_file.empty()) {
    auto cert = readFile(tls.cert_file, "tls.cert_file");
    if (!cert) {
      return cert.status();
    }
    auto key = readFile(tls.key_file, "tls.key_file");
    if (!key) {
      return key.status();
    }
    options.pem_cert_chain = std::move(*cert);
    options.pem_private_key = std::move(*key);
  }
  auto credentials = grpc::SslCredentials(options);
  if (!credentials) {
    return Status::error("tls: gRPC refused the certificates");
  }
  return credentials;
}

grpc::ChannelArguments channelArguments(const XdsSpec& spec) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(
      static_cast<int>(std::min<uint32_t>(spec.max_receive_bytes, INT_MAX)));
  // A channel per attempt, each with its own connection: gRPC's own
  // reconnect backoff (shared through the global subchannel pool) would
  // otherwise stack on ours.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, kKeepaliveMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, kKeepaliveTimeoutMs);
  // An idle xDS stream carries no data for hours: keep pinging anyway.
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetUserAgentPrefix("sluice");
  if (spec.tls && !spec.tls->server_name.empty()) {
    args.SetSslTargetNameOverride(spec.tls->server_name);
  }
  return args;
}

struct SotwProtocol {
  using State = SotwState;
  static auto open(Stub& stub, grpc::ClientContext* ctx) {
    return stub.StreamAggregatedResources(ctx);
  }
};

struct DeltaProtocol {
  using State = DeltaState;
  static auto open(Stub& stub, grpc::ClientContext* ctx) {
    return stub.DeltaAggregatedResources(ctx);
  }
};

template <class Protocol>
class AdsClient final : public XdsClient {
  using State = typename Protocol::State;
  using Request = typename State::Request;
  using Response = typename State::Response;
  using Stream = grpc::ClientReaderWriter<Request, Response>;

 public:
  AdsClient(const XdsSpec& spec, ControlQueue& queue, UpdateHandler& handler,
            std::shared_ptr<grpc::ChannelCredentials> credentials)
      : spec_(spec),
        queue_(queue),
        handler_(handler),
        credentials_(std::move(credentials)),
        args_(channelArguments(spec)),
        state_(spec.node),
        backoff_ms_(std::max<uint32_t>(spec.backoff_initial_ms, 1)),
        jitter_(std::random_device{}()) {
    metrics_.backoff_ms = backoff_ms_;
  }

  ~AdsClient() override { stop(); }

  void begin() {
    thread_ = std::thread([this] { run(); });
  }

  void stop() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      if (ctx_ != nullptr) {
        ctx_->TryCancel();
      }
    }
    wake_.notify_all();
    if (thread_.joinable()) {
      thread_.join();
    }
  }

  void subscribe(const std::vector<std::string>& clusters) override {
    std::lock_guard lock(mutex_);
    queueRequests(state_.subscribe(clusters));
  }

  void unsubscribe(const std::vector<std::string>& clusters) override {
    std::lock_guard lock(mutex_);
    queueRequests(state_.unsubscribe(clusters));
  }

  ClientMetrics metrics() const override {
    std::lock_guard lock(mutex_);
    ClientMetrics out = metrics_;
    for (size_t i = 0; i < kResourceTypeCount; ++i) {
      auto type = static_cast<ResourceType>(i);
      out.versions[i] = state_.acceptedVersion(type);
      out.resources[i] = state_.held(type);
    }
    out.endpoint_subscriptions = state_.endpointNames();
    return out;
  }

 private:
  void queueRequests(std::vector<Request> requests) {
    if (requests.empty() || !stream_live_) {
      return;
    }
    for (auto& request : requests) {
      outbox_.push_back(std::move(request));
    }
    wake_.notify_all();
  }

  bool stopping() const {
    std::lock_guard lock(mutex_);
    return stopping_;
  }

  // Runs `task` on the control thread and waits for it. False (and `task`
  // never run) once stop() was called.
  bool onControlThread(const std::function<void()>& task) {
    while (!stopping()) {
      auto posted = Clock::now();
      if (queue_.runFor(task, kControlSlice)) {
        return true;
      }
      // Refused at once: the queue is closed (sluiced is stopping). Wait
      // for stop() rather than spin.
      if (Clock::now() - posted < kControlSlice) {
        std::unique_lock lock(mutex_);
        wake_.wait_for(lock, kControlSlice, [&] { return stopping_; });
      }
    }
    return false;
  }

  void run() {
    while (!stopping()) {
      Status ended = runStream();
      std::unique_lock lock(mutex_);
      metrics_.last_stream_error = ended.message();
      if (stopping_) {
        break;
      }
      ++metrics_.reconnects;
      uint64_t base = backoff_ms_;
      backoff_ms_ = std::min<uint64_t>(base * 2, std::max<uint32_t>(spec_.backoff_max_ms, 1));
      metrics_.backoff_ms = backoff_ms_;
      // 50-100% of the base, so that gateways restarted together do not
      // reconnect in step.
      std::uniform_int_distribution<uint64_t> spread(base / 2, base);
      auto wait = std::chrono::milliseconds(spread(jitter_));
      metrics_.last_wait_ms = wait.count();
      wake_.wait_for(lock, wait, [&] { return stopping_; });
    }
  }

  // One stream, from opening to its end; returns why it ended.
  Status runStream() {
    auto channel = grpc::CreateCustomChannel(spec_.server, credentials_, args_);
    auto stub = discovery::AggregatedDiscoveryService::NewStub(channel);
    grpc::ClientContext ctx;
    std::vector<Request> first;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) {
        return Status::ok();
      }
      ctx_ = &ctx;
    }
    std::unique_ptr<Stream> stream = Protocol::open(*stub, &ctx);
    {
      std::lock_guard lock(mutex_);
      first = state_.streamOpened();
      outbox_.clear();
      for (Deferred& d : deferred_) d.request.reset();  // the old stream's nonces
      stream_live_ = true;
    }
    // Written means gRPC had a connection to put them on: the stream is up.
    bool up = std::all_of(first.begin(), first.end(),
                          [&](const Request& request) { return stream->Write(request); });
    std::thread writer;
    if (up && setConnected(true)) {
      writer = std::thread([&] { writeLoop(*stream, ctx); });
      Response response;
      while (stream->Read(&response)) {
        handleResponse(std::move(response));
        response = Response();
      }
    }
    {
      std::lock_guard lock(mutex_);
      stream_live_ = false;
      state_.streamClosed();
      outbox_.clear();
      for (Deferred& d : deferred_) d.request.reset();  // the old stream's nonces
    }
    wake_.notify_all();
    if (writer.joinable()) {
      writer.join();
    }
    grpc::Status status = stream->Finish();
    {
      std::lock_guard lock(mutex_);
      ctx_ = nullptr;
    }
    if (up) {
      setConnected(false);
    }
    if (status.ok()) {
      return Status::error("the server ended the stream");
    }
    return Status::error("stream ended: " + std::to_string(status.error_code()) + " " +
                         status.error_message());
  }

  // Records the stream's state and tells the handler on the control
  // thread. False when stop() came first.
  bool setConnected(bool connected) {
    {
      std::lock_guard lock(mutex_);
      metrics_.connected = connected;
      if (connected) {
        ++metrics_.streams_opened;
      }
    }
    return onControlThread([&] { handler_.connectionChanged(connected); });
  }

  // The only writer once the first requests are out: ACKs, NACKs and
  // subscription changes, in the order they were queued.
  void writeLoop(Stream& stream, grpc::ClientContext& ctx) {
    std::unique_lock lock(mutex_);
    while (true) {
      Deferred* due = earliestDeferred();
      bool due_now = due != nullptr && Clock::now() >= due->not_before;
      if (outbox_.empty() && stream_live_ && !due_now) {
        // Woken by a queued request, a new deferral, the stream's end or
        // the deferral's time; then everything is looked at again.
        if (due != nullptr) {
          wake_.wait_until(lock, due->not_before);
        } else {
          wake_.wait(lock);
        }
        continue;
      }
      if (!stream_live_) {
        return;
      }
      Request request;
      if (!outbox_.empty()) {
        request = std::move(outbox_.front());
        outbox_.pop_front();
      } else {
        request = std::move(*due->request);
        due->request.reset();
      }
      lock.unlock();
      bool ok = stream.Write(request);
      lock.lock();
      if (!ok) {
        ctx.TryCancel();  // the reader sees the end too
        return;
      }
    }
  }

  void handleResponse(Response&& response) {
    size_t bytes = response.ByteSizeLong();
    Received received = decodeResponse(std::move(response));
    std::optional<std::string> earlier;
    {
      std::lock_guard lock(mutex_);
      ++metrics_.responses;
      metrics_.bytes_received += bytes;
      earlier = state_.earlierRejection(received);
    }
    Status verdict;
    if (earlier) {
      verdict = Status::error(*earlier);
    } else if (!received.error.empty()) {
      verdict = Status::error(received.error);
    } else if (!onControlThread([&] { verdict = handler_.apply(received.update); })) {
      return;  // stopping: no answer
    }
    std::lock_guard lock(mutex_);
    Request answer = state_.answer(received, verdict);
    if (received.known_type) {
      // A newer response of this type supersedes a NACK still waiting.
      Deferred& waiting = deferred_[static_cast<size_t>(received.update.type)];
      if (!earlier) {
        waiting = Deferred{};
      } else {
        // The same content again: a server that resends on every NACK (as
        // go-control-plane's snapshot cache does) would spin with a client
        // that NACKs at once. The NACK goes after a delay that doubles
        // with each repeat, up to 30 s, as Envoy rate-limits its requests.
        waiting.delay_ms = waiting.delay_ms == 0
                               ? kFirstRepeatDelayMs
                               : std::min(waiting.delay_ms * 2, kMaxRepeatDelayMs);
        waiting.not_before = Clock::now() + std::chrono::milliseconds(waiting.delay_ms);
        waiting.request = std::move(answer);
        ++metrics_.nacks;
        ++metrics_.repeated_rejections;
        metrics_.last_nack_reason = verdict.message();
        wake_.notify_all();
        return;
      }
    }
    if (verdict) {
      ++metrics_.acks;
      backoff_ms_ = std::max<uint32_t>(spec_.backoff_initial_ms, 1);
      metrics_.backoff_ms = backoff_ms_;
    } else {
      ++metrics_.nacks;
      metrics_.repeated_rejections += earlier ? 1 : 0;
      metrics_.last_nack_reason = verdict.message();
    }
    queueRequests({std::move(answer)});
  }

  const XdsSpec spec_;
  ControlQueue& queue_;
  UpdateHandler& handler_;
  const std::shared_ptr<grpc::ChannelCredentials> credentials_;
  const grpc::ChannelArguments args_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;  // outbox, stream end, stop
  State state_;
  ClientMetrics metrics_;
  std::deque<Request> outbox_;
  // Per type: a NACK of a repeated rejected response, sent at not_before.
  using Clock = std::chrono::steady_clock;
  struct Deferred {
    std::optional<Request> request;
    Clock::time_point not_before;
    uint64_t delay_ms = 0;  // the last delay; 0 after a response of new content
  };
  static constexpr uint64_t kFirstRepeatDelayMs = 100;
  static constexpr uint64_t kMaxRepeatDelayMs = 30000;
  std::array<Deferred, kResourceTypeCount> deferred_;
  // The waiting NACK due first, if any.
  Deferred* earliestDeferred() {
    Deferred* first = nullptr;
    for (Deferred& d : deferred_) {
      if (d.request && (first == nullptr || d.not_before < first->not_before)) {
        first = &d;
      }
    }
    return first;
  }
  bool stream_live_ = false;
  bool stopping_ = false;
  grpc::ClientContext* ctx_ = nullptr;  // the open stream's, for stop()
  uint64_t backoff_ms_;
  std::mt19937_64 jitter_;
  std::thread thread_;
};

template <class Protocol>
std::unique_ptr<XdsClient> startClient(const XdsSpec& spec, ControlQueue& queue,
                                       UpdateHandler& handler,
                                       std::shared_ptr<grpc::ChannelCredentials> credentials) {
  auto client = std::make_unique<AdsClient<Protocol>>(spec, queue, handler, std::move(credentials));
  client->begin();
  return client;
}

}  // namespace

Result<std::unique_ptr<XdsClient>> XdsClient::start(const XdsSpec& spec, ControlQueue& queue,
                                                    UpdateHandler& handler) {
  if (spec.server.empty()) {
    return Status::error("xds: no server");
  }
  auto credentials = channelCredentials(spec);
  if (!credentials) {
    return credentials.status().withContext("xds");
  }
  if (spec.mode == XdsMode::kSotw) {
    return startClient<SotwProtocol>(spec, queue, handler, std::move(*credentials));
  }
  return startClient<DeltaProtocol>(spec, queue, handler, std::move(*credentials));
}

}  // namespace sluice::cp::xds
