// The admin gRPC server (proto/sluice/admin/v1/admin.proto): a unix socket,
// optionally TCP with TLS. Requests are converted and checked on gRPC's
// threads; everything that reads or changes the model runs on the control
// thread through a ControlQueue, so any number of clients may call at once
// and changes apply one after another, each whole or not at all.
#pragma once

#include <memory>
#include <string>

#include "cp/admin/backend.h"
#include "cp/admin/spec.h"
#include "cp/control_queue.h"
#include "dp/api/status.h"

namespace grpc {
class Server;
}

namespace sluice::cp::admin {

class AdminService;

class AdminServer {
 public:
  // Listens as `spec` says and starts serving. The unix socket's directory
  // is created when missing; a stale socket is replaced, one a running
  // process answers on is not.
  static Result<std::unique_ptr<AdminServer>> start(const AdminSpec& spec, ControlQueue& queue,
                                                    AdminBackend& backend);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Closes `queue` (callers waiting on it get UNAVAILABLE), ends the calls in
  // flight, stops listening and removes the socket file. Safe to call from
  // the control thread, and more than once.
  void stop();

  const std::string& socketPath() const { return socket_; }
  // The TCP port listened on (the one picked for port 0); 0 without TCP.
  int tcpPort() const { return tcp_port_; }

 private:
  AdminServer(ControlQueue& queue, std::string socket);

  ControlQueue& queue_;
  std::string socket_;
  int tcp_port_ = 0;
  std::unique_ptr<AdminService> service_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace sluice::cp::admin
