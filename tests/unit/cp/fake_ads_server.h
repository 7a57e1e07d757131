// The xDS client tests' world: an in-process ADS management server (both
// AggregatedDiscoveryService methods, every request recorded with the
// stream it came on, responses sent when the test says, streams cancelled
// or refused on demand), a handler that records and rejects, and a thread
// playing sluiced's control loop.
#pragma once

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "cp/control_queue.h"
#include "cp/xds/handler.h"
#include "envoy/service/discovery/v3/ads.grpc.pb.h"

namespace sluice::cp::xds::testing {

namespace discovery = envoy::service::discovery::v3;

// A directory of its own for a test (sockets, certificates), removed after.
struct ScratchDir {
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sluice-xds-XXXXXX").string();
    path = ::mkdtemp(pattern.data()) != nullptr ? pattern : "";
  }
  ~ScratchDir() {
    std::error_code ignored;
    if (!path.empty()) {
      std::filesystem::remove_all(path, ignored);
    }
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string path;
};

// Polls `done` until it holds or five seconds pass.
inline bool eventually(const std::function<bool()>& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) {
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// The streams of one method (SotW or delta).
template <class Request, class Response>
class FakeStreams {
 public:
  struct Recorded {
    int stream = 0;  // 0 for the first stream opened, 1 for the next...
    Request request;
  };

  grpc::Status serve(grpc::ServerContext* ctx,
                     grpc::ServerReaderWriter<Response, Request>* stream) {
    int index = 0;
    {
      std::lock_guard lock(mutex_);
      attempts_.push_back(std::chrono::steady_clock::now());
      if (refuse_) {
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "refused by the test");
      }
      index = opened_++;
      live_ = stream;
      ctx_ = ctx;
    }
    Request request;
    while (stream->Read(&request)) {
      std::lock_guard lock(mutex_);
      recorded_.push_back({index, request});
    }
    std::lock_guard lock(mutex_);
    live_ = nullptr;
    ctx_ = nullptr;
    return grpc::Status::OK;
  }

  // Sends on the open stream; false when none is open.
  bool send(const Response& response) {
    std::lock_guard lock(mutex_);
    return live_ != nullptr && live_->Write(response);
  }
  // Ends the open stream from the server's side.
  void cancel() {
    std::lock_guard lock(mutex_);
    if (ctx_ != nullptr) {
      ctx_->TryCancel();
    }
  }
  // New streams are ended at once with UNAVAILABLE.
  void refuse(bool refuse) {
    std::lock_guard lock(mutex_);
    refuse_ = refuse;
  }

  std::vector<Recorded> requests() const {
    std::lock_guard lock(mutex_);
    return recorded_;
  }
  size_t requestCount() const {
    std::lock_guard lock(mutex_);
    return recorded_.size();
  }
  // Waits for at least `n` requests; returns them all (fewer on timeout).
  std::vector<Recorded> waitRequests(size_t n) const {
    eventually([&] { return requestCount() >= n; });
    return requests();
  }
  int opened() const {
    std::lock_guard lock(mutex_);
    return opened_;
  }
  bool live() const {
    std::lock_guard lock(mutex_);
    return live_ != nullptr;
  }
  std::vector<std::chrono::steady_clock::time_point> attempts() const {
    std::lock_guard lock(mutex_);
    return attempts_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Recorded> recorded_;
  std::vector<std::chrono::steady_clock::time_point> attempts_;  // streams started, refused too
  grpc::ServerReaderWriter<Response, Request>* live_ = nullptr;
  grpc::ServerContext* ctx_ = nullptr;
  int opened_ = 0;
  bool refuse_ = false;
};

class FakeAdsServer final : public discovery::AggregatedDiscoveryService::Service {
 public:
  using Sotw = FakeStreams<discovery::DiscoveryRequest, discovery::DiscoveryResponse>;
  using Delta = FakeStreams<discovery::DeltaDiscoveryRequest, discovery::DeltaDiscoveryResponse>;

  // Listens on `address` ("127.0.0.1:0" picks a port; "unix:/path").
  explicit FakeAdsServer(
      const std::string& address = "127.0.0.1:0",
      std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials()) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort(address, std::move(credentials), &port_);
    builder.RegisterService(this);
    server_ = builder.BuildAndStart();
    target_ = address.rfind("unix:", 0) == 0 ? address : "127.0.0.1:" + std::to_string(port_);
  }
  ~FakeAdsServer() override { shutdown(); }

  void shutdown() {
    if (server_) {
      sotw.cancel();
      delta.cancel();
      server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
      server_->Wait();
      server_.reset();
    }
  }

  bool ok() const { return server_ != nullptr && (port_ != 0 || target_.rfind("unix:", 0) == 0); }
  // What the client's spec.server should say.
  const std::string& target() const { return target_; }

  grpc::Status StreamAggregatedResources(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<discovery::DiscoveryResponse, discovery::DiscoveryRequest>* stream)
      override {
    return sotw.serve(ctx, stream);
  }
  grpc::Status DeltaAggregatedResources(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<discovery::DeltaDiscoveryResponse, discovery::DeltaDiscoveryRequest>*
          stream) override {
    return delta.serve(ctx, stream);
  }

  Sotw sotw;
  Delta delta;

 private:
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::string target_;
};

// The controller's stand-in: records every call and the thread it ran on,
// and rejects updates carrying a resource named in `reject_`.
class RecordingHandler : public UpdateHandler {
 public:
  Status apply(const ResourceUpdate& update) override {
    std::lock_guard lock(mutex_);
    updates_.push_back(update);
    threads_.push_back(std::this_thread::get_id());
    for (const auto& resource : update.resources) {
      if (reject_.contains(resource.name)) {
        return Status::error("cluster " + resource.name + " is not acceptable");
      }
    }
    return Status::ok();
  }
  void connectionChanged(bool connected) override {
    std::lock_guard lock(mutex_);
    connections_.push_back(connected);
    threads_.push_back(std::this_thread::get_id());
  }

  void reject(const std::string& name) {
    std::lock_guard lock(mutex_);
    reject_.insert(name);
  }
  std::vector<ResourceUpdate> updates() const {
    std::lock_guard lock(mutex_);
    return updates_;
  }
  size_t updateCount() const {
    std::lock_guard lock(mutex_);
    return updates_.size();
  }
  std::vector<bool> connections() const {
    std::lock_guard lock(mutex_);
    return connections_;
  }
  std::vector<std::thread::id> threads() const {
    std::lock_guard lock(mutex_);
    return threads_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<ResourceUpdate> updates_;
  std::vector<bool> connections_;
  std::vector<std::thread::id> threads_;
  std::set<std::string> reject_;
};

// sluiced's control loop, on its own thread; pause() stops serving tasks.
class ControlLoop {
 public:
  ControlLoop()
      : thread_([this] {
          while (!stop_.load()) {
            if (paused_.load()) {
              idle_ = true;
              std::this_thread::sleep_for(std::chrono::milliseconds(2));
            } else {
              idle_ = false;
              queue.runPending(std::chrono::milliseconds(2));
            }
          }
        }) {}
  ~ControlLoop() {
    stop_ = true;
    thread_.join();
  }
  // Returns once the loop has stopped (or resumed) serving tasks.
  void pause(bool paused) {
    paused_ = paused;
    eventually([&] { return idle_.load() == paused; });
  }
  std::thread::id id() const { return thread_.get_id(); }

  ControlQueue queue;

 private:
  std::atomic<bool> stop_{false};
  std::atomic<bool> paused_{false};
  std::atomic<bool> idle_{false};
  std::thread thread_;
};

}  // namespace sluice::cp::xds::testing
