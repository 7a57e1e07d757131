#include "tools/pktgen/progress.h"

#include <cstdio>

namespace sluice::pktgen {
namespace {

uint64_t totalFlows(const Progress& p) {
  uint64_t total = 0;
  for (const ProgressEndpoint& e : p.endpoints) total += e.flows;
  return total;
}

uint64_t totalMoved(const Progress& p) {
  uint64_t moved = 0;
  for (const ProgressEndpoint& e : p.endpoints) moved += e.moved_away;
  return moved;
}

double share(uint64_t flows, uint64_t total) {
  return total == 0 ? 0.0 : static_cast<double>(flows) / static_cast<double>(total);
}

}  // namespace

std::string progressLine(const Progress& p) {
  char head[192];
  std::snprintf(
      head, sizeof(head),
      "pktgen: %3us sent %9llu pps received %9llu pps outstanding %llu unmatched %llu", p.second,
      static_cast<unsigned long long>(p.sent), static_cast<unsigned long long>(p.received),
      static_cast<unsigned long long>(p.outstanding), static_cast<unsigned long long>(p.unmatched));
  std::string line = head;
  if (p.tcp) {
    line += " conn/s " + std::to_string(p.completed) + " failed " + std::to_string(p.failed);
  }
  const uint64_t total = totalFlows(p);
  if (total != 0) {
    line += " | flows";
    for (const ProgressEndpoint& e : p.endpoints) {
      char part[96];
      std::snprintf(part, sizeof(part), " %s %.1f%%", e.label.c_str(),
                    100.0 * share(e.flows, total));
      line += part;
    }
    line += " moved " + std::to_string(totalMoved(p));
  }
  return line + "\n";
}

std::string progressJson(const Progress& p) {
  const uint64_t total = totalFlows(p);
  std::string j = "{\"t\": " + std::to_string(p.second) +
                  ", \"sent_pps\": " + std::to_string(p.sent) +
                  ", \"received_pps\": " + std::to_string(p.received) +
                  ", \"outstanding\": " + std::to_string(p.outstanding) +
                  ", \"unmatched\": " + std::to_string(p.unmatched);
  if (p.tcp) {
    j += ", \"conn_per_s\": " + std::to_string(p.completed) +
         ", \"failed\": " + std::to_string(p.failed);
  }
  j += ", \"flows_answered\": " + std::to_string(total) +
       ", \"moved\": " + std::to_string(totalMoved(p)) + ", \"endpoints\": [";
  for (size_t i = 0; i < p.endpoints.size(); ++i) {
    const ProgressEndpoint& e = p.endpoints[i];
    char part[160];
    std::snprintf(
        part, sizeof(part),
        "%s{\"endpoint\": \"%s\", \"flows\": %llu, \"share\": %.4f, \"moved_away\": %llu}",
        i == 0 ? "" : ", ", e.label.c_str(), static_cast<unsigned long long>(e.flows),
        share(e.flows, total), static_cast<unsigned long long>(e.moved_away));
    j += part;
  }
  return j + "]}\n";
}

}  // namespace sluice::pktgen
