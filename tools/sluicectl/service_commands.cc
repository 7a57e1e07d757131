// service list|get|add|del and endpoint add|del|set.
#include <cstdio>

#include "tools/sluicectl/commands.h"
#include "tools/sluicectl/json.h"
#include "tools/sluicectl/names.h"
#include "tools/sluicectl/table.h"

namespace sluice::ctl {

namespace {

// Reads an enum option into `out`; false (having printed why) when `text`
// is not one of its words. Empty text leaves `out` as it is.
template <class E>
bool enumOption(const char* option, const std::string& text, E* out, int* exit) {
  if (text.empty()) {
    return true;
  }
  std::string choices;
  auto value = enumFromText(google::protobuf::GetEnumDescriptor<E>(), text, &choices);
  if (!value) {
    *exit = usageError(std::string(option) + ": '" + text + "' is not one of " + choices);
    return false;
  }
  *out = static_cast<E>(*value);
  return true;
}

std::string readyCount(const v1::Service& s) {
  int ready = 0;
  for (const v1::Endpoint& ep : s.endpoints()) {
    ready += ep.state() == v1::ENDPOINT_STATE_READY ? 1 : 0;
  }
  return std::to_string(ready);
}

std::string affinityText(const v1::Service& s) {
  std::string text =
      enumText(s.affinity() == v1::AFFINITY_UNSPECIFIED ? v1::AFFINITY_NONE : s.affinity());
  if (s.affinity() == v1::AFFINITY_CLIENT_IP && s.has_affinity_timeout()) {
    text += "/" + std::to_string(s.affinity_timeout()) + "s";  // one word: awk-able
  }
  return text;
}

void printServices(const google::protobuf::RepeatedPtrField<v1::Service>& services) {
  using A = Table::Align;
  Table table({{"SERVICE"},
               {"MODE"},
               {"ALGORITHM"},
               {"AFFINITY"},
               {"ENDPOINTS", A::kRight},
               {"READY", A::kRight},
               {"SOURCE"}});
  for (const v1::Service& s : services) {
    table.addRow({keyText(s), enumText(s.mode()), enumText(s.algorithm()), affinityText(s),
                  std::to_string(s.endpoints_size()), readyCount(s), enumText(s.source())});
  }
  table.print(stdout);
}

void printService(const v1::Service& s) {
  std::printf("service    %s\n", keyText(s).c_str());
  std::printf("source     %s\n", enumText(s.source()).c_str());
  std::printf("mode       %s\n", enumText(s.mode()).c_str());
  std::printf("algorithm  %s\n", enumText(s.algorithm()).c_str());
  std::printf("affinity   %s\n", affinityText(s).c_str());
  std::printf("table_size %s\n",
              s.has_table_size() ? std::to_string(s.table_size()).c_str() : "auto");
  std::printf("\n");
  Table table({{"ENDPOINT"}, {"WEIGHT", Table::Align::kRight}, {"STATE"}});
  for (const v1::Endpoint& ep : s.endpoints()) {
    table.addRow({joinHostPort(ep.address(), ep.port()),
                  ep.has_weight() ? std::to_string(ep.weight()) : "1", enumText(ep.state())});
  }
  table.print(stdout);
}

// "created 10.96.0.10:80/tcp: 3 endpoints, 3 ready; published in 0.31 ms".
int printChange(bool json, const v1::ChangeResponse& change) {
  if (json) {
    std::fputs(toJson(change).c_str(), stdout);
    return kExitOk;
  }
  const v1::Service& s = change.service();
  std::printf("%s %s: %d endpoints, %s ready; ", enumText(change.result()).c_str(),
              keyText(s).c_str(), s.endpoints_size(), readyCount(s).c_str());
  if (change.publish_ns() == 0) {
    std::printf("nothing published\n");
  } else {
    std::printf("published in %s ms\n", millis(change.publish_ns()).c_str());
  }
  return kExitOk;
}

bool parseKey(const std::string& text, v1::ServiceKey* out, int* exit) {
  std::string error;
  auto key = parseServiceKey(text, &error);
  if (!key) {
    *exit = usageError(error);
    return false;
  }
  *out = *key;
  return true;
}

// What every endpoint command names: the service, the endpoint, a state.
struct EndpointTarget {
  v1::ServiceKey key;
  std::string address;
  uint32_t port = 0;
  v1::EndpointState state = v1::ENDPOINT_STATE_UNSPECIFIED;
};

bool parseEndpointArgs(const EndpointArgs& args, EndpointTarget* out, int* exit) {
  if (!parseKey(args.service, &out->key, exit) ||
      !enumOption("--state", args.state, &out->state, exit)) {
    return false;
  }
  std::string error;
  auto hp = parseHostPort(args.endpoint, &error);
  if (!hp) {
    *exit = usageError("endpoint " + error);
    return false;
  }
  out->address = hp->host;
  out->port = hp->port;
  return true;
}

// Sends one change (rpc(stub, context, response)) and prints its outcome.
template <class Rpc>
int sendChange(Client& client, bool json, Rpc rpc) {
  v1::ChangeResponse response;
  int exit = client.call([&](auto& stub, auto* ctx) { return rpc(stub, ctx, &response); });
  return exit != kExitOk ? exit : printChange(json, response);
}

}  // namespace

int serviceList(Client& client, bool json, const std::string& source, const std::string& vip) {
  v1::ListServicesRequest request;
  int exit = kExitOk;
  v1::Source wanted = v1::SOURCE_UNSPECIFIED;
  if (!enumOption("--source", source, &wanted, &exit)) {
    return exit;
  }
  request.set_source(wanted);
  request.set_vip(vip);
  v1::ListServicesResponse response;
  exit = client.call(
      [&](auto& stub, auto* ctx) { return stub.ListServices(ctx, request, &response); });
  if (exit != kExitOk) {
    return exit;
  }
  if (json) {
    std::fputs(toJson(response).c_str(), stdout);
  } else {
    printServices(response.services());
  }
  return kExitOk;
}

int serviceGet(Client& client, bool json, const std::string& service) {
  v1::GetServiceRequest request;
  int exit = kExitOk;
  if (!parseKey(service, request.mutable_service(), &exit)) {
    return exit;
  }
  v1::Service response;
  exit =
      client.call([&](auto& stub, auto* ctx) { return stub.GetService(ctx, request, &response); });
  if (exit != kExitOk) {
    return exit;
  }
  if (json) {
    std::fputs(toJson(response).c_str(), stdout);
  } else {
    printService(response);
  }
  return kExitOk;
}

int serviceAdd(Client& client, bool json, const ServiceAddArgs& args) {
  v1::UpsertServiceRequest request;
  request.set_create_only(!args.replace);
  v1::Service* s = request.mutable_service();
  int exit = kExitOk;
  v1::ServiceKey key;
  if (!parseKey(args.service, &key, &exit)) {
    return exit;
  }
  s->set_vip(key.vip());
  s->set_port(key.port());
  s->set_protocol(key.protocol());
  v1::ForwardMode mode = v1::FORWARD_MODE_UNSPECIFIED;
  v1::Algorithm algorithm = v1::ALGORITHM_UNSPECIFIED;
  v1::Affinity affinity = v1::AFFINITY_UNSPECIFIED;
  if (!enumOption("--mode", args.mode, &mode, &exit) ||
      !enumOption("--algorithm", args.algorithm, &algorithm, &exit) ||
      !enumOption("--affinity", args.affinity, &affinity, &exit)) {
    return exit;
  }
  s->set_mode(mode);
  s->set_algorithm(algorithm);
  s->set_affinity(affinity);
  if (args.has_affinity_timeout) {
    s->set_affinity_timeout(args.affinity_timeout);
  }
  if (args.has_table_size) {
    s->set_table_size(args.table_size);
  }
  for (const std::string& text : args.endpoints) {
    std::string error;
    auto ep = parseEndpoint(text, &error);
    if (!ep) {
      return usageError(error);
    }
    *s->add_endpoints() = *ep;
  }
  return sendChange(client, json, [&](auto& stub, auto* ctx, auto* out) {
    return stub.UpsertService(ctx, request, out);
  });
}

int serviceDel(Client& client, bool json, const std::string& service) {
  v1::DeleteServiceRequest request;
  int exit = kExitOk;
  if (!parseKey(service, request.mutable_service(), &exit)) {
    return exit;
  }
  return sendChange(client, json, [&](auto& stub, auto* ctx, auto* out) {
    return stub.DeleteService(ctx, request, out);
  });
}

int endpointAdd(Client& client, bool json, const EndpointArgs& args) {
  EndpointTarget target;
  int exit = kExitOk;
  if (!parseEndpointArgs(args, &target, &exit)) {
    return exit;
  }
  v1::AddEndpointRequest request;
  *request.mutable_service() = target.key;
  v1::Endpoint* ep = request.mutable_endpoint();
  ep->set_address(target.address);
  ep->set_port(target.port);
  ep->set_state(target.state);
  if (args.has_weight) {
    ep->set_weight(args.weight);
  }
  return sendChange(client, json, [&](auto& stub, auto* ctx, auto* out) {
    return stub.AddEndpoint(ctx, request, out);
  });
}

int endpointDel(Client& client, bool json, const EndpointArgs& args) {
  EndpointTarget target;
  int exit = kExitOk;
  if (!parseEndpointArgs(args, &target, &exit)) {
    return exit;
  }
  v1::RemoveEndpointRequest request;
  *request.mutable_service() = target.key;
  request.set_address(target.address);
  request.set_port(target.port);
  return sendChange(client, json, [&](auto& stub, auto* ctx, auto* out) {
    return stub.RemoveEndpoint(ctx, request, out);
  });
}

int endpointSet(Client& client, bool json, const EndpointArgs& args) {
  if (!args.has_weight && args.state.empty()) {
    return usageError("endpoint set: give --weight, --state or both");
  }
  EndpointTarget target;
  int exit = kExitOk;
  if (!parseEndpointArgs(args, &target, &exit)) {
    return exit;
  }
  v1::SetEndpointRequest request;
  *request.mutable_service() = target.key;
  request.set_address(target.address);
  request.set_port(target.port);
  request.set_state(target.state);
  if (args.has_weight) {
    request.set_weight(args.weight);
  }
  return sendChange(client, json, [&](auto& stub, auto* ctx, auto* out) {
    return stub.SetEndpoint(ctx, request, out);
  });
}

}  // namespace sluice::ctl
