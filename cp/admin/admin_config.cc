#include "cp/admin/admin_config.h"

#include <sys/un.h>

#include <charconv>
#include <string_view>

namespace sluice::cp::admin {

namespace {

// "host:port" or "[v6]:port", the forms gRPC's listener takes.
bool isHostPort(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    return false;
  }
  std::string_view host = text.substr(0, colon);
  std::string_view port = text.substr(colon + 1);
  if (host.front() == '[' ? host.back() != ']' : host.find(':') != std::string_view::npos) {
    return false;
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  return ec == std::errc() && end == port.data() + port.size() && value <= 65535;
}

void readTls(Errors& errors, const Setting& group, AdminSpec& out) {
  GroupReader r(errors, group);
  for (auto [name, path] : {std::pair{"cert", &out.tls_cert}, std::pair{"key", &out.tls_key}}) {
    const Setting* s = r.string(name, *path, Need::kRequired);
    if (s != nullptr && path->empty()) {
      errors.add(*s, "must not be empty");
    }
  }
  r.string("client_ca", out.tls_client_ca);
  r.finish();
}

}  // namespace

void readAdmin(Errors& errors, const Setting& group, AdminSpec& out) {
  GroupReader r(errors, group);
  if (const Setting* s = r.string("socket", out.socket)) {
    // sun_path holds the path and its terminating NUL.
    constexpr size_t kMaxPath = sizeof(sockaddr_un{}.sun_path) - 1;
    if (!out.socket.starts_with('/')) {
      errors.add(*s, "'" + out.socket + "' must be an absolute path");
    } else if (out.socket.size() > kMaxPath) {
      errors.add(*s, "is " + std::to_string(out.socket.size()) +
                         " characters long; a unix socket path has at most " +
                         std::to_string(kMaxPath));
    } else if (out.socket.ends_with('/')) {
      errors.add(*s, "'" + out.socket + "' names a directory, not a socket file");
    }
  }
  const Setting* tcp = r.string("tcp", out.tcp);
  if (tcp != nullptr && !isHostPort(out.tcp)) {
    errors.add(*tcp, "'" + out.tcp + "' is not host:port such as 127.0.0.1:50051 or [::1]:50051");
  }
  const Setting* tls = r.group("tls");
  if (tls != nullptr) {
    readTls(errors, *tls, out);
  }
  if (tcp != nullptr && tls == nullptr) {
    errors.add(*tcp,
               "a TCP listener needs tls (cert and key); the admin API is not served in "
               "plain text over TCP");
  } else if (tcp == nullptr && tls != nullptr) {
    errors.add(*tls, "is used only with tcp");
  }
  r.finish();
}

}  // namespace sluice::cp::admin
