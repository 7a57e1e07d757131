// Commands of DPDK's telemetry socket (what dpdk-telemetry.py talks to),
// answered by the control plane. The reply model is plain C++ so that cp/
// builds replies without DPDK headers; dp/telemetry.cc turns it into
// rte_tel_data.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "dp/api/status.h"

namespace sluice::dp {

// DPDK 22.11's limits on one reply: entries of a dictionary, values of an
// array, and characters of a name or string value (with its NUL).
inline constexpr size_t kTelemetryMaxEntries = 256;
inline constexpr size_t kTelemetryMaxArray = 512;
inline constexpr size_t kTelemetryMaxString = 128;

// One reply: a dictionary of numbers, strings and arrays of either, which
// dpdk-telemetry.py prints as a JSON object. Names are letters, digits and
// '_'. Entries past kTelemetryMaxEntries, values past kTelemetryMaxArray and
// characters past kTelemetryMaxString are cut when the reply is sent.
class TelemetryDict {
 public:
  using Value =
      std::variant<uint64_t, std::string, std::vector<uint64_t>, std::vector<std::string>>;

  TelemetryDict& add(std::string name, uint64_t n) { return put(std::move(name), n); }
  TelemetryDict& add(std::string name, std::string text) {
    return put(std::move(name), std::move(text));
  }
  TelemetryDict& add(std::string name, std::vector<uint64_t> numbers) {
    return put(std::move(name), std::move(numbers));
  }
  TelemetryDict& add(std::string name, std::vector<std::string> texts) {
    return put(std::move(name), std::move(texts));
  }
  const std::vector<std::pair<std::string, Value>>& entries() const { return entries_; }
  // The value of `name`, or nullptr.
  const Value* find(std::string_view name) const {
    for (const auto& [key, value] : entries_) {
      if (key == name) {
        return &value;
      }
    }
    return nullptr;
  }

 private:
  // Constructs the value in place: moving a whole variant in trips GCC 12's
  // -Wmaybe-uninitialized (a false positive) at -O2.
  template <class T>
  TelemetryDict& put(std::string name, T value) {
    entries_.emplace_back(std::piecewise_construct, std::forward_as_tuple(std::move(name)),
                          std::forward_as_tuple(std::in_place_type<T>, std::move(value)));
    return *this;
  }

  std::vector<std::pair<std::string, Value>> entries_;
};

// Answers a command; `params` is what the client wrote after the comma
// ("/sluice/worker,1" -> "1"), empty without one. An error is sent as
// {"error": message}.
using TelemetryHandler = std::function<Result<TelemetryDict>(std::string_view params)>;

// Registers `command` (e.g. "/sluice/workers") with DPDK's telemetry; after
// initEal. The handler runs on a telemetry thread, one per client.
Status registerTelemetryCommand(const std::string& command, const std::string& help,
                                TelemetryHandler handler);

// From now on every registered command answers an error, and handlers still
// running are waited for: DPDK 22.11 cannot unregister a command, so this is
// how its owner stops the handlers before what they use goes away.
void closeTelemetryCommands();

}  // namespace sluice::dp
