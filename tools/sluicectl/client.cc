#include "tools/sluicectl/client.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace sluice::ctl {

const char* statusCodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN";
  }
}

int reportFailure(const grpc::Status& status, const std::string& address) {
  const char* name = statusCodeName(status.error_code());
  switch (status.error_code()) {
    case grpc::StatusCode::UNAVAILABLE:
      std::fprintf(stderr, "sluicectl: %s: no answer from sluiced at %s: %s\n", name,
                   address.c_str(), status.error_message().c_str());
      return kExitUnreachable;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      std::fprintf(stderr, "sluicectl: %s: %s (at %s; see --timeout)\n", name,
                   status.error_message().c_str(), address.c_str());
      return kExitTimeout;
    default:
      std::fprintf(stderr, "sluicectl: %s: %s\n", name, status.error_message().c_str());
      return kExitServer;
  }
}

int usageError(const std::string& message) {
  std::fprintf(stderr, "sluicectl: %s\n", message.c_str());
  return kExitUsage;
}

std::optional<std::string> readFile(const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = path + ": " + std::strerror(errno);
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    *error = path + ": read failed";
    return std::nullopt;
  }
  return text.str();
}

Client::Client(const Target& target) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  grpc::ChannelArguments args;
  std::string uri;
  if (target.tcp.empty()) {
    uri = "unix:" + target.socket;
    address_ = uri;
    credentials = grpc::InsecureChannelCredentials();
  } else {
    uri = target.tcp;
    address_ = target.tcp + " (TLS)";
    grpc::SslCredentialsOptions tls;
    std::string error;
    for (auto [path, pem] :
         {std::pair{&target.ca, &tls.pem_root_certs}, std::pair{&target.cert, &tls.pem_cert_chain},
          std::pair{&target.key, &tls.pem_private_key}}) {
      if (path->empty()) {
        continue;
      }
      auto text = readFile(*path, &error);
      if (!text) {
        exit_ = usageError(error);
        return;
      }
      *pem = *text;
    }
    credentials = grpc::SslCredentials(tls);
    if (!target.server_name.empty()) {
      args.SetSslTargetNameOverride(target.server_name);
    }
  }
  timeout_ = std::chrono::duration_cast<std::chrono::system_clock::duration>(
      std::chrono::duration<double>(target.timeout_s));
  stub_ = v1::Admin::NewStub(grpc::CreateCustomChannel(uri, credentials, args));
}

}  // namespace sluice::ctl
