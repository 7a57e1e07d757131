// Big zero-filled arrays for the per-worker tables (conntrack's flows and
// index), mapped on their own and backed by transparent huge pages where the
// kernel offers them (`madvise` mode is Debian's default). At a million flows
// the tables span hundreds of megabytes, and with 4 KiB pages nearly every
// lookup also misses the TLB: a page walk per cache miss, two-dimensional
// under a hypervisor. 2 MiB pages cut that walk out.
//
// Every page is written when the array is made, so no page fault is left for
// the worker that uses it. Pure C++: no DPDK, usable in tests and tools.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>
#include <utility>

namespace sluice::dp {

// The mapping behind a LargeArray: `bytes` rounded up to whole huge pages,
// zeroed and touched. nullptr when the kernel refuses the mapping.
void* mapLarge(size_t bytes, size_t* mapped);
void unmapLarge(void* addr, size_t mapped);

// Like std::unique_ptr<T[]> for trivial T, zero-initialised.
template <class T>
class LargeArray {
  static_assert(std::is_trivially_default_constructible_v<T> && std::is_trivially_destructible_v<T>,
                "zero-filled memory must be a valid T and need no destructor");

 public:
  LargeArray() = default;
  // n zeroed elements; empty (false) when the memory cannot be had.
  static LargeArray zeroed(size_t n) {
    LargeArray a;
    if (n != 0 && n <= SIZE_MAX / sizeof(T)) {
      a.data_ = static_cast<T*>(mapLarge(n * sizeof(T), &a.mapped_));
    }
    return a;
  }
  LargeArray(LargeArray&& o) noexcept
      : data_(std::exchange(o.data_, nullptr)), mapped_(std::exchange(o.mapped_, 0)) {}
  LargeArray& operator=(LargeArray&& o) noexcept {
    std::swap(data_, o.data_);
    std::swap(mapped_, o.mapped_);
    return *this;
  }
  ~LargeArray() {
    if (data_ != nullptr) unmapLarge(data_, mapped_);
  }

  T* get() const { return data_; }
  T& operator[](size_t i) const { return data_[i]; }
  explicit operator bool() const { return data_ != nullptr; }
  // Bytes mapped, whole huge pages.
  size_t mappedBytes() const { return mapped_; }

 private:
  T* data_ = nullptr;
  size_t mapped_ = 0;
};

}  // namespace sluice::dp
