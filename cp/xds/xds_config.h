// Reading the config's `xds` group, internal to cp/:
//
//   xds = {
//     server = "127.0.0.1:18000";     # gRPC target: host:port, ipv4:/ipv6:, unix:PATH
//     mode = "delta";                 # or "sotw"
//     node = { id = "gw-1"; cluster = "sluice"; region = ""; zone = ""; sub_zone = ""; };
//     tls = { ca = "ca.pem"; cert = "client.pem"; key = "client.key"; server_name = "xds"; };
//     max_receive_bytes = 67108864;
//     backoff = { initial_ms = 500; max_ms = 30000; };
//     forward_mode = "fullnat";       # or "dnat": how services from xDS forward
//     lazy = false;                   # subscribe a cluster's endpoints on its first packet
//     evict_idle_s = 0;               # unload a service idle this long; 0 = never
//   };
#pragma once

#include "cp/config_reader.h"
#include "cp/xds/spec.h"

namespace sluice::cp::xds {

// Reports every problem to `errors`; `out` counts only when none was added.
void readXds(Errors& errors, const Setting& group, XdsSpec& out);

}  // namespace sluice::cp::xds
