#include "cp/xds/handler.h"

#include <array>

namespace sluice::cp::xds {

namespace {

constexpr std::array<const char*, kResourceTypeCount> kTypeUrls = {
    kListenerTypeUrl,
    kClusterTypeUrl,
    kEndpointTypeUrl,
};

}  // namespace

const char* typeUrlOf(ResourceType type) {
  return kTypeUrls[static_cast<size_t>(type)];
}

bool resourceTypeOf(const std::string& type_url, ResourceType* type) {
  for (size_t i = 0; i < kTypeUrls.size(); ++i) {
    if (type_url == kTypeUrls[i]) {
      *type = static_cast<ResourceType>(i);
      return true;
    }
  }
  return false;
}

}  // namespace sluice::cp::xds
