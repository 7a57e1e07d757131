#include "tools/sluicectl/table.h"

#include <algorithm>

namespace sluice::ctl {

void Table::print(std::FILE* out) const {
  std::vector<size_t> widths;
  for (const Column& c : columns_) {
    widths.push_back(c.title.size());
  }
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], row[i].size());
    }
  }
  auto line = [&](auto cell) {
    std::string text;
    for (size_t i = 0; i < columns_.size(); ++i) {
      const std::string& value = cell(i);
      std::string pad(widths[i] - value.size(), ' ');
      text += i == 0 ? "" : "  ";
      text += columns_[i].align == Align::kRight ? pad + value : value + pad;
    }
    text.erase(text.find_last_not_of(' ') + 1);
    std::fprintf(out, "%s\n", text.c_str());
  };
  line([&](size_t i) -> const std::string& { return columns_[i].title; });
  static const std::string kEmpty;
  for (const auto& row : rows_) {
    line([&](size_t i) -> const std::string& { return i < row.size() ? row[i] : kEmpty; });
  }
}

std::string percent(double share) {
  if (share < 0) {
    return "-";
  }
  char text[32];
  std::snprintf(text, sizeof text, "%.1f%%", share * 100.0);
  return text;
}

std::string millis(uint64_t ns) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", static_cast<double>(ns) / 1e6);
  return text;
}

}  // namespace sluice::ctl
