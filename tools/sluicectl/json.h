// sluicectl --json: any admin API message as JSON, by reflection, so the
// output follows admin.proto without a second list of fields to keep in
// step. Stable for scripts: keys are the proto's field names (snake_case),
// every field is present (null for an absent optional or message), 64-bit
// integers are JSON numbers (not the strings of protobuf's JSON mapping), and
// enums are the config file's words ("tcp", "client-ip", "ready").
#pragma once

#include <string>

#include <google/protobuf/message.h>

namespace sluice::ctl {

// Indented by two spaces, ending in a newline.
std::string toJson(const google::protobuf::Message& message);

}  // namespace sluice::ctl
