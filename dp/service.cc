#include "dp/api/service.h"

namespace sluice {

namespace {

// "10.0.0.1:80", "[fd00::1]:80": brackets keep an IPv6 address's colons
// apart from the port's.
std::string hostPort(const IpAddr& addr, uint16_t port) {
  std::string text = addr.isV4() ? addr.toString() : "[" + addr.toString() + "]";
  return text + ":" + std::to_string(port);
}

}  // namespace

std::string ServiceKey::toString() const {
  return hostPort(vip, port) + "/" + sluice::toString(proto);
}

std::string EndpointSpec::toString() const {
  return hostPort(addr, port);
}

const char* toString(Proto p) {
  switch (p) {
    case Proto::kTcp:
      return "tcp";
    case Proto::kUdp:
      return "udp";
  }
  return "?";
}

const char* toString(ForwardMode m) {
  switch (m) {
    case ForwardMode::kFullNat:
      return "fullnat";
    case ForwardMode::kDnat:
      return "dnat";
  }
  return "?";
}

const char* toString(Algorithm a) {
  switch (a) {
    case Algorithm::kMaglev:
      return "maglev";
    case Algorithm::kRandom:
      return "random";
  }
  return "?";
}

const char* toString(EndpointState s) {
  switch (s) {
    case EndpointState::kReady:
      return "ready";
    case EndpointState::kTerminating:
      return "terminating";
    case EndpointState::kUnhealthy:
      return "unhealthy";
  }
  return "?";
}

const char* toString(ServiceSource s) {
  switch (s) {
    case ServiceSource::kConfig:
      return "config";
    case ServiceSource::kApi:
      return "api";
    case ServiceSource::kXds:
      return "xds";
  }
  return "?";
}

}  // namespace sluice
