#include "tools/sluicectl/dump.h"

#include "tools/sluicectl/names.h"

namespace sluice::ctl {

namespace {

// A libconfig string literal. Addresses need no escapes, but a server of
// another version might send anything.
std::string quoted(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
    }
    out += c;
  }
  return out + '"';
}

template <class E>
std::string quotedEnum(E value) {
  return quoted(enumText(value));
}

std::string endpointText(const v1::Endpoint& ep) {
  std::string text =
      "{ address = " + quoted(ep.address()) + "; port = " + std::to_string(ep.port()) +
      "; weight = " + std::to_string(ep.has_weight() ? ep.weight() : 1) + "; state = ";
  // UNSPECIFIED is ready when writing (admin.proto).
  v1::EndpointState state =
      ep.state() == v1::ENDPOINT_STATE_UNSPECIFIED ? v1::ENDPOINT_STATE_READY : ep.state();
  return text + quotedEnum(state) + "; }";
}

std::string serviceText(const v1::Service& s) {
  // UNSPECIFIED means the default for each of these (admin.proto).
  v1::ForwardMode mode =
      s.mode() == v1::FORWARD_MODE_UNSPECIFIED ? v1::FORWARD_MODE_FULLNAT : s.mode();
  v1::Algorithm algorithm =
      s.algorithm() == v1::ALGORITHM_UNSPECIFIED ? v1::ALGORITHM_MAGLEV : s.algorithm();
  std::string text = "  {\n    # " + keyText(s) + ", source " + enumText(s.source()) + "\n";
  text += "    vip = " + quoted(s.vip()) + "; port = " + std::to_string(s.port()) +
          "; protocol = " + quotedEnum(s.protocol()) + ";\n";
  text += "    mode = " + quotedEnum(mode) + "; algorithm = " + quotedEnum(algorithm) + ";\n";
  // The config refuses affinity_timeout without client-ip affinity.
  if (s.affinity() == v1::AFFINITY_CLIENT_IP) {
    text += "    affinity = " + quotedEnum(s.affinity());
    if (s.has_affinity_timeout()) {
      text += "; affinity_timeout = " + std::to_string(s.affinity_timeout());
    }
    text += ";\n";
  } else {
    text += "    affinity = \"none\";\n";
  }
  if (s.has_table_size()) {
    text += "    table_size = " + std::to_string(s.table_size()) + ";\n";
  }
  if (s.endpoints_size() == 0) {
    return text + "    endpoints = ( );\n  }";
  }
  text += "    endpoints = (\n";
  for (int i = 0; i < s.endpoints_size(); ++i) {
    text += "      " + endpointText(s.endpoints(i)) + (i + 1 < s.endpoints_size() ? ",\n" : "\n");
  }
  return text + "    );\n  }";
}

}  // namespace

std::string servicesToConfig(const std::vector<v1::Service>& services, const std::string& origin) {
  std::string text = "# " + std::to_string(services.size()) + " service" +
                     (services.size() == 1 ? "" : "s") + " from " + origin + "\n";
  if (services.empty()) {
    return text + "services = ( );\n";
  }
  text += "services = (\n";
  for (size_t i = 0; i < services.size(); ++i) {
    text += serviceText(services[i]) + (i + 1 < services.size() ? ",\n" : "\n");
  }
  return text + ");\n";
}

}  // namespace sluice::ctl
