// sluicectl dump: running services as sluiced's config text (see
// conf/demo.conf and cp/service_config.cc), a `services = ( ... );` list
// that loads back to the same services: saved to a file and @included, or
// pasted over a config's services list. Every setting is written out, the
// defaults too, so that the text means the same under a later default.
#pragma once

#include <string>
#include <vector>

#include "sluice/admin/v1/admin.pb.h"

namespace sluice::ctl {

namespace v1 = ::sluice::admin::v1;

// `origin` goes in the leading comment (where the services came from).
std::string servicesToConfig(const std::vector<v1::Service>& services, const std::string& origin);

}  // namespace sluice::ctl
