// Reading the service part of the config, internal to cp/: the conntrack
// group, the snat list and the services list. Each reports every problem to
// `errors`; what it fills in counts only when no error was added.
// validateService, which the admin API shares, is declared in cp/config.h.
#pragma once

#include <vector>

#include "cp/config_reader.h"
#include "dp/api/dataplane.h"
#include "dp/api/service.h"

namespace sluice::cp {

void readConntrack(Errors& errors, const Setting& group, dp::ConntrackSpec& out);

// Needs dataplane.addresses read: each snat address must be one of them.
void readSnat(Errors& errors, const Setting& list, dp::DataplaneSpec& dataplane);

// Needs snat and services_capacity read: services are checked against them.
void readServices(Errors& errors, const Setting& list, const dp::DataplaneSpec& dataplane,
                  std::vector<ServiceSpec>& out);

}  // namespace sluice::cp
