// dp/api/telemetry.h over rte_telemetry. Every command goes to one C
// callback, which finds the handler by the command's name: DPDK 22.11 passes
// no user pointer to a callback and cannot unregister one.
#include "dp/api/telemetry.h"

#include <rte_telemetry.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <type_traits>

namespace sluice::dp {

namespace {

struct Registry {
  std::mutex mutex;
  std::condition_variable idle;  // in_flight dropped to 0
  std::map<std::string, std::shared_ptr<const TelemetryHandler>, std::less<>> handlers;
  std::set<std::string> known_to_dpdk;  // registered once per process
  size_t in_flight = 0;
  bool closed = false;
};

Registry& registry() {
  static Registry r;
  return r;
}

std::string clip(std::string_view text) {
  return std::string(text.substr(0, kTelemetryMaxString - 1));
}

void sendError(rte_tel_data* d, std::string_view message) {
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_string(d, "error", clip(message).c_str());
}

// An array container for one dictionary entry; nullptr when DPDK has no
// memory for it (the entry is then left out).
template <class T>
rte_tel_data* array(const std::vector<T>& values) {
  rte_tel_data* a = rte_tel_data_alloc();
  if (a == nullptr) {
    return nullptr;
  }
  constexpr bool kNumbers = std::is_same_v<T, uint64_t>;
  rte_tel_data_start_array(a, kNumbers ? RTE_TEL_U64_VAL : RTE_TEL_STRING_VAL);
  size_t n = std::min(values.size(), kTelemetryMaxArray);
  for (size_t i = 0; i < n; ++i) {
    if constexpr (kNumbers) {
      rte_tel_data_add_array_u64(a, values[i]);
    } else {
      rte_tel_data_add_array_string(a, clip(values[i]).c_str());
    }
  }
  return a;
}

// Adds one entry of a reply to the dictionary `d`.
struct EntryWriter {
  rte_tel_data* d;
  const char* name;

  void operator()(uint64_t n) const { rte_tel_data_add_dict_u64(d, name, n); }
  void operator()(const std::string& text) const {
    rte_tel_data_add_dict_string(d, name, clip(text).c_str());
  }
  template <class T>
  void operator()(const std::vector<T>& values) const {
    rte_tel_data* a = array(values);
    if (a != nullptr && rte_tel_data_add_dict_container(d, name, a, 0) != 0) {
      rte_tel_data_free(a);
    }
  }
};

void send(rte_tel_data* d, const TelemetryDict& reply) {
  rte_tel_data_start_dict(d);
  size_t n = std::min(reply.entries().size(), kTelemetryMaxEntries);
  for (size_t i = 0; i < n; ++i) {
    const auto& [name, value] = reply.entries()[i];
    std::visit(EntryWriter{d, name.c_str()}, value);
  }
}

int onCommand(const char* cmd, const char* params, rte_tel_data* d) {
  Registry& r = registry();
  std::shared_ptr<const TelemetryHandler> handler;
  {
    std::lock_guard lock(r.mutex);
    auto it = r.handlers.find(cmd);
    if (r.closed || it == r.handlers.end()) {
      sendError(d, "sluiced is shutting down");
      return 0;
    }
    handler = it->second;
    ++r.in_flight;
  }
  Result<TelemetryDict> reply = (*handler)(params != nullptr ? params : "");
  if (reply) {
    send(d, *reply);
  } else {
    sendError(d, reply.status().message());
  }
  {
    std::lock_guard lock(r.mutex);
    --r.in_flight;
  }
  r.idle.notify_all();
  return 0;
}

}  // namespace

Status registerTelemetryCommand(const std::string& command, const std::string& help,
                                TelemetryHandler handler) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  if (!r.known_to_dpdk.contains(command)) {
    int rc = rte_telemetry_register_cmd(command.c_str(), onCommand, help.c_str());
    if (rc != 0) {
      return Status::error("telemetry command " + command + ": " + std::strerror(-rc));
    }
    r.known_to_dpdk.insert(command);
  }
  r.handlers[command] = std::make_shared<const TelemetryHandler>(std::move(handler));
  r.closed = false;
  return Status::ok();
}

void closeTelemetryCommands() {
  Registry& r = registry();
  std::unique_lock lock(r.mutex);
  r.closed = true;
  r.idle.wait(lock, [&] { return r.in_flight == 0; });
  r.handlers.clear();
}

}  // namespace sluice::dp
