#include "cp/config_reader.h"

#include <algorithm>
#include <charconv>
#include <tuple>

namespace sluice::cp {

void Errors::add(const Setting& at, const std::string& path, const std::string& reason) {
  // Settings from an @include carry their own file; the root has no line.
  const char* file = at.getSourceFile();
  unsigned line = std::max(at.getSourceLine(), 1u);
  errors_.push_back({file != nullptr ? file : source_, line, path, reason});
}

void Errors::addMissing(const Setting& parent, const char* name) {
  std::string path = parent.getPath();
  add(parent, path.empty() ? name : path + "." + name, "missing required setting");
}

void Errors::addFieldError(const Setting& base, const std::string& error) {
  size_t colon = error.find(": ");
  std::string_view field = std::string_view(error).substr(0, colon);
  std::string reason = colon == std::string::npos ? error : error.substr(colon + 2);
  const Setting* at = &base;
  bool found = true;
  std::string path = base.getPath();
  while (!field.empty()) {
    size_t end = field.find_first_of(".[");
    std::string_view part = field.substr(0, end);
    field.remove_prefix(end == std::string_view::npos ? field.size() : end);
    if (part.empty() && field.starts_with('[')) {  // "[2]" after a list
      size_t close = field.find(']');
      std::string_view index = field.substr(1, close - 1);
      field.remove_prefix(close == std::string_view::npos ? field.size() : close + 1);
      path += ".[" + std::string(index) + "]";
      int i = -1;
      std::from_chars(index.data(), index.data() + index.size(), i);
      found = found && at->isList() && i >= 0 && i < at->getLength();
      at = found ? &(*at)[i] : at;
    } else if (!part.empty()) {
      std::string name(part);
      path += "." + name;
      found = found && at->isGroup() && at->exists(name);
      at = found ? &(*at)[name.c_str()] : at;
    }
    if (field.starts_with('.')) {
      field.remove_prefix(1);
    }
  }
  add(*at, path, reason);
}

std::string Errors::joined() {
  std::stable_sort(errors_.begin(), errors_.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.file, a.line) < std::tie(b.file, b.line);
  });
  std::string text;
  for (const Entry& e : errors_) {
    if (!text.empty()) {
      text += '\n';
    }
    text += e.file + ":" + std::to_string(e.line) + ": " + e.path + ": " + e.reason;
  }
  return text;
}

const Setting* GroupReader::typed(const char* name, Need need, Setting::Type type,
                                  const char* what) {
  known_.insert(name);
  if (!group_.exists(name)) {
    if (need == Need::kRequired) {
      errors_.addMissing(group_, name);
    }
    return nullptr;
  }
  const Setting* s = &group_[name];
  Setting::Type found = s->getType();
  if (found == Setting::TypeInt64) {
    found = Setting::TypeInt;
  } else if (found == Setting::TypeArray) {
    found = Setting::TypeList;
  }
  if (found != type) {
    errors_.add(*s, std::string("must be ") + what);
    return nullptr;
  }
  return s;
}

const Setting* GroupReader::string(const char* name, std::string& out, Need need) {
  const Setting* s = typed(name, need, Setting::TypeString, "a string");
  if (s != nullptr) {
    out = s->c_str();
  }
  return s;
}

const Setting* GroupReader::group(const char* name, Need need) {
  return typed(name, need, Setting::TypeGroup, "a group { ... }");
}

const Setting* GroupReader::list(const char* name, Need need) {
  return typed(name, need, Setting::TypeList, "a list ( ... )");
}

void GroupReader::finish() {
  for (int i = 0; i < group_.getLength(); ++i) {
    const Setting& s = group_[i];
    if (known_.count(s.getName()) == 0) {
      errors_.add(s, std::string("unknown setting '") + s.getName() + "'");
    }
  }
}

std::optional<IpAddr> readIp(Errors& errors, const Setting& at, const std::string& text) {
  auto addr = IpAddr::parse(text);
  if (!addr) {
    errors.add(at, "'" + text + "' is not an IP address");
  }
  return addr;
}

std::optional<IpAddr> readUnicastIp(Errors& errors, const Setting& at, const std::string& text) {
  auto addr = readIp(errors, at, text);
  if (addr && (addr->isMulticast() || addr->isUnspecified())) {
    errors.add(at, "'" + text + "' must be a unicast address");
    addr.reset();
  }
  return addr;
}

std::optional<MacAddr> readUnicastMac(Errors& errors, const Setting& at, const std::string& text) {
  auto mac = MacAddr::parse(text);
  if (!mac) {
    errors.add(at, "'" + text + "' is not a MAC address such as 02:00:00:00:00:01");
  } else if (mac->isMulticast() || mac->isZero()) {
    errors.add(at, "'" + text + "' must be a unicast, non-zero MAC address");
    mac.reset();
  }
  return mac;
}

}  // namespace sluice::cp
