#include "cp/admin/convert.h"

#include <utility>

namespace sluice::cp::admin {

namespace {

// Maps one proto enum to the model's: UNSPECIFIED to `unspecified` (nullopt:
// required), known values through `table`, anything else (proto3 enums are
// open) to an error naming the number.
template <class P, class M, size_t N>
std::optional<M> enumFromProto(P value, const std::pair<P, M> (&table)[N],
                               std::optional<M> unspecified, const char* expected,
                               const std::string& field, FieldErrors& errors) {
  if (static_cast<int>(value) == 0) {
    if (!unspecified) {
      errors.push_back(field + ": required: " + expected);
    }
    return unspecified;
  }
  for (const auto& [p, m] : table) {
    if (p == value) {
      return m;
    }
  }
  errors.push_back(field + ": " + std::to_string(static_cast<int>(value)) + " is not one of " +
                   expected);
  return std::nullopt;
}

template <class P, class M, size_t N>
P enumToProto(M value, const std::pair<P, M> (&table)[N]) {
  for (const auto& [p, m] : table) {
    if (m == value) {
      return p;
    }
  }
  return P{};
}

constexpr std::pair<v1::Protocol, Proto> kProtocols[] = {
    {v1::PROTOCOL_TCP, Proto::kTcp},
    {v1::PROTOCOL_UDP, Proto::kUdp},
};
constexpr std::pair<v1::ForwardMode, ForwardMode> kModes[] = {
    {v1::FORWARD_MODE_FULLNAT, ForwardMode::kFullNat},
    {v1::FORWARD_MODE_DNAT, ForwardMode::kDnat},
};
constexpr std::pair<v1::Algorithm, Algorithm> kAlgorithms[] = {
    {v1::ALGORITHM_MAGLEV, Algorithm::kMaglev},
    {v1::ALGORITHM_RANDOM, Algorithm::kRandom},
};
constexpr std::pair<v1::Affinity, bool> kAffinities[] = {
    {v1::AFFINITY_NONE, false},
    {v1::AFFINITY_CLIENT_IP, true},
};
constexpr std::pair<v1::EndpointState, EndpointState> kStates[] = {
    {v1::ENDPOINT_STATE_READY, EndpointState::kReady},
    {v1::ENDPOINT_STATE_TERMINATING, EndpointState::kTerminating},
    {v1::ENDPOINT_STATE_UNHEALTHY, EndpointState::kUnhealthy},
};
constexpr std::pair<v1::Source, ServiceSource> kSources[] = {
    {v1::SOURCE_CONFIG, ServiceSource::kConfig},
    {v1::SOURCE_API, ServiceSource::kApi},
    {v1::SOURCE_XDS, ServiceSource::kXds},
};
constexpr std::pair<v1::ChangeResponse::Result, Change> kChanges[] = {
    {v1::ChangeResponse::RESULT_CREATED, Change::kCreated},
    {v1::ChangeResponse::RESULT_UPDATED, Change::kUpdated},
    {v1::ChangeResponse::RESULT_UNCHANGED, Change::kUnchanged},
    {v1::ChangeResponse::RESULT_DELETED, Change::kDeleted},
};

}  // namespace

std::string joinErrors(const FieldErrors& errors) {
  std::string out;
  for (const std::string& error : errors) {
    out += (out.empty() ? "" : "; ") + error;
  }
  return out;
}

std::optional<IpAddr> addressFromProto(const std::string& text, const std::string& field,
                                       FieldErrors& errors) {
  if (text.empty()) {
    errors.push_back(field + ": required: an IPv4 or IPv6 address");
    return std::nullopt;
  }
  auto addr = IpAddr::parse(text);
  if (!addr) {
    errors.push_back(field + ": '" + text + "' is not an IP address");
  }
  return addr;
}

std::optional<uint16_t> portFromProto(uint32_t port, const std::string& field,
                                      FieldErrors& errors) {
  if (port == 0 || port > 65535) {
    errors.push_back(field + ": " + std::to_string(port) + " is not a valid port");
    return std::nullopt;
  }
  return static_cast<uint16_t>(port);
}

std::optional<ServiceKey> keyFromProto(const v1::ServiceKey& key, const std::string& prefix,
                                       FieldErrors& errors) {
  size_t before = errors.size();
  auto vip = addressFromProto(key.vip(), prefix + "vip", errors);
  auto port = portFromProto(key.port(), prefix + "port", errors);
  auto proto = enumFromProto(key.protocol(), kProtocols, std::optional<Proto>(),
                             "PROTOCOL_TCP, PROTOCOL_UDP", prefix + "protocol", errors);
  if (errors.size() != before) {
    return std::nullopt;
  }
  return ServiceKey{.vip = *vip, .port = *port, .proto = *proto};
}

std::optional<EndpointState> stateFromProto(v1::EndpointState state, const std::string& field,
                                            FieldErrors& errors) {
  return enumFromProto(state, kStates, std::optional<EndpointState>(),
                       "ENDPOINT_STATE_READY, ENDPOINT_STATE_TERMINATING, "
                       "ENDPOINT_STATE_UNHEALTHY",
                       field, errors);
}

std::optional<ServiceSource> sourceFromProto(v1::Source source, const std::string& field,
                                             FieldErrors& errors) {
  if (source == v1::SOURCE_UNSPECIFIED) {
    return std::nullopt;
  }
  return enumFromProto(source, kSources, std::optional<ServiceSource>(),
                       "SOURCE_CONFIG, SOURCE_API, SOURCE_XDS", field, errors);
}

std::optional<EndpointSpec> endpointFromProto(const v1::Endpoint& endpoint,
                                              const std::string& prefix, FieldErrors& errors) {
  size_t before = errors.size();
  EndpointSpec out;
  auto addr = addressFromProto(endpoint.address(), prefix + "address", errors);
  auto port = portFromProto(endpoint.port(), prefix + "port", errors);
  // Zero and too-large weights are validateService's, with its reasons.
  out.weight = endpoint.has_weight() ? endpoint.weight() : 1;
  if (endpoint.state() != v1::ENDPOINT_STATE_UNSPECIFIED) {
    out.state = stateFromProto(endpoint.state(), prefix + "state", errors).value_or(out.state);
  }
  if (errors.size() != before) {
    return std::nullopt;
  }
  out.addr = *addr;
  out.port = *port;
  return out;
}

std::optional<ServiceSpec> serviceFromProto(const v1::Service& service, FieldErrors& errors) {
  size_t before = errors.size();
  ServiceSpec out;
  v1::ServiceKey key;
  key.set_vip(service.vip());
  key.set_port(service.port());
  key.set_protocol(service.protocol());
  auto parsed_key = keyFromProto(key, "", errors);
  out.mode = enumFromProto(service.mode(), kModes, std::optional(ForwardMode::kFullNat),
                           "FORWARD_MODE_FULLNAT, FORWARD_MODE_DNAT", "mode", errors)
                 .value_or(out.mode);
  out.algorithm = enumFromProto(service.algorithm(), kAlgorithms, std::optional(Algorithm::kMaglev),
                                "ALGORITHM_MAGLEV, ALGORITHM_RANDOM", "algorithm", errors)
                      .value_or(out.algorithm);
  auto affinity = enumFromProto(service.affinity(), kAffinities, std::optional(false),
                                "AFFINITY_NONE, AFFINITY_CLIENT_IP", "affinity", errors);
  out.affinity_client_ip = affinity.value_or(false);
  if (service.has_affinity_timeout()) {
    // As the config does: setting it suggests the caller expects affinity.
    if (affinity && !*affinity) {
      errors.push_back("affinity_timeout: must not be set when affinity is none");
    }
    out.affinity_timeout_s = service.affinity_timeout();
  }
  if (service.has_table_size()) {
    out.table_size = service.table_size();
  }
  for (int i = 0; i < service.endpoints_size(); ++i) {
    std::string prefix = "endpoints[" + std::to_string(i) + "].";
    if (auto ep = endpointFromProto(service.endpoints(i), prefix, errors)) {
      out.endpoints.push_back(*ep);
    }
  }
  if (errors.size() != before) {
    return std::nullopt;
  }
  out.key = *parsed_key;
  return out;
}

void keyToProto(const ServiceKey& key, v1::ServiceKey* out) {
  out->set_vip(key.vip.toString());
  out->set_port(key.port);
  out->set_protocol(enumToProto(key.proto, kProtocols));
}

void serviceToProto(const ServiceSpec& spec, v1::Service* out) {
  out->set_vip(spec.key.vip.toString());
  out->set_port(spec.key.port);
  out->set_protocol(enumToProto(spec.key.proto, kProtocols));
  out->set_mode(enumToProto(spec.mode, kModes));
  out->set_algorithm(enumToProto(spec.algorithm, kAlgorithms));
  out->set_affinity(enumToProto(spec.affinity_client_ip, kAffinities));
  if (spec.affinity_client_ip) {
    out->set_affinity_timeout(spec.affinity_timeout_s);
  }
  if (spec.table_size) {
    out->set_table_size(*spec.table_size);
  }
  for (const EndpointSpec& ep : spec.endpoints) {
    v1::Endpoint* e = out->add_endpoints();
    e->set_address(ep.addr.toString());
    e->set_port(ep.port);
    e->set_weight(ep.weight);
    e->set_state(enumToProto(ep.state, kStates));
  }
  out->set_source(enumToProto(spec.source, kSources));
}

void changeToProto(const ChangeOutcome& outcome, v1::ChangeResponse* out) {
  out->set_result(enumToProto(outcome.change, kChanges));
  serviceToProto(outcome.service, out->mutable_service());
  out->set_publish_ns(outcome.publish_ns);
}

void statsToProto(const DataplaneStats& dataplane, const PublishMetrics& publish, size_t services,
                  v1::Stats* out) {
  out->set_tsc_hz(dataplane.tsc_hz);
  out->set_uptime_ns(dataplane.uptime_ns);
  out->set_services(static_cast<uint32_t>(services));
  // Cycles the workers have had since they started.
  auto elapsed = static_cast<uint64_t>(static_cast<double>(dataplane.tsc_hz) *
                                       static_cast<double>(dataplane.uptime_ns) / 1e9);
  for (const dp::WorkerCounterSnapshot& w : dataplane.workers) {
    v1::WorkerStats* ws = out->add_workers();
    ws->set_lcore(w.lcore);
    ws->set_rx_packets(w.events[static_cast<size_t>(dp::WorkerEvent::rx_packets)]);
    ws->set_tx_packets(w.events[static_cast<size_t>(dp::WorkerEvent::tx_packets)]);
    ws->set_drops(w.totalDrops());
    for (size_t i = 1; i < dp::kDropCount; ++i) {
      v1::Counter* c = ws->add_drop_reasons();
      c->set_name(dp::kDropNames[i]);
      c->set_value(w.drops[i]);
    }
    for (size_t i = 0; i < dp::kWorkerEventCount; ++i) {
      v1::Counter* c = ws->add_events();
      c->set_name(dp::kWorkerEventNames[i]);
      c->set_value(w.events[i]);
    }
    uint64_t busy = w.events[static_cast<size_t>(dp::WorkerEvent::busy_cycles)];
    ws->set_busy_cycles(busy);
    ws->set_elapsed_cycles(elapsed);
    ws->set_busy_share(
        elapsed == 0 ? 0.0
                     : std::min(1.0, static_cast<double>(busy) / static_cast<double>(elapsed)));
  }
  for (const dp::PortCounterSnapshot& p : dataplane.ports) {
    v1::PortStats* ps = out->add_ports();
    ps->set_name(p.name);
    ps->set_ipackets(p.ipackets);
    ps->set_opackets(p.opackets);
    ps->set_ibytes(p.ibytes);
    ps->set_obytes(p.obytes);
    ps->set_imissed(p.imissed);
    ps->set_ierrors(p.ierrors);
    ps->set_oerrors(p.oerrors);
    ps->set_rx_nombuf(p.rx_nombuf);
  }
  v1::PublishStats* ps = out->mutable_publish();
  ps->set_upserts(publish.upserts);
  ps->set_removals(publish.removals);
  ps->set_failures(publish.failures);
  ps->set_latency_sum_ns(publish.latency_sum_ns);
  ps->set_latency_max_ns(publish.latency_max_ns);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < publish.latency_buckets.size(); ++i) {
    cumulative += publish.latency_buckets[i];
    v1::PublishStats::Bucket* b = ps->add_latency();
    b->set_le_us(i < kPublishLatencyBoundsUs.size() ? kPublishLatencyBoundsUs[i] : 0);
    b->set_count(cumulative);
  }
}

