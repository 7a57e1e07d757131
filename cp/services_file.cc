#include "cp/services_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include <libconfig.h++>

#include "cp/config_reader.h"
#include "cp/service_config.h"

namespace sluice::cp {

namespace {

// Service validation checks a service against the gateway that runs it: a
// fullnat service needs an SNAT address of its VIP's family, and the list
// must fit services_capacity. A services file belongs to no gateway, so it
// is read against one that has an SNAT address of each family and no
// capacity limit; each gateway checks those two itself when it applies the
// services it receives.
dp::DataplaneSpec anyGateway() {
  dp::DataplaneSpec dataplane;
  dataplane.snat = {*IpAddr::parse("192.0.2.1"), *IpAddr::parse("2001:db8::1")};
  dataplane.services_capacity = std::numeric_limits<uint32_t>::max();
  return dataplane;
}

Result<std::vector<ServiceSpec>> load(const libconfig::Config& parsed, const std::string& source) {
  Errors errors(source);
  std::vector<ServiceSpec> services;
  GroupReader top(errors, parsed.getRoot());
  if (const Setting* list = top.list("services", Need::kRequired)) {
    readServices(errors, *list, anyGateway(), services);
  }
  top.finish();
  if (errors.count() != 0) {
    return Status::error(errors.joined());
  }
  return services;
}

}  // namespace

Result<std::vector<ServiceSpec>> loadServicesText(std::string_view text,
                                                  const std::string& source) {
  libconfig::Config parsed;
  try {
    parsed.readString(std::string(text));
    return load(parsed, source);
  } catch (const libconfig::ParseException& e) {
    return Status::error(source + ":" + std::to_string(e.getLine()) +
                         ": parse error: " + e.getError());
  } catch (const libconfig::SettingException& e) {
    return Status::error(source + ":1: " + e.getPath() + ": " + e.what());
  } catch (const std::exception& e) {
    return Status::error(source + ":1: internal error: " + e.what());
  }
}

Result<std::vector<ServiceSpec>> loadServicesFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::error(path + ": cannot open services file: " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return Status::error(path + ": cannot read services file: " + std::strerror(errno));
  }
  return loadServicesText(text.str(), path);
}

}  // namespace sluice::cp
