// sluicectl's connection to sluiced's admin API: a unix socket by default,
// or TCP with TLS; every call bounded by the --timeout deadline. A failed
// call prints "sluicectl: CODE: message" on stderr and maps to an exit code.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <grpcpp/grpcpp.h>

#include "sluice/admin/v1/admin.grpc.pb.h"

namespace sluice::ctl {

namespace v1 = ::sluice::admin::v1;

// Exit codes, distinct so that scripts can tell a refusal from a typo from
// a daemon that is down.
enum Exit : int {
  kExitOk = 0,
  kExitServer = 1,       // sluiced answered with an error status
  kExitUsage = 2,        // bad command line or unreadable local file
  kExitUnreachable = 3,  // no answer: nothing listening, refused, TLS failed
  kExitTimeout = 4,      // no answer within --timeout
};

struct Target {
  std::string socket;  // used when tcp is empty
  std::string tcp;     // HOST:PORT
  std::string ca;      // PEM files for TLS
  std::string cert;
  std::string key;
  std::string server_name;  // overrides the name checked in the certificate
  double timeout_s = 10;
};

// "DEADLINE_EXCEEDED" and the like.
const char* statusCodeName(grpc::StatusCode code);

// Prints `status` on stderr and returns its exit code.
int reportFailure(const grpc::Status& status, const std::string& address);
// Prints "sluicectl: message" on stderr and returns kExitUsage.
int usageError(const std::string& message);

class Client {
 public:
  // Reads the TLS files; on failure prints why and sets exitCode().
  explicit Client(const Target& target);

  bool ok() const { return stub_ != nullptr; }
  int exitCode() const { return exit_; }
  // "unix:/run/sluice/admin.sock" or "127.0.0.1:50051 (TLS)".
  const std::string& address() const { return address_; }

  // Calls one RPC: call([&](auto& stub, auto* ctx) { return stub.GetStats(ctx, req, &out); }).
  // Returns kExitOk or the failure's exit code, having printed it.
  template <class Rpc>
  int call(Rpc rpc) {
    grpc::Status status = tryCall(rpc);
    return status.ok() ? kExitOk : reportFailure(status, address_);
  }
  // The same, printing nothing: for callers that handle some failures.
  template <class Rpc>
  grpc::Status tryCall(Rpc rpc) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + timeout_);
    return rpc(*stub_, &context);
  }

 private:
  std::unique_ptr<v1::Admin::Stub> stub_;
  std::string address_;
  std::chrono::system_clock::duration timeout_{};
  int exit_ = kExitOk;
};

// The whole file, or nullopt with `error` set.
std::optional<std::string> readFile(const std::string& path, std::string* error);

}  // namespace sluice::ctl
