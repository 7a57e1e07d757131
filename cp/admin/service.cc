#include "cp/admin/service.h"

#include <string>
#include <utility>

#include "cp/admin/convert.h"

namespace sluice::cp::admin {

namespace {

// ListFlows' limit when the request leaves it at 0.
constexpr uint32_t kDefaultFlowLimit = 100;

grpc::StatusCode grpcCode(ApiCode code) {
  switch (code) {
    case ApiCode::kOk:
      return grpc::StatusCode::OK;
    case ApiCode::kInvalidArgument:
      return grpc::StatusCode::INVALID_ARGUMENT;
    case ApiCode::kNotFound:
      return grpc::StatusCode::NOT_FOUND;
    case ApiCode::kAlreadyExists:
      return grpc::StatusCode::ALREADY_EXISTS;
    case ApiCode::kFailedPrecondition:
      return grpc::StatusCode::FAILED_PRECONDITION;
    case ApiCode::kResourceExhausted:
      return grpc::StatusCode::RESOURCE_EXHAUSTED;
    case ApiCode::kUnavailable:
      return grpc::StatusCode::UNAVAILABLE;
    case ApiCode::kInternal:
      return grpc::StatusCode::INTERNAL;
  }
  return grpc::StatusCode::UNKNOWN;
}

grpc::Status toGrpc(const ApiStatus& status) {
  return status.isOk() ? grpc::Status::OK : grpc::Status(grpcCode(status.code()), status.message());
}

grpc::Status invalid(const FieldErrors& errors) {
  return {grpc::StatusCode::INVALID_ARGUMENT, joinErrors(errors)};
}

void restartToProto(const std::vector<std::string>& names,
                    google::protobuf::RepeatedPtrField<std::string>* out) {
  for (const std::string& name : names) {
    out->Add()->assign(name);
  }
}

}  // namespace

template <class Task>
grpc::Status AdminService::onControl(Task task) {
  if (Status s = queue_.run(std::move(task)); !s) {
    return {grpc::StatusCode::UNAVAILABLE, s.message()};
  }
  return grpc::Status::OK;
}

template <class Edit>
grpc::Status AdminService::change(Edit edit, v1::ChangeResponse* response) {
  ChangeOutcome outcome;
  grpc::Status ran = onControl([&] { outcome = edit(backend_.editor()); });
  if (!ran.ok()) {
    return ran;
  }
  if (outcome.status.isOk()) {
    changeToProto(outcome, response);
  }
  return toGrpc(outcome.status);
}

grpc::Status AdminService::UpsertService(grpc::ServerContext* /*context*/,
                                         const v1::UpsertServiceRequest* request,
                                         v1::ChangeResponse* response) {
  FieldErrors errors;
  if (!request->has_service()) {
    return invalid({"service: required"});
  }
  auto spec = serviceFromProto(request->service(), errors);
  if (!spec) {
    return invalid(errors);
  }
  return change(
      [&](ServiceEditor& editor) {
        return editor.upsert(std::move(*spec), request->create_only());
      },
      response);
}

grpc::Status AdminService::DeleteService(grpc::ServerContext* /*context*/,
                                         const v1::DeleteServiceRequest* request,
                                         v1::ChangeResponse* response) {
  FieldErrors errors;
  auto key = keyFromProto(request->service(), "service.", errors);
  if (!key) {
    return invalid(errors);
  }
  return change([&](ServiceEditor& editor) { return editor.remove(*key); }, response);
}

grpc::Status AdminService::GetService(grpc::ServerContext* /*context*/,
                                      const v1::GetServiceRequest* request, v1::Service* response) {
  FieldErrors errors;
  auto key = keyFromProto(request->service(), "service.", errors);
  if (!key) {
    return invalid(errors);
  }
  bool found = false;
  grpc::Status ran = onControl([&] {
    if (const ServiceSpec* spec = backend_.editor().find(*key)) {
      serviceToProto(*spec, response);
      found = true;
    }
  });
  if (!ran.ok() || found) {
    return ran;
  }
  return toGrpc(ServiceEditor::notFound(*key));
}

grpc::Status AdminService::ListServices(grpc::ServerContext* /*context*/,
                                        const v1::ListServicesRequest* request,
                                        v1::ListServicesResponse* response) {
  FieldErrors errors;
  auto source = sourceFromProto(request->source(), "source", errors);
  std::optional<IpAddr> vip;
  if (!request->vip().empty()) {
    vip = addressFromProto(request->vip(), "vip", errors);
  }
  if (!errors.empty()) {
    return invalid(errors);
  }
  std::vector<ServiceSpec> services;
  grpc::Status ran = onControl([&] { services = backend_.editor().list(source, vip); });
  // Converted here, off the control thread: a large list costs it nothing.
  for (const ServiceSpec& spec : services) {
    serviceToProto(spec, response->add_services());
  }
  return ran;
}

grpc::Status AdminService::AddEndpoint(grpc::ServerContext* /*context*/,
                                       const v1::AddEndpointRequest* request,
                                       v1::ChangeResponse* response) {
  FieldErrors errors;
  auto key = keyFromProto(request->service(), "service.", errors);
  auto endpoint = endpointFromProto(request->endpoint(), "endpoint.", errors);
  if (!errors.empty()) {
    return invalid(errors);
  }
  return change([&](ServiceEditor& editor) { return editor.addEndpoint(*key, *endpoint); },
                response);
}

grpc::Status AdminService::RemoveEndpoint(grpc::ServerContext* /*context*/,
                                          const v1::RemoveEndpointRequest* request,
                                          v1::ChangeResponse* response) {
  FieldErrors errors;
  auto key = keyFromProto(request->service(), "service.", errors);
  auto addr = addressFromProto(request->address(), "address", errors);
  auto port = portFromProto(request->port(), "port", errors);
  if (!errors.empty()) {
    return invalid(errors);
  }
  return change([&](ServiceEditor& editor) { return editor.removeEndpoint(*key, *addr, *port); },
                response);
}

grpc::Status AdminService::SetEndpoint(grpc::ServerContext* /*context*/,
                                       const v1::SetEndpointRequest* request,
                                       v1::ChangeResponse* response) {
  FieldErrors errors;
  auto key = keyFromProto(request->service(), "service.", errors);
  auto addr = addressFromProto(request->address(), "address", errors);
  auto port = portFromProto(request->port(), "port", errors);
  EndpointUpdate update;
  if (request->has_weight()) {
    update.weight = request->weight();
  }
  if (request->state() != v1::ENDPOINT_STATE_UNSPECIFIED) {
    update.state = stateFromProto(request->state(), "state", errors);
  }
  if (!errors.empty()) {
    return invalid(errors);
  }
  return change(
      [&](ServiceEditor& editor) { return editor.setEndpoint(*key, *addr, *port, update); },
      response);
}

grpc::Status AdminService::Reload(grpc::ServerContext* /*context*/,
                                  const v1::ReloadRequest* /*request*/,
                                  v1::ReloadResponse* response) {
  std::optional<Result<ReloadReport>> report;
  grpc::Status ran = onControl([&] { report.emplace(backend_.reload()); });
  if (!ran.ok()) {
    return ran;
  }
  const Result<ReloadReport>& result = *report;
  if (!result) {
    return {grpc::StatusCode::FAILED_PRECONDITION,
            "reload refused, running services kept:\n" + result.status().message()};
  }
  const ReloadReport& r = result.value();
  response->set_source(r.source);
  response->set_added(static_cast<uint32_t>(r.stats.added));
  response->set_changed(static_cast<uint32_t>(r.stats.changed));
  response->set_removed(static_cast<uint32_t>(r.stats.removed));
  response->set_unchanged(static_cast<uint32_t>(r.stats.unchanged));
  restartToProto(r.restart_required, response->mutable_restart_required());
  return grpc::Status::OK;
}

grpc::Status AdminService::ValidateConfig(grpc::ServerContext* /*context*/,
                                          const v1::ValidateConfigRequest* request,
                                          v1::ValidateConfigResponse* response) {
  std::optional<Result<Config>> config;
  switch (request->config_case()) {
    case v1::ValidateConfigRequest::kText:
      config.emplace(loadConfigText(request->text(), "<request>"));
      break;
    case v1::ValidateConfigRequest::kPath:
      if (request->path().empty()) {
        return invalid({"path: must not be empty"});
      }
      config.emplace(loadConfigFile(request->path()));
      break;
    case v1::ValidateConfigRequest::CONFIG_NOT_SET:
      return invalid({"config: set text or path"});
  }
  if (!*config) {
    return {grpc::StatusCode::INVALID_ARGUMENT, config->status().message()};
  }
  const Config& next = **config;
  response->set_ports(static_cast<uint32_t>(next.dataplane.ports.size()));
  response->set_workers(static_cast<uint32_t>(next.dataplane.workers.size()));
  response->set_services(static_cast<uint32_t>(next.services.size()));
  std::vector<std::string> restart;
  grpc::Status ran =
      onControl([&] { restart = settingsNeedingRestart(next, backend_.runningConfig()); });
  restartToProto(restart, response->mutable_restart_required());
  return ran;
}

grpc::Status AdminService::GetStats(grpc::ServerContext* /*context*/,
                                    const v1::StatsRequest* request, v1::Stats* response) {
  DataplaneStats stats;
  PublishMetrics publish;
  size_t services = 0;
  std::vector<dp::ServiceTraffic> traffic;
  std::vector<dp::ConntrackOccupancy> occupancy;
  grpc::Status ran = onControl([&] {
    stats = backend_.dataplaneStats();
    publish = backend_.publishMetrics();
    services = backend_.editor().list(std::nullopt, std::nullopt).size();
    if (request->include_services()) {
      traffic = backend_.serviceTraffic();
    }
    if (request->include_conntrack()) {
      occupancy = backend_.conntrackOccupancy();
    }
  });
  if (!ran.ok()) {
    return ran;
  }
  // Converted off the control thread, as ListServices does.
  statsToProto(stats, publish, services, response);
  serviceTrafficToProto(traffic, response);
  conntrackToProto(occupancy, response);
  return grpc::Status::OK;
}

grpc::Status AdminService::ListFlows(grpc::ServerContext* /*context*/,
                                     const v1::ListFlowsRequest* request,
                                     v1::ListFlowsResponse* response) {
  FieldErrors errors;
  auto filter = flowFilterFromProto(*request, errors);
  if (request->limit() > dp::kMaxFlowListLimit) {
    errors.push_back("limit: " + std::to_string(request->limit()) + " is above " +
                     std::to_string(dp::kMaxFlowListLimit));
  }
  if (!errors.empty()) {
    return invalid(errors);
  }
  uint32_t limit = request->limit() == 0 ? kDefaultFlowLimit : request->limit();
  std::optional<Result<dp::FlowList>> flows;
  grpc::Status ran = onControl([&] { flows.emplace(backend_.listFlows(*filter, limit)); });
  if (!ran.ok()) {
    return ran;
  }
  if (!*flows) {
    const std::string& message = flows->status().message();
    // The data plane's wait for its workers ends in an error that says so.
    bool timed_out = message.find("timed out") != std::string::npos;
    return {timed_out ? grpc::StatusCode::DEADLINE_EXCEEDED : grpc::StatusCode::INTERNAL, message};
  }
  flowsToProto(**flows, response);
  return grpc::Status::OK;
}

}  // namespace sluice::cp::admin