namespace {

void trafficToProto(const dp::TrafficStats& t, v1::Traffic* out) {
  out->set_new_flows(t.new_flows);
  out->set_active_flows(t.active_flows);
  out->set_in_packets(t.in_packets);
  out->set_in_bytes(t.in_bytes);
  out->set_out_packets(t.out_packets);
  out->set_out_bytes(t.out_bytes);
}

std::string hostPort(const IpAddr& addr, uint16_t port) {
  return EndpointSpec{.addr = addr, .port = port}.toString();
}

}  // namespace

void serviceTrafficToProto(const std::vector<dp::ServiceTraffic>& services, v1::Stats* out) {
  for (const dp::ServiceTraffic& s : services) {
    v1::ServiceStats* ss = out->add_service_stats();
    keyToProto(s.key, ss->mutable_service());
    trafficToProto(s.traffic, ss->mutable_traffic());
    for (const dp::EndpointTraffic& e : s.endpoints) {
      v1::EndpointStats* es = ss->add_endpoints();
      es->set_address(e.addr.toString());
      es->set_port(e.port);
      es->set_counted(e.counted);
      trafficToProto(e.traffic, es->mutable_traffic());
    }
  }
}

void conntrackToProto(const std::vector<dp::ConntrackOccupancy>& occupancy, v1::Stats* out) {
  for (const dp::ConntrackOccupancy& o : occupancy) {
    for (v1::WorkerStats& w : *out->mutable_workers()) {
      if (w.lcore() == o.lcore) {
        v1::ConntrackStats* c = w.mutable_conntrack();
        c->set_capacity(o.capacity);
        c->set_flows(o.flows);
        c->set_half_open(o.half_open);
      }
    }
  }
}

