// The outcome of an admin request: a code a client can act on and a reason
// for the operator. Mirrors the gRPC status codes the API answers with, so
// the logic behind the API stays free of gRPC and is unit-tested alone.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

namespace sluice::cp::admin {

enum class ApiCode : uint8_t {
  kOk,
  kInvalidArgument,     // the request itself is wrong; the message names the field
  kNotFound,            // no such service or endpoint
  kAlreadyExists,       // create-only on a taken key, or an endpoint added twice
  kFailedPrecondition,  // the request is fine but the state refuses it (bad config file)
  kResourceExhausted,   // services_capacity reached
  kUnavailable,         // sluiced is shutting down
  kInternal,            // the data plane refused a validated change
};

class [[nodiscard]] ApiStatus {
 public:
  ApiStatus() = default;
  ApiStatus(ApiCode code, std::string message) : code_(code), message_(std::move(message)) {}
  static ApiStatus ok() { return {}; }

  bool isOk() const { return code_ == ApiCode::kOk; }
  explicit operator bool() const { return isOk(); }
  ApiCode code() const { return code_; }
  const std::string& message() const { return message_; }

 private:
  ApiCode code_ = ApiCode::kOk;
  std::string message_;
};

}  // namespace sluice::cp::admin
