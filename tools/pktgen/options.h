// sluice-pktgen's own options, the arguments after EAL's and "--". Pure:
// parsed and checked without DPDK, so errors come before any port opens.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dp/api/status.h"
#include "dp/api/types.h"
#include "tools/pktgen/flows.h"

namespace sluice::pktgen {

enum class Role { kClient, kPod };
enum class Proto { kUdp, kTcp };
enum class TcpRun { kSteady, kConnect };

struct Options {
  Role role = Role::kClient;
  uint16_t port = 0;             // ethdev port id
  unsigned burst = 32;           // packets per rx/tx burst
  unsigned idle_sleep_us = 0;    // sleep this long after 64 empty polls; 0 busy-polls
  unsigned link_timeout_s = 10;  // wait this long for the link to come up
  double duration_s = 5;         // client: sending time; pod: 0 runs until a signal
  std::string json_path;         // client: where the summary goes ("" = stdout)
  std::string progress_json;     // client: per-second JSON lines ("-" = stderr, "" = none)

  // Client.
  std::vector<AddrRange> sources;  // at most one per family
  PortRange source_ports;
  std::vector<Destination> destinations;
  uint64_t flows = 1;
  uint64_t rate_pps = 0;  // 0: as fast as possible
  uint64_t packets = 0;   // stop sending after this many requests (0: no bound but time)
  // At most this many requests awaiting their answer (0: no bound, or
  // kDefaultWindow when rate_pps is 0), so an unpaced run measures the
  // round trip without exhausting mbufs. kNoWindow ("--window none"): no
  // bound at any rate, for one-way runs whose answers never come.
  uint64_t window = 0;
  static constexpr uint64_t kDefaultWindow = 1024;
  static constexpr uint64_t kNoWindow = UINT64_MAX;
  Proto proto = Proto::kUdp;
  TcpRun tcp_run = TcpRun::kSteady;
  unsigned tcp_timeout_ms = 1000;  // an answer later than this fails the connection
  unsigned exchanges = 1;          // connect: echoed data segments per connection
  bool next_port = false;          // connect: each connection from the flow's next port
  unsigned frame_len = 0;          // built, without FCS: --size - 4; 0: the smallest probe frame
  unsigned drain_ms = 500;         // after sending, wait this long for replies
  std::optional<IpAddr> gateway;   // IPv4 next hop, resolved by ARP
  std::optional<MacAddr> gateway_mac;

  // Pod; in the client role too with pod_port: a pod on that second port,
  // polled by the client's own loop (one lcore for the whole generator).
  std::optional<uint16_t> pod_port;
  std::vector<IpAddr> pod_addresses;
  uint16_t pod_id = 1;
};

// The outstanding bound the client applies (see Options::window).
uint64_t effectiveWindow(const Options& o);

// Parses args (argv after "--"; no program name). The error names the option.
Result<Options> parseOptions(const std::vector<std::string>& args);

// The usage text.
const char* usageText();

}  // namespace sluice::pktgen
