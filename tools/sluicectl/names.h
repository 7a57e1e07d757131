// The text forms sluicectl reads and writes: service keys as sluiced's
// messages spell them ("10.96.0.10:80/tcp", "[fd00::10]:53/udp"), endpoints
// ("10.244.0.11:8080"), and enum values in the config file's spelling
// ("tcp", "fullnat", "client-ip", "terminating"). Pure; addresses are not
// checked here: sluiced checks them and names the field when one is wrong.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <google/protobuf/descriptor.h>

#include "sluice/admin/v1/admin.pb.h"

namespace sluice::ctl {

namespace v1 = ::sluice::admin::v1;

// An enum value as the config spells it: the enum's own prefix dropped,
// lower case, '-' for '_' (AFFINITY_CLIENT_IP -> "client-ip",
// ChangeResponse::RESULT_CREATED -> "created"). Unknown numbers, which proto3
// lets through, print as the number.
std::string enumText(const google::protobuf::EnumDescriptor* type, int value);

template <class E>
std::string enumText(E value) {
  return enumText(google::protobuf::GetEnumDescriptor<E>(), static_cast<int>(value));
}

// The value whose enumText is `text`; nullopt for anything else, including
// "unspecified". `choices` gets "a, b, c" for the error message.
std::optional<int> enumFromText(const google::protobuf::EnumDescriptor* type, std::string_view text,
                                std::string* choices);

// "HOST:PORT" or "[V6]:PORT" with PORT a number; `error` says why not.
struct HostPort {
  std::string host;
  uint32_t port = 0;
};
std::optional<HostPort> parseHostPort(std::string_view text, std::string* error);
// The inverse: brackets around an IPv6 host.
std::string joinHostPort(const std::string& host, uint32_t port);

// "VIP:PORT/PROTO".
std::optional<v1::ServiceKey> parseServiceKey(std::string_view text, std::string* error);
std::string keyText(const v1::ServiceKey& key);
std::string keyText(const v1::Service& service);

// "ADDR:PORT[,weight=N][,state=S]": an endpoint of `service add`.
std::optional<v1::Endpoint> parseEndpoint(std::string_view text, std::string* error);

}  // namespace sluice::ctl