std::optional<dp::FlowFilter> flowFilterFromProto(const v1::ListFlowsRequest& request,
                                                  FieldErrors& errors) {
  size_t before = errors.size();
  dp::FlowFilter filter;
  const v1::ServiceKey& key = request.service();
  if (!key.vip().empty()) {
    filter.vip = addressFromProto(key.vip(), "service.vip", errors);
  }
  if (key.port() != 0) {
    filter.port = portFromProto(key.port(), "service.port", errors);
  }
  if (key.protocol() != v1::PROTOCOL_UNSPECIFIED) {
    filter.proto = enumFromProto(key.protocol(), kProtocols, std::optional<Proto>(),
                                 "PROTOCOL_TCP, PROTOCOL_UDP", "service.protocol", errors);
  }
  if (!request.client().empty()) {
    filter.client = addressFromProto(request.client(), "client", errors);
  }
  if (!request.endpoint().empty()) {
    filter.endpoint = addressFromProto(request.endpoint(), "endpoint", errors);
  }
  if (errors.size() != before) {
    return std::nullopt;
  }
  return filter;
}

void flowsToProto(const dp::FlowList& flows, v1::ListFlowsResponse* out) {
  for (const dp::FlowInfo& f : flows.flows) {
    v1::Flow* flow = out->add_flows();
    flow->set_worker(f.lcore);
    flow->set_protocol(enumToProto(f.proto, kProtocols));
    flow->set_client(hostPort(f.client, f.client_port));
    flow->set_vip(hostPort(f.vip, f.vip_port));
    flow->set_endpoint(hostPort(f.endpoint, f.endpoint_port));
    if (f.snat) {
      flow->set_snat(hostPort(*f.snat, f.snat_port));
    }
    flow->set_state(f.state);
    flow->set_expires_in_ms(f.expires_in_ms);
  }
  out->set_truncated(flows.truncated);
}

}  // namespace sluice::cp::admin
