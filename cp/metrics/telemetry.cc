#include "cp/metrics/telemetry.h"

#include <memory>
#include <string>
#include <utility>

#include "cp/metrics/telemetry_replies.h"

namespace sluice::cp::metrics {

namespace {

struct Command {
  const char* name;
  const char* help;
  Result<dp::TelemetryDict> (*reply)(const Snapshot&, std::string_view params);
};

template <dp::TelemetryDict (*F)(const Snapshot&)>
Result<dp::TelemetryDict> noParams(const Snapshot& s, std::string_view /*params*/) {
  return F(s);
}

constexpr Command kCommands[] = {
    {"/sluice/workers", "Per worker rx, tx, drops and busy share. Takes no parameters",
     noParams<workersReply>},
    {"/sluice/worker", "One worker's events and drops by reason. Parameter: worker index",
     workerReply},
    {"/sluice/services", "Traffic of the first 64 services. Takes no parameters",
     noParams<servicesReply>},
    {"/sluice/service", "One service's traffic and its endpoints'. Parameter: VIP:PORT/PROTO",
     serviceReply},
    {"/sluice/conntrack", "Conntrack flows and capacity per worker. Takes no parameters",
     noParams<conntrackReply>},
    {"/sluice/publish", "Publish counts and latency histogram. Takes no parameters",
     noParams<publishReply>},
};

}  // namespace

Status registerTelemetry(SnapshotSource source) {
  auto shared = std::make_shared<SnapshotSource>(std::move(source));
  for (const Command& c : kCommands) {
    Status s = dp::registerTelemetryCommand(c.name, c.help,
                                            [shared, reply = c.reply](std::string_view params) {
                                              Result<Snapshot> snapshot = (*shared)();
                                              if (!snapshot) {
                                                return Result<dp::TelemetryDict>(snapshot.status());
                                              }
                                              return reply(*snapshot, params);
                                            });
    if (!s) {
      return s;
    }
  }
  return Status::ok();
}

void closeTelemetry() {
  dp::closeTelemetryCommands();
}

}  // namespace sluice::cp::metrics
