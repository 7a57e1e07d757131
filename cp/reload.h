// Applying a re-read config to a running sluiced: SIGHUP and the admin API's
// Reload share it. Pure C++; the caller loads the file.
#pragma once

#include <string>
#include <vector>

#include "cp/config.h"
#include "cp/publisher.h"

namespace sluice::cp {

struct ReloadReport {
  std::string source;  // the file the services came from
  PublishStats stats;
  // Settings that differ from the running config and wait for a restart.
  std::vector<std::string> restart_required;
};

// The top-level settings of `next` that differ from `running` and that only
// a restart applies: everything but the services.
std::vector<std::string> settingsNeedingRestart(const Config& next, const Config& running);

// Makes the config-sourced services equal to next.services; services from the
// admin API or xDS stay. Refused whole when a service does not validate
// against the running data plane or another source owns its key; a
// data-plane error is returned as the Publisher reports it.
Result<ReloadReport> applyReload(const Config& next, const Config& running, Publisher& publisher);

}  // namespace sluice::cp
