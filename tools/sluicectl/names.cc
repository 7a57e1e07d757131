#include "tools/sluicectl/names.h"

#include <cctype>
#include <charconv>

namespace sluice::ctl {

namespace {

// "EndpointState" -> "ENDPOINT_STATE_": the prefix protobuf style gives
// every value of the enum.
std::string valuePrefix(const google::protobuf::EnumDescriptor* type) {
  std::string prefix;
  for (char c : type->name()) {
    if (std::isupper(static_cast<unsigned char>(c)) && !prefix.empty()) {
      prefix += '_';
    }
    prefix += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return prefix + '_';
}

std::optional<uint32_t> parseNumber(std::string_view text, uint32_t max) {
  uint32_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty() || value > max) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

std::string enumText(const google::protobuf::EnumDescriptor* type, int value) {
  const google::protobuf::EnumValueDescriptor* v = type->FindValueByNumber(value);
  if (v == nullptr) {
    return std::to_string(value);
  }
  std::string name = v->name();
  std::string prefix = valuePrefix(type);
  if (name.starts_with(prefix)) {
    name.erase(0, prefix.size());
  }
  for (char& c : name) {
    c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return name;
}

std::optional<int> enumFromText(const google::protobuf::EnumDescriptor* type, std::string_view text,
                                std::string* choices) {
  std::optional<int> found;
  choices->clear();
  for (int i = 0; i < type->value_count(); ++i) {
    int number = type->value(i)->number();
    if (number == 0) {
      continue;  // UNSPECIFIED is never something to ask for
    }
    std::string name = enumText(type, number);
    choices->append(choices->empty() ? "" : ", ").append(name);
    if (name == text) {
      found = number;
    }
  }
  return found;
}

std::optional<HostPort> parseHostPort(std::string_view text, std::string* error) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    *error = "'" + std::string(text) + "' is not ADDRESS:PORT";
    return std::nullopt;
  }
  std::string_view host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') {
      *error = "'" + std::string(text) + "': an IPv6 address goes in brackets, [fd00::1]:80";
      return std::nullopt;
    }
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    *error = "'" + std::string(text) + "': write an IPv6 address in brackets, [fd00::1]:80";
    return std::nullopt;
  }
  // Only the syntax: sluiced refuses 0 and values over 65535 itself, naming
  // the field.
  std::optional<uint32_t> port = parseNumber(text.substr(colon + 1), UINT32_MAX);
  if (!port) {
    *error = "'" + std::string(text) + "': '" + std::string(text.substr(colon + 1)) +
             "' is not a port number";
    return std::nullopt;
  }
  return HostPort{std::string(host), *port};
}

std::string joinHostPort(const std::string& host, uint32_t port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<v1::ServiceKey> parseServiceKey(std::string_view text, std::string* error) {
  size_t slash = text.rfind('/');
  if (slash == std::string_view::npos) {
    *error = "service '" + std::string(text) + "' is not VIP:PORT/PROTOCOL, e.g. 10.96.0.10:80/tcp";
    return std::nullopt;
  }
  auto hp = parseHostPort(text.substr(0, slash), error);
  if (!hp) {
    *error = "service " + *error;
    return std::nullopt;
  }
  std::string choices;
  auto proto = enumFromText(v1::Protocol_descriptor(), text.substr(slash + 1), &choices);
  if (!proto) {
    *error = "service '" + std::string(text) + "': protocol '" +
             std::string(text.substr(slash + 1)) + "' is not one of " + choices;
    return std::nullopt;
  }
  v1::ServiceKey key;
  key.set_vip(hp->host);
  key.set_port(hp->port);
  key.set_protocol(static_cast<v1::Protocol>(*proto));
  return key;
}

std::string keyText(const v1::ServiceKey& key) {
  return joinHostPort(key.vip(), key.port()) + "/" + enumText(key.protocol());
}

std::string keyText(const v1::Service& service) {
  v1::ServiceKey key;
  key.set_vip(service.vip());
  key.set_port(service.port());
  key.set_protocol(service.protocol());
  return keyText(key);
}

std::optional<v1::Endpoint> parseEndpoint(std::string_view text, std::string* error) {
  size_t comma = text.find(',');
  auto hp = parseHostPort(text.substr(0, comma), error);
  if (!hp) {
    *error = "endpoint " + *error;
    return std::nullopt;
  }
  v1::Endpoint endpoint;
  endpoint.set_address(hp->host);
  endpoint.set_port(hp->port);
  while (comma != std::string_view::npos) {
    size_t next = text.find(',', comma + 1);
    std::string_view item = text.substr(comma + 1, next - comma - 1);
    comma = next;
    size_t eq = item.find('=');
    std::string_view name = item.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? "" : item.substr(eq + 1);
    std::string choices;
    if (name == "weight") {
      // 0 and values above 65535 are sluiced's to refuse, with its reason.
      std::optional<uint32_t> weight = parseNumber(value, UINT32_MAX);
      if (!weight) {
        *error = "endpoint '" + std::string(text) + "': weight '" + std::string(value) +
                 "' is not a number";
        return std::nullopt;
      }
      endpoint.set_weight(*weight);
    } else if (name == "state") {
      auto state = enumFromText(v1::EndpointState_descriptor(), value, &choices);
      if (!state) {
        *error = "endpoint '" + std::string(text) + "': state '" + std::string(value) +
                 "' is not one of " + choices;
        return std::nullopt;
      }
      endpoint.set_state(static_cast<v1::EndpointState>(*state));
    } else {
      *error = "endpoint '" + std::string(text) + "': '" + std::string(item) +
               "' is not weight=N or state=S";
      return std::nullopt;
    }
  }
  return endpoint;
}

}  // namespace sluice::ctl
