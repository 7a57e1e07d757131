#include "cp/admin/editor.h"

#include <string>
#include <utility>

#include "cp/config.h"

namespace sluice::cp::admin {

namespace {

std::string endpointName(const IpAddr& addr, uint16_t port) {
  return EndpointSpec{.addr = addr, .port = port}.toString();
}

// "endpoints[3].port: ..." -> "endpoint.port: ..." for the endpoint a
// request names; other errors stay as they are.
std::string renameEndpointField(const std::string& error, size_t index) {
  std::string prefix = "endpoints[" + std::to_string(index) + "]";
  if (!error.starts_with(prefix)) {
    return error;
  }
  return "endpoint" + error.substr(prefix.size());
}

ChangeOutcome refused(ApiStatus status) {
  ChangeOutcome out;
  out.status = std::move(status);
  return out;
}

ChangeOutcome done(Change change, ServiceSpec service, uint64_t publish_ns) {
  ChangeOutcome out;
  out.change = change;
  out.service = std::move(service);
  out.publish_ns = publish_ns;
  return out;
}

}  // namespace

ApiStatus ServiceEditor::notFound(const ServiceKey& key) {
  return {ApiCode::kNotFound, "service " + key.toString() + " does not exist"};
}

const ServiceSpec* ServiceEditor::find(const ServiceKey& key) const {
  auto it = publisher_.services().find(key.toString());
  return it == publisher_.services().end() ? nullptr : &it->second;
}

std::vector<ServiceSpec> ServiceEditor::list(std::optional<ServiceSource> source,
                                             std::optional<IpAddr> vip) const {
  std::vector<ServiceSpec> out;
  for (const auto& [name, spec] : publisher_.services()) {
    if ((!source || spec.source == *source) && (!vip || spec.key.vip == *vip)) {
      out.push_back(spec);
    }
  }
  return out;
}

ChangeOutcome ServiceEditor::publish(ServiceSpec next, Change change,
                                     std::optional<size_t> endpoint) {
  std::string problems;
  for (const std::string& error : validateService(next, dataplane_)) {
    problems +=
        (problems.empty() ? "" : "; ") + (endpoint ? renameEndpointField(error, *endpoint) : error);
  }
  if (!problems.empty()) {
    return refused(ApiStatus{ApiCode::kInvalidArgument, problems});
  }
  const ServiceSpec* current = find(next.key);
  if (current != nullptr && *current == next) {
    return done(Change::kUnchanged, std::move(next), 0);
  }
  if (current == nullptr && publisher_.services().size() >= dataplane_.services_capacity) {
    return refused(ApiStatus{ApiCode::kResourceExhausted,
                             "services_capacity (" + std::to_string(dataplane_.services_capacity) +
                                 ") reached; delete a service first"});
  }
  uint64_t before = publisher_.metrics().latency_sum_ns;
  if (Status s = publisher_.upsert(next); !s) {
    return refused(ApiStatus{ApiCode::kInternal, "publish failed: " + s.message()});
  }
  return done(change, std::move(next), publisher_.metrics().latency_sum_ns - before);
}

ChangeOutcome ServiceEditor::upsert(ServiceSpec spec, bool create_only) {
  const ServiceSpec* current = find(spec.key);
  if (current != nullptr && create_only) {
    return refused(ApiStatus{ApiCode::kAlreadyExists, "service " + spec.key.toString() +
                                                          " already exists (source " +
                                                          toString(current->source) + ")"});
  }
  spec.source = current != nullptr ? current->source : ServiceSource::kApi;
  return publish(std::move(spec), current != nullptr ? Change::kUpdated : Change::kCreated,
                 std::nullopt);
}

ChangeOutcome ServiceEditor::remove(const ServiceKey& key) {
  const ServiceSpec* current = find(key);
  if (current == nullptr) {
    return refused(notFound(key));
  }
  ServiceSpec was = *current;
  uint64_t before = publisher_.metrics().latency_sum_ns;
  if (Status s = publisher_.remove(key); !s) {
    return refused(ApiStatus{ApiCode::kInternal, "publish failed: " + s.message()});
  }
  return done(Change::kDeleted, std::move(was), publisher_.metrics().latency_sum_ns - before);
}

ChangeOutcome ServiceEditor::addEndpoint(const ServiceKey& key, const EndpointSpec& endpoint) {
  const ServiceSpec* current = find(key);
  if (current == nullptr) {
    return refused(notFound(key));
  }
  for (const EndpointSpec& ep : current->endpoints) {
    if (ep.addr == endpoint.addr && ep.port == endpoint.port) {
      return refused(ApiStatus{
          ApiCode::kAlreadyExists,
          "endpoint " + endpoint.toString() + " is already in service " + key.toString()});
    }
  }
  ServiceSpec next = *current;
  next.endpoints.push_back(endpoint);
  size_t index = next.endpoints.size() - 1;
  return publish(std::move(next), Change::kUpdated, index);
}

const ServiceSpec* ServiceEditor::findEndpoint(const ServiceKey& key, const IpAddr& addr,
                                               uint16_t port, size_t* index,
                                               ApiStatus* error) const {
  const ServiceSpec* current = find(key);
  if (current == nullptr) {
    *error = notFound(key);
    return nullptr;
  }
  for (size_t i = 0; i < current->endpoints.size(); ++i) {
    if (current->endpoints[i].addr == addr && current->endpoints[i].port == port) {
      *index = i;
      return current;
    }
  }
  *error = {ApiCode::kNotFound,
            "endpoint " + endpointName(addr, port) + " is not in service " + key.toString()};
  return nullptr;
}

ChangeOutcome ServiceEditor::removeEndpoint(const ServiceKey& key, const IpAddr& addr,
                                            uint16_t port) {
  size_t index = 0;
  ApiStatus error;
  const ServiceSpec* current = findEndpoint(key, addr, port, &index, &error);
  if (current == nullptr) {
    return refused(error);
  }
  ServiceSpec next = *current;
  next.endpoints.erase(next.endpoints.begin() + static_cast<ptrdiff_t>(index));
  return publish(std::move(next), Change::kUpdated, std::nullopt);
}

ChangeOutcome ServiceEditor::setEndpoint(const ServiceKey& key, const IpAddr& addr, uint16_t port,
                                         const EndpointUpdate& update) {
  if (!update.weight && !update.state) {
    return refused(ApiStatus{ApiCode::kInvalidArgument, "weight, state: set at least one"});
  }
  size_t index = 0;
  ApiStatus error;
  const ServiceSpec* current = findEndpoint(key, addr, port, &index, &error);
  if (current == nullptr) {
    return refused(error);
  }
  ServiceSpec next = *current;
  EndpointSpec& ep = next.endpoints[index];
  ep.weight = update.weight.value_or(ep.weight);
  ep.state = update.state.value_or(ep.state);
  ChangeOutcome outcome = publish(std::move(next), Change::kUpdated, index);
  // The request names the endpoint's fields directly.
  if (outcome.status.code() == ApiCode::kInvalidArgument &&
      outcome.status.message().starts_with("endpoint.")) {
    outcome.status = {ApiCode::kInvalidArgument, outcome.status.message().substr(9)};
  }
  return outcome;
}

}  // namespace sluice::cp::admin
