// Reading the config's `admin` group, internal to cp/:
//
//   admin = {
//     socket = "/run/sluice/admin.sock";   # the default
//     tcp = "127.0.0.1:50051";             # optional, needs tls
//     tls = { cert = "server.pem"; key = "server.key"; client_ca = "ca.pem"; };
//   };
#pragma once

#include "cp/admin/spec.h"
#include "cp/config_reader.h"

namespace sluice::cp::admin {

// Reports every problem to `errors`; `out` counts only when none was added.
void readAdmin(Errors& errors, const Setting& group, AdminSpec& out);

}  // namespace sluice::cp::admin
