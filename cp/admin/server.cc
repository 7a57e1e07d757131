#include "cp/admin/server.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>

#include "cp/admin/service.h"

namespace sluice::cp::admin {

namespace {

// gRPC's sync server takes a thread per call in flight; a bound keeps a
// flood of clients from starving a two-core gateway's control plane. Calls
// past it, while the control thread is busy, are refused at once with
// RESOURCE_EXHAUSTED (never queued without bound, never hung).
constexpr int kMaxServerThreads = 64;
constexpr auto kShutdownGrace = std::chrono::seconds(2);
constexpr mode_t kSocketMode = 0660;
constexpr mode_t kDirMode = 0755;

std::string errnoText() {
  return std::strerror(errno);
}

// mkdir -p of the socket's directory.
Status makeParentDirs(const std::string& path) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    std::string dir = path.substr(0, slash);
    if (::mkdir(dir.c_str(), kDirMode) != 0 && errno != EEXIST) {
      return Status::error("cannot create directory " + dir + ": " + errnoText());
    }
  }
  return Status::ok();
}

// Removes a socket file left by a process that is gone; refuses to touch a
// file that is not a socket or a socket someone still answers on.
Status clearStaleSocket(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    return errno == ENOENT ? Status::ok()
                           : Status::error("cannot stat " + path + ": " + errnoText());
  }
  if (!S_ISSOCK(st.st_mode)) {
    return Status::error(path + " exists and is not a socket");
  }
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return Status::error("socket: " + errnoText());
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  bool answered = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  if (answered) {
    return Status::error(path + " is in use by another process (another sluiced?)");
  }
  if (::unlink(path.c_str()) != 0) {
    return Status::error("cannot remove stale socket " + path + ": " + errnoText());
  }
  return Status::ok();
}

Result<std::string> readFile(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::error(std::string(what) + " " + path + ": cannot open: " + errnoText());
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

Result<std::shared_ptr<grpc::ServerCredentials>> tlsCredentials(const AdminSpec& spec) {
  auto cert = readFile(spec.tls_cert, "tls.cert");
  if (!cert) {
    return cert.status();
  }
  auto key = readFile(spec.tls_key, "tls.key");
  if (!key) {
    return key.status();
  }
  grpc::SslServerCredentialsOptions options(GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
  options.pem_key_cert_pairs.push_back({*key, *cert});
  if (!spec.tls_client_ca.empty()) {
    auto ca = readFile(spec.tls_client_ca, "tls.client_ca");
    if (!ca) {
      return ca.status();
    }
    options.pem_root_certs = *ca;
    options.client_certificate_request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  return grpc::SslServerCredentials(options);
}

}  // namespace

AdminServer::AdminServer(ControlQueue& queue, std::string socket)
    : queue_(queue), socket_(std::move(socket)) {}

AdminServer::~AdminServer() {
  stop();
}

Result<std::unique_ptr<AdminServer>> AdminServer::start(const AdminSpec& spec, ControlQueue& queue,
                                                        AdminBackend& backend) {
  auto fail = [](const Status& s) { return s.withContext("admin"); };
  if (Status s = makeParentDirs(spec.socket); !s) {
    return fail(s);
  }
  if (Status s = clearStaleSocket(spec.socket); !s) {
    return fail(s);
  }
  std::unique_ptr<AdminServer> server(new AdminServer(queue, spec.socket));
  server->service_ = std::make_unique<AdminService>(queue, backend);

  grpc::ServerBuilder builder;
  grpc::ResourceQuota quota("sluice-admin");
  quota.SetMaxThreads(kMaxServerThreads);
  builder.SetResourceQuota(quota);
  builder.AddListeningPort("unix:" + spec.socket, grpc::InsecureServerCredentials());
  if (!spec.tcp.empty()) {
    auto credentials = tlsCredentials(spec);
    if (!credentials) {
      return fail(credentials.status());
    }
    builder.AddListeningPort(spec.tcp, *credentials, &server->tcp_port_);
  }
  builder.RegisterService(server->service_.get());
  server->server_ = builder.BuildAndStart();
  if (!server->server_) {
    return fail(Status::error("cannot listen on unix:" + spec.socket +
                              (spec.tcp.empty() ? "" : " and " + spec.tcp) +
                              " (gRPC's log above says why)"));
  }
  if (!spec.tcp.empty() && server->tcp_port_ == 0) {
    server->stop();
    return fail(Status::error("cannot listen on " + spec.tcp));
  }
  // gRPC binds with the process umask; the API's access is the socket's
  // mode and group, as for other daemons' control sockets.
  if (::chmod(spec.socket.c_str(), kSocketMode) != 0) {
    Status s = Status::error("cannot chmod " + spec.socket + ": " + errnoText());
    server->stop();
    return fail(s);
  }
  return server;
}

void AdminServer::stop() {
  if (!server_) {
    return;
  }
  // Handlers wait on the control thread, which may be the one calling: let
  // them fail fast instead of waiting for it.
  queue_.close();
  server_->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  server_->Wait();
  server_.reset();
  ::unlink(socket_.c_str());
}

}  // namespace sluice::cp::admin
