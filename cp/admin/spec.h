// Where sluiced serves its admin API: the config's `admin` group. Plain
// values; read by cp/admin/admin_config.cc, used by cp/admin/server.cc.
#pragma once

#include <string>

namespace sluice::cp::admin {

inline constexpr char kDefaultSocket[] = "/run/sluice/admin.sock";

struct AdminSpec {
  // Unix socket path (mode 0660, its directory created when missing).
  std::string socket = kDefaultSocket;
  // "host:port" for a TCP listener with TLS; empty: unix socket only. Port 0
  // picks a free port.
  std::string tcp;
  std::string tls_cert;  // PEM certificate chain; required with tcp
  std::string tls_key;   // PEM private key; required with tcp
  // PEM CA bundle: when set, clients must present a certificate it signed.
  std::string tls_client_ca;
  friend bool operator==(const AdminSpec&, const AdminSpec&) = default;
};

}  // namespace sluice::cp::admin
