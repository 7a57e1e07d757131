// A services file: a libconfig file holding only a `services = ( ... )`
// list, in exactly the schema of sluiced's config services. sluice-xds
// serves one over xDS. Errors read "FILE:LINE: SETTING: reason", as the
// config loader's do.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dp/api/service.h"
#include "dp/api/status.h"

namespace sluice::cp {

Result<std::vector<ServiceSpec>> loadServicesFile(const std::string& path);
// The same from text; `source` names it in errors.
Result<std::vector<ServiceSpec>> loadServicesText(std::string_view text, const std::string& source);

}  // namespace sluice::cp
