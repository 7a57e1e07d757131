// reload, check CONFIG and dump.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <iterator>

#include "tools/sluicectl/commands.h"
#include "tools/sluicectl/dump.h"
#include "tools/sluicectl/json.h"
#include "tools/sluicectl/names.h"

namespace sluice::ctl {

namespace {

void printRestart(const google::protobuf::RepeatedPtrField<std::string>& names) {
  if (names.empty()) {
    return;
  }
  std::string list;
  for (const std::string& name : names) {
    list += (list.empty() ? "" : ", ") + name;
  }
  std::printf("takes effect only on restart: %s\n", list.c_str());
}

// sluiced names config text it was sent "<request>"; errors read as
// `sluiced --check` prints them when they name the file instead.
std::string renameRequest(std::string message, const std::string& name) {
  static const std::string kRequest = "<request>";
  for (size_t at = message.find(kRequest); at != std::string::npos;
       at = message.find(kRequest, at + name.size())) {
    message.replace(at, kRequest.size(), name);
  }
  return message;
}

}  // namespace

int reload(Client& client, bool json) {
  v1::ReloadRequest request;
  v1::ReloadResponse response;
  int exit =
      client.call([&](auto& stub, auto* ctx) { return stub.Reload(ctx, request, &response); });
  if (exit != kExitOk) {
    return exit;
  }
  if (json) {
    std::fputs(toJson(response).c_str(), stdout);
    return kExitOk;
  }
  std::printf("reloaded %s: %u added, %u changed, %u removed, %u unchanged\n",
              response.source().c_str(), response.added(), response.changed(), response.removed(),
              response.unchanged());
  printRestart(response.restart_required());
  return kExitOk;
}

int check(Client& client, bool json, const std::string& config, bool server_path) {
  v1::ValidateConfigRequest request;
  std::string name = config;
  if (server_path) {
    // sluiced's working directory is not ours.
    std::error_code ec;
    std::filesystem::path path = std::filesystem::absolute(config, ec);
    if (ec) {
      return usageError(config + ": " + ec.message());
    }
    request.set_path(path.string());
  } else if (config == "-") {
    name = "<stdin>";
    request.set_text(std::string(std::istreambuf_iterator<char>(std::cin), {}));
  } else {
    std::string error;
    auto text = readFile(config, &error);
    if (!text) {
      return usageError(error);
    }
    request.set_text(*text);
  }
  v1::ValidateConfigResponse response;
  grpc::Status status;
  int exit = client.call([&](auto& stub, auto* ctx) {
    status = stub.ValidateConfig(ctx, request, &response);
    if (status.ok() || status.error_code() != grpc::StatusCode::INVALID_ARGUMENT) {
      return status;
    }
    return grpc::Status(status.error_code(), renameRequest(status.error_message(), name));
  });
  if (exit != kExitOk) {
    return exit;
  }
  if (json) {
    std::fputs(toJson(response).c_str(), stdout);
    return kExitOk;
  }
  std::printf("%s: valid: %u ports, %u workers, %u services\n", name.c_str(), response.ports(),
              response.workers(), response.services());
  printRestart(response.restart_required());
  return kExitOk;
}

int dump(Client& client, bool json, const std::string& source) {
  v1::ListServicesRequest request;
  std::string choices;
  if (!source.empty()) {
    auto wanted = enumFromText(v1::Source_descriptor(), source, &choices);
    if (!wanted) {
      return usageError("--source: '" + source + "' is not one of " + choices);
    }
    request.set_source(static_cast<v1::Source>(*wanted));
  }
  v1::ListServicesResponse response;
  int exit = client.call(
      [&](auto& stub, auto* ctx) { return stub.ListServices(ctx, request, &response); });
  if (exit != kExitOk) {
    return exit;
  }
  if (json) {
    std::fputs(toJson(response).c_str(), stdout);
    return kExitOk;
  }
  std::vector<v1::Service> services(response.services().begin(), response.services().end());
  std::string origin = "sluiced at " + client.address();
  if (!source.empty()) {
    origin += ", source " + source;
  }
  std::fputs(servicesToConfig(services, origin).c_str(), stdout);
  return kExitOk;
}

}  // namespace sluice::ctl
