// Aligned text tables as ipvsadm prints them: a header row, columns padded
// to their widest cell and two spaces apart, numbers right-aligned.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace sluice::ctl {

class Table {
 public:
  enum class Align { kLeft, kRight };
  struct Column {
    std::string title;
    Align align = Align::kLeft;
  };

  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

  // One cell per column; missing cells print empty.
  void addRow(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  bool empty() const { return rows_.empty(); }
  // Trailing spaces trimmed, so that a left-aligned last column ends each line.
  void print(std::FILE* out) const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// "12.5%"; "-" when the share is unknown (negative).
std::string percent(double share);
// Milliseconds with two decimals: "0.42".
std::string millis(uint64_t ns);

}  // namespace sluice::ctl
