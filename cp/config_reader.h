// The generic half of config loading, internal to cp/: collecting errors with
// file:line, reading typed libconfig settings with range and choice checks,
// and refusing settings nobody read. What the settings mean is config.cc's
// and service_config.cc's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <libconfig.h++>

#include "dp/api/types.h"

namespace sluice::cp {

using libconfig::Setting;

enum class Need : uint8_t { kOptional, kRequired };

struct IntRange {
  long long lo;
  long long hi;
};

// A range up to kU32Max reads as "at least lo" in errors.
inline constexpr long long kU32Max = std::numeric_limits<uint32_t>::max();

// One accepted spelling of a string setting, and the value it stands for.
template <class E>
using Choice = std::pair<std::string_view, E>;

// Every error found, each as "FILE:LINE: SETTING: reason", reported in file order.
class Errors {
 public:
  explicit Errors(std::string source) : source_(std::move(source)) {}

  void add(const Setting& at, const std::string& reason) { add(at, at.getPath(), reason); }
  // Reported at the line of `at` under another path: a setting left out, or
  // one inside `at` that the file does not spell out.
  void add(const Setting& at, const std::string& path, const std::string& reason);
  // A missing setting is reported at the line of the group that should hold it.
  void addMissing(const Setting& parent, const char* name);
  // Reports a validator's "FIELD: reason" at the setting FIELD names below
  // `base` ("endpoints[2].port" is libconfig's "endpoints.[2].port"), or, for
  // a field the file leaves at its default, at the closest enclosing setting.
  void addFieldError(const Setting& base, const std::string& error);

  size_t count() const { return errors_.size(); }
  std::string joined();

 private:
  struct Entry {
    std::string file;
    unsigned line;
    std::string path;
    std::string reason;
  };

  std::string source_;
  std::vector<Entry> errors_;
};

// Reads the children of one group. Each child read is remembered; finish()
// reports every other child as unknown, so a misspelt setting never passes
// silently as its default.
class GroupReader {
 public:
  GroupReader(Errors& errors, const Setting& group) : errors_(errors), group_(group) {}

  const Setting& self() const { return group_; }

  // The child when present and of the `type` asked for (an int64 counts as
  // an int, an array as a list); else nullptr.
  const Setting* typed(const char* name, Need need, Setting::Type type, const char* what);

  // Each reader returns the setting when it is present and valid (and only
  // then writes `out`), so callers can report later errors at its line.
  const Setting* string(const char* name, std::string& out, Need need = Need::kOptional);

  template <class T>
  const Setting* integer(const char* name, T& out, IntRange range, Need need = Need::kOptional) {
    const Setting* s = typed(name, need, Setting::TypeInt, "an integer");
    if (s == nullptr) {
      return nullptr;
    }
    long long value =
        s->getType() == Setting::TypeInt ? static_cast<int>(*s) : static_cast<long long>(*s);
    if (value < range.lo || value > range.hi) {
      errors_.add(*s, range.hi == kU32Max ? "must be at least " + std::to_string(range.lo)
                                          : "must be " + std::to_string(range.lo) + ".." +
                                                std::to_string(range.hi));
      return nullptr;
    }
    out = static_cast<T>(value);
    return s;
  }

  // A string naming one of `choices`.
  template <class E, size_t N>
  const Setting* choice(const char* name, E& out, const Choice<E> (&choices)[N],
                        Need need = Need::kOptional) {
    std::string text;
    const Setting* s = string(name, text, need);
    if (s == nullptr) {
      return nullptr;
    }
    std::string names;
    for (const auto& [choice, value] : choices) {
      if (text == choice) {
        out = value;
        return s;
      }
      names += (names.empty() ? "" : ", ") + std::string(choice);
    }
    errors_.add(*s, "'" + text + "' is not one of " + names);
    return nullptr;
  }

  const Setting* group(const char* name, Need need = Need::kOptional);

  // A list ( ... ) or an array [ ... ]; libconfig allows groups only in lists.
  const Setting* list(const char* name, Need need = Need::kOptional);

  void finish();

 private:
  Errors& errors_;
  const Setting& group_;
  std::set<std::string, std::less<>> known_;
};

// Calls `read` for each element of `list`, which must be a group. When set,
// `required` names what the list must hold at least one of.
template <class Read>
void forEachGroup(Errors& errors, const Setting* list, const char* required, Read read) {
  if (list == nullptr) {
    return;
  }
  if (list->getLength() == 0 && required != nullptr) {
    errors.add(*list, std::string("must list at least one ") + required);
  }
  for (int i = 0; i < list->getLength(); ++i) {
    const Setting& element = (*list)[i];
    if (!element.isGroup()) {
      errors.add(element, "must be a group { ... }");
      continue;
    }
    GroupReader r(errors, element);
    read(r);
    r.finish();
  }
}

// Readers of an address given as `text`, the string value of `at`. Each
// reports at `at` why the text does not qualify and then returns nullopt.
// An address of either family:
std::optional<IpAddr> readIp(Errors& errors, const Setting& at, const std::string& text);
// A unicast address (neither multicast nor unspecified):
std::optional<IpAddr> readUnicastIp(Errors& errors, const Setting& at, const std::string& text);
// A unicast, non-zero MAC address:
std::optional<MacAddr> readUnicastMac(Errors& errors, const Setting& at, const std::string& text);

}  // namespace sluice::cp
