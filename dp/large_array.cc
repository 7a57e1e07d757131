#include "dp/large_array.h"

#include <sys/mman.h>

#include <cstdint>
#include <cstring>

namespace sluice::dp {
namespace {

constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kPage = 4096;

}  // namespace

void* mapLarge(size_t bytes, size_t* mapped) {
  *mapped = 0;
  if (bytes > SIZE_MAX - 2 * kHugePage) return nullptr;
  if (bytes < kHugePage) {
    // Too small to gain from a huge page (tests make many such tables).
    const size_t size = (bytes + kPage - 1) & ~(kPage - 1);
    void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) return nullptr;
    *mapped = size;
    return p;
  }
  const size_t size = (bytes + kHugePage - 1) & ~(kHugePage - 1);
  // One huge page more than needed, so that a 2 MiB-aligned range fits; the
  // ends around it go back at once. Only aligned ranges get huge pages.
  const size_t span = size + kHugePage;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = (start + kHugePage - 1) & ~(kHugePage - 1);
  if (aligned > start) munmap(raw, aligned - start);
  const uintptr_t end = start + span;
  if (end > aligned + size) munmap(reinterpret_cast<void*>(aligned + size), end - aligned - size);
  auto* p = reinterpret_cast<void*>(aligned);
  // A hint: without THP the array still works, on small pages.
  madvise(p, size, MADV_HUGEPAGE);
  // Anonymous memory reads as zero already; writing it faults every page in
  // now rather than on a worker's first packets.
  std::memset(p, 0, size);
  *mapped = size;
  return p;
}

void unmapLarge(void* addr, size_t mapped) {
  munmap(addr, mapped);
}

}  // namespace sluice::dp
