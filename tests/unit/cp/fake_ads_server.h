// An in-process ADS management server for the xDS client's tests: both
// AggregatedDiscoveryService methods, every request recorded with the
// stream it came on, responses sent when the test says, streams cancelled
// or refused on demand.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <grpcpp/grpcpp.h>

#include "envoy/service/discovery/v3/ads.grpc.pb.h"

namespace sluice::cp::xds::testing {

namespace discovery = envoy::service::discovery::v3;

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

}  // namespace sluice::cp::xds::testing
