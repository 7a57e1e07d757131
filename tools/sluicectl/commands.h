// sluicectl's commands, one function each: parse what the command line gave
// (a malformed key or endpoint is a usage error, before any call), call
// sluiced, print a table or text (or --json), return the exit code.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tools/sluicectl/client.h"

namespace sluice::ctl {

// Settings the user gave; empty strings and a false `has_` mean "not given".
struct ServiceAddArgs {
  std::string service;  // VIP:PORT/PROTO
  std::vector<std::string> endpoints;
  std::string mode;
  std::string algorithm;
  std::string affinity;
  uint32_t affinity_timeout = 0;
  bool has_affinity_timeout = false;
  uint32_t table_size = 0;
  bool has_table_size = false;
  bool replace = false;  // upsert; otherwise ALREADY_EXISTS for a taken key
};

struct EndpointArgs {
  std::string service;
  std::string endpoint;  // ADDR:PORT
  uint32_t weight = 0;
  bool has_weight = false;
  std::string state;
};

struct StatsArgs {
  bool services = true;   // per-service and per-endpoint traffic
  double interval_s = 0;  // > 0: busy share and rates over this interval
};

struct FlowsArgs {
  std::string vip;
  uint32_t port = 0;
  std::string proto;
  std::string client;
  std::string endpoint;
  uint32_t limit = 0;  // 0: the server's default (100)
};

// service_commands.cc
int serviceList(Client& client, bool json, const std::string& source, const std::string& vip);
int serviceGet(Client& client, bool json, const std::string& service);
int serviceAdd(Client& client, bool json, const ServiceAddArgs& args);
int serviceDel(Client& client, bool json, const std::string& service);
int endpointAdd(Client& client, bool json, const EndpointArgs& args);
int endpointDel(Client& client, bool json, const EndpointArgs& args);
int endpointSet(Client& client, bool json, const EndpointArgs& args);

// stats_commands.cc
int stats(Client& client, bool json, const StatsArgs& args);
int flows(Client& client, bool json, const FlowsArgs& args);

// config_commands.cc
int reload(Client& client, bool json);
// `config` is a file (or "-" for stdin) sent as text, or with `server_path`
// its path for sluiced to read.
int check(Client& client, bool json, const std::string& config, bool server_path);
int dump(Client& client, bool json, const std::string& source);

}  // namespace sluice::ctl
