// Between the admin API's messages and the service model: pure functions,
// unit-tested without a server. Readers append "FIELD: reason" to `errors`
// for every problem and return nullopt when there was one; FIELD is named
// below `prefix` ("service.", "endpoint.", or "" for a Service itself).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cp/admin/backend.h"
#include "cp/admin/editor.h"
#include "dp/api/service.h"
#include "sluice/admin/v1/admin.pb.h"

namespace sluice::cp::admin {

namespace v1 = ::sluice::admin::v1;

using FieldErrors = std::vector<std::string>;

std::optional<IpAddr> addressFromProto(const std::string& text, const std::string& field,
                                       FieldErrors& errors);
// 1..65535.
std::optional<uint16_t> portFromProto(uint32_t port, const std::string& field, FieldErrors& errors);
std::optional<ServiceKey> keyFromProto(const v1::ServiceKey& key, const std::string& prefix,
                                       FieldErrors& errors);
std::optional<EndpointSpec> endpointFromProto(const v1::Endpoint& endpoint,
                                              const std::string& prefix, FieldErrors& errors);
// Field by field; validateService (cp/config.h) checks the result as a whole.
std::optional<ServiceSpec> serviceFromProto(const v1::Service& service, FieldErrors& errors);
// UNSPECIFIED is an error ("required"); requests where it means "leave as
// is" check for it before calling. sourceFromProto takes it as "any source".
std::optional<EndpointState> stateFromProto(v1::EndpointState state, const std::string& field,
                                            FieldErrors& errors);
std::optional<ServiceSource> sourceFromProto(v1::Source source, const std::string& field,
                                             FieldErrors& errors);

void keyToProto(const ServiceKey& key, v1::ServiceKey* out);
void serviceToProto(const ServiceSpec& spec, v1::Service* out);
void changeToProto(const ChangeOutcome& outcome, v1::ChangeResponse* out);

// Counters as the Stats message carries them; drop and event names from
// dp/api/counters.h, the latency histogram made cumulative.
void statsToProto(const DataplaneStats& dataplane, const PublishMetrics& publish, size_t services,
                  v1::Stats* out);

// Per-service traffic and per-worker conntrack occupancy for a Stats that
// asked for them; occupancy goes to the worker of the same lcore.
void serviceTrafficToProto(const std::vector<dp::ServiceTraffic>& services, v1::Stats* out);
void conntrackToProto(const std::vector<dp::ConntrackOccupancy>& occupancy, v1::Stats* out);

// A ListFlows filter; the request's fields are named in `errors`.
std::optional<dp::FlowFilter> flowFilterFromProto(const v1::ListFlowsRequest& request,
                                                  FieldErrors& errors);
void flowsToProto(const dp::FlowList& flows, v1::ListFlowsResponse* out);

// "a; b; c": the message of an INVALID_ARGUMENT.
std::string joinErrors(const FieldErrors& errors);

}  // namespace sluice::cp::admin
