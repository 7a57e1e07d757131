// Errors as values. The control plane and the set-up half of the data plane
// return a Status (or a Result<T>) that carries the reason as text; nothing on
// these paths throws across an API boundary. Worker code never builds one.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace sluice {

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status ok() { return Status(); }
  static Status error(std::string message) { return Status(std::move(message)); }

  bool isOk() const { return !failed_; }
  explicit operator bool() const { return isOk(); }
  // The reason, empty when ok.
  const std::string& message() const { return message_; }

  // Prefixes the reason with context ("port p0: " + reason); ok stays ok.
  Status withContext(const std::string& context) const {
    return failed_ ? Status(context + ": " + message_) : *this;
  }

 private:
  explicit Status(std::string message) : failed_(true), message_(std::move(message)) {}
  bool failed_ = false;
  std::string message_;
};

// A value or the Status that explains why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design

  bool isOk() const { return value_.has_value(); }
  explicit operator bool() const { return isOk(); }
  const Status& status() const { return status_; }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T& operator*() { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace sluice
