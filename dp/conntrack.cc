#include "dp/conntrack.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <cassert>
#include <chrono>
#include <cstring>
#include <new>
#include <string>

#include "dp/large_array.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// The index is a bucketised two-choice hash table. Each key (a flow has two)
// hashes to two 64-byte buckets of 8 entries; an entry is a 16-bit signature
// plus a reference (flow index * 2 + direction). A lookup reads both buckets,
// compares the 8 signatures of each in one SSE2 step and reads the flow only
// for a signature match, so a hit costs two bucket lines plus the flow itself.
// The table is sized so the buckets are at most half full; an insert goes to
// the emptier bucket and, when both are full, moves one resident to its other
// bucket (one cuckoo step, bounded). An insert that still finds no room is
// refused as kFull; at half load that is rare enough not to matter, and the
// hash secret is random per table, so nobody can aim keys at a bucket pair.
//
// TCP flows that have not completed their handshake are on an intrusive FIFO
// list (prev/next per flow), so evicting the oldest is O(1) and the list holds
// no stale entries. A flow leaves the list when it becomes established, not
// when a FIN or RST ends the handshake early: a SYN followed by a FIN or RST
// must not buy an unevictable entry.

namespace sluice::dp {
namespace {

constexpr uint32_t kNil = UINT32_MAX;
// Flow references are index * 2 + direction in 32 bits.
constexpr uint32_t kMaxCapacity = 1U << 30;
constexpr unsigned kBucketEntries = 8;
// 4 KiB: tiny tables get a sparse index instead of a crowded one.
constexpr uint32_t kMinBuckets = 64;
// Flows a full table examines for expired ones before it evicts or refuses.
constexpr unsigned kFullSweepBudget = 8;
constexpr uint8_t kProtoTcp = 6;

// live_ bits: the slot is in use, FINs seen per direction, on the eviction list.
constexpr uint8_t kLive = 0x01;
constexpr uint8_t kFinOrig = 0x02;
constexpr uint8_t kFinReply = 0x04;
constexpr uint8_t kEvictable = 0x08;

struct alignas(64) Bucket {
  uint16_t sig[kBucketEntries];  // 0 = empty entry
  uint32_t ref[kBucketEntries];  // flow index * 2 + (1 for the reply key)
};
static_assert(sizeof(Bucket) == 64);

struct Link {
  uint32_t prev;
  uint32_t next;
};

using Place = Conntrack::Probe;

__extension__ using U128 = unsigned __int128;

// 64x64 -> 128-bit multiply folded back to 64 bits: one multiply mixes every
// bit of both operands.
inline uint64_t foldedMultiply(uint64_t a, uint64_t b) {
  U128 p = static_cast<U128>(a) * b;
  return static_cast<uint64_t>(p) ^ static_cast<uint64_t>(p >> 64);
}

// Bit i set when entry i of the bucket has signature `sig` (0 finds the free ones).
inline unsigned matchMask(const Bucket& b, uint16_t sig) {
#if defined(__SSE2__)
  __m128i sigs = _mm_load_si128(reinterpret_cast<const __m128i*>(b.sig));
  __m128i eq = _mm_cmpeq_epi16(sigs, _mm_set1_epi16(static_cast<int16_t>(sig)));
  return static_cast<unsigned>(_mm_movemask_epi8(_mm_packs_epi16(eq, _mm_setzero_si128())));
#else
  unsigned mask = 0;
  for (unsigned i = 0; i < kBucketEntries; i++) {
    if (b.sig[i] == sig) mask |= 1U << i;
  }
  return mask;
#endif
}

inline bool keysEqual(const FlowKey& a, const FlowKey& b) {
  uint64_t wa[5], wb[5];
  std::memcpy(wa, &a, sizeof(wa));
  std::memcpy(wb, &b, sizeof(wb));
  return ((wa[0] ^ wb[0]) | (wa[1] ^ wb[1]) | (wa[2] ^ wb[2]) | (wa[3] ^ wb[3]) |
          (wa[4] ^ wb[4])) == 0;
}

// The TCP state after a segment with `flags` seen in one direction. `bits`
// holds the per-direction FIN flags (kFinOrig, kFinReply) and is updated.
TcpState nextTcpState(TcpState s, bool is_reply, uint8_t flags, uint8_t& bits) {
  if ((flags & kTcpRst) != 0) return TcpState::kClosed;
  if ((flags & kTcpSyn) != 0) {
    if (!is_reply && (flags & kTcpAck) == 0) {
      // A client SYN on a closed flow: the 4-tuple is being reused.
      if (s == TcpState::kClosed || s == TcpState::kNone) {
        bits &= static_cast<uint8_t>(~(kFinOrig | kFinReply));
        return TcpState::kSynSent;
      }
      return s;
    }
    if (is_reply && (flags & kTcpAck) != 0 && s == TcpState::kSynSent) return TcpState::kSynRecv;
    return s;
  }
  if (s == TcpState::kClosed) return s;
  if ((flags & kTcpFin) != 0) {
    bits |= is_reply ? kFinReply : kFinOrig;
    return (bits & (kFinOrig | kFinReply)) == (kFinOrig | kFinReply) ? TcpState::kClosed
                                                                     : TcpState::kFinWait;
  }
  if ((flags & kTcpAck) != 0) {
    // The client's ACK of the SYN-ACK, or the endpoint talking without our
    // having seen its SYN-ACK: either way both sides are up.
    if (s == TcpState::kSynRecv || (s == TcpState::kSynSent && is_reply)) {
      return TcpState::kEstablished;
    }
  }
  return s;
}

// A per-table hash secret, so nobody outside can aim keys at one bucket
// pair. Tables may be created from several threads.
uint64_t randomSeed(const void* salt) {
  static std::atomic<uint64_t> counter{0};
  uint64_t t = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  uint64_t n = counter.fetch_add(1, std::memory_order_relaxed) + 1;
  uint64_t s = t ^ reinterpret_cast<uintptr_t>(salt) ^ (n * 0x9e3779b97f4a7c15ULL);
  return foldedMultiply(s ^ 0x243f6a8885a308d3ULL, s ^ 0x13198a2e03707344ULL) + t;
}

}  // namespace

struct Conntrack::Impl {
  ConntrackTimeouts timeouts{};
  uint64_t secret[8]{};
  uint32_t bucket_mask = 0;
  uint32_t bucket_count = 0;
  LargeArray<Bucket> buckets;
  LargeArray<Flow> flows;
  LargeArray<uint8_t> live;
  LargeArray<Link> links;         // the eviction FIFO, by flow index
  LargeArray<uint32_t> free_ids;  // a stack of free flow indices
  uint32_t free_top = 0;
  uint32_t evict_head = kNil;
  uint32_t evict_tail = kNil;
  uint32_t evictable_count = 0;
  uint32_t sweep_cursor = 0;

  Place placeOf(const FlowKey& key) const;
  uint32_t find(const FlowKey& key, const Place& p) const;
  bool add(const Place& p, uint32_t ref);
  void erase(const Place& p, uint32_t ref);
  const FlowKey& keyOf(uint32_t ref) const {
    const Flow& f = flows[ref >> 1];
    return (ref & 1) != 0 ? f.reply : f.orig;
  }
  uint64_t timeoutOf(const Flow& f) const;
  void pushEvictable(uint32_t idx);
  void unlinkEvictable(uint32_t idx);
};

Place Conntrack::Impl::placeOf(const FlowKey& key) const {
  uint64_t w[5];
  std::memcpy(w, &key, sizeof(w));
  // Three independent multiplies over the five key words, then one to merge.
  uint64_t a = foldedMultiply(w[0] ^ secret[0], w[1] ^ secret[1]);
  uint64_t b = foldedMultiply(w[2] ^ secret[2], w[3] ^ secret[3]);
  uint64_t c = foldedMultiply(w[4] ^ secret[4], secret[5]);
  uint64_t h = foldedMultiply(a ^ secret[6], b ^ c ^ secret[7]);
  Place p;
  p.b1 = static_cast<uint32_t>(h) & bucket_mask;
  p.b2 = static_cast<uint32_t>(h >> 32) & bucket_mask;
  // A different function of h than the bucket bits, so keys sharing a bucket
  // still differ in their signatures.
  uint16_t sig = static_cast<uint16_t>((h * 0x9e3779b97f4a7c15ULL) >> 48);
  p.sig = sig == 0 ? 1 : sig;
  return p;
}

uint32_t Conntrack::Impl::find(const FlowKey& key, const Place& p) const {
  const Bucket& first = buckets[p.b1];
  const Bucket& second = buckets[p.b2];
  __builtin_prefetch(&second);
  for (unsigned m = matchMask(first, p.sig); m != 0; m &= m - 1) {
    uint32_t ref = first.ref[std::countr_zero(m)];
    if (keysEqual(keyOf(ref), key)) return ref;
  }
  if (p.b2 == p.b1) return kNil;
  for (unsigned m = matchMask(second, p.sig); m != 0; m &= m - 1) {
    uint32_t ref = second.ref[std::countr_zero(m)];
    if (keysEqual(keyOf(ref), key)) return ref;
  }
  return kNil;
}

bool Conntrack::Impl::add(const Place& p, uint32_t ref) {
  Bucket& x = buckets[p.b1];
  Bucket& y = buckets[p.b2];
  unsigned free_x = matchMask(x, 0);
  unsigned free_y = matchMask(y, 0);
  if ((free_x | free_y) != 0) {
    bool into_x = std::popcount(free_x) >= std::popcount(free_y);
    Bucket& b = into_x ? x : y;
    unsigned i = static_cast<unsigned>(std::countr_zero(into_x ? free_x : free_y));
    b.sig[i] = p.sig;
    b.ref[i] = ref;
    return true;
  }
  // Both full: move one resident to its other bucket if that has room.
  const uint32_t ids[2] = {p.b1, p.b2};
  for (uint32_t id : ids) {
    Bucket& b = buckets[id];
    for (unsigned i = 0; i < kBucketEntries; i++) {
      Place q = placeOf(keyOf(b.ref[i]));
      uint32_t alt = q.b1 == id ? q.b2 : q.b1;
      if (alt == id) continue;
      Bucket& other = buckets[alt];
      unsigned free_other = matchMask(other, 0);
      if (free_other == 0) continue;
      unsigned j = static_cast<unsigned>(std::countr_zero(free_other));
      other.sig[j] = b.sig[i];
      other.ref[j] = b.ref[i];
      b.sig[i] = p.sig;
      b.ref[i] = ref;
      return true;
    }
  }
  return false;
}

void Conntrack::Impl::erase(const Place& p, uint32_t ref) {
  const uint32_t ids[2] = {p.b1, p.b2};
  for (uint32_t id : ids) {
    Bucket& b = buckets[id];
    for (unsigned m = matchMask(b, p.sig); m != 0; m &= m - 1) {
      unsigned i = static_cast<unsigned>(std::countr_zero(m));
      if (b.ref[i] == ref) {
        b.sig[i] = 0;
        return;
      }
    }
  }
  assert(false && "conntrack: indexed key not found");
}

uint64_t Conntrack::Impl::timeoutOf(const Flow& f) const {
  switch (f.tcp) {
    case TcpState::kNone:
      return timeouts.udp;
    case TcpState::kSynSent:
    case TcpState::kSynRecv:
      return timeouts.tcp_half_open;
    case TcpState::kEstablished:
      return timeouts.tcp_established;
    case TcpState::kFinWait:
      return timeouts.tcp_fin;
    case TcpState::kClosed:
      return timeouts.tcp_closed;
  }
  return timeouts.tcp_closed;
}

void Conntrack::Impl::pushEvictable(uint32_t idx) {
  links[idx] = Link{evict_tail, kNil};
  if (evict_tail == kNil) {
    evict_head = idx;
  } else {
    links[evict_tail].next = idx;
  }
  evict_tail = idx;
  live[idx] |= kEvictable;
  evictable_count++;
}

void Conntrack::Impl::unlinkEvictable(uint32_t idx) {
  Link l = links[idx];
  if (l.prev == kNil) {
    evict_head = l.next;
  } else {
    links[l.prev].next = l.next;
  }
  if (l.next == kNil) {
    evict_tail = l.prev;
  } else {
    links[l.next].prev = l.prev;
  }
  live[idx] &= static_cast<uint8_t>(~kEvictable);
  evictable_count--;
}

Result<std::unique_ptr<Conntrack>> Conntrack::create(uint32_t capacity,
                                                     const ConntrackTimeouts& timeouts) {
  if (capacity == 0) return Status::error("conntrack capacity must be at least 1");
  if (capacity > kMaxCapacity) {
    return Status::error("conntrack capacity " + std::to_string(capacity) + " exceeds " +
                         std::to_string(kMaxCapacity));
  }
  std::unique_ptr<Conntrack> ct(new (std::nothrow) Conntrack());
  if (ct == nullptr) return Status::error("conntrack: out of memory");
  ct->impl_.reset(new (std::nothrow) Impl());
  if (ct->impl_ == nullptr) return Status::error("conntrack: out of memory");
  Impl& im = *ct->impl_;
  im.timeouts = timeouts;
  // 2 keys per flow over 8 entries per bucket: capacity / 2 buckets keep the
  // load at or under one half.
  im.bucket_count = std::bit_ceil(std::max(kMinBuckets, (capacity + 1) / 2));
  im.bucket_mask = im.bucket_count - 1;
  // Zeroed, every page touched now rather than on the first packets.
  im.buckets = LargeArray<Bucket>::zeroed(im.bucket_count);
  im.flows = LargeArray<Flow>::zeroed(capacity);
  im.live = LargeArray<uint8_t>::zeroed(capacity);
  im.links = LargeArray<Link>::zeroed(capacity);
  im.free_ids = LargeArray<uint32_t>::zeroed(capacity);
  if (!im.buckets || !im.flows || !im.live || !im.links || !im.free_ids) {
    return Status::error("conntrack: cannot allocate " + std::to_string(capacity) + " flows");
  }
  // Popped from the top: index 0 first.
  for (uint32_t i = 0; i < capacity; i++) im.free_ids[i] = capacity - 1 - i;
  im.free_top = capacity;
  uint64_t seed = randomSeed(im.flows.get());
  for (uint64_t& s : im.secret) {
    seed += 0x9e3779b97f4a7c15ULL;
    s = foldedMultiply(seed ^ 0xa0761d6478bd642fULL, seed ^ 0xe7037ed1a0b428dbULL) | 1;
  }
  ct->capacity_ = capacity;
  ct->flows_ = im.flows.get();
  ct->live_ = im.live.get();
  return ct;
}

Conntrack::~Conntrack() = default;

Conntrack::Probe Conntrack::probe(const FlowKey& key) const {
  return impl_->placeOf(key);
}

void Conntrack::prefetchBuckets(const Probe& p) const {
  const Impl& im = *impl_;
  __builtin_prefetch(&im.buckets[p.b1]);
  __builtin_prefetch(&im.buckets[p.b2]);
}

void Conntrack::prefetchFlow(const Probe& p) const {
  const Impl& im = *impl_;
  // Only the signatures are read here (no key compare): the first candidate
  // is fetched, which is the flow itself in all but rare collisions.
  for (uint32_t b : {p.b1, p.b2}) {
    unsigned m = matchMask(im.buckets[b], p.sig);
    if (m != 0) {
      const Flow* f = &flows_[im.buckets[b].ref[std::countr_zero(m)] >> 1];
      __builtin_prefetch(f);
      __builtin_prefetch(reinterpret_cast<const uint8_t*>(f) + 64);
      return;
    }
  }
}

Conntrack::Hit Conntrack::lookup(const FlowKey& key, const Probe& p, uint64_t now) {
  Impl& im = *impl_;
  uint32_t ref = im.find(key, p);
  if (ref == kNil) return Hit{nullptr, false};
  Flow* flow = &flows_[ref >> 1];
  if (now >= flow->expires) {
    remove(flow);
    return Hit{nullptr, false};
  }
  return Hit{flow, (ref & 1) != 0};
}

Conntrack::Inserted Conntrack::insert(const FlowKey& orig, const FlowKey& reply, uint64_t now) {
  Impl& im = *impl_;
  if (keysEqual(orig, reply)) return Inserted{nullptr, InsertError::kExists, false};
  Place po = im.placeOf(orig);
  Place pr = im.placeOf(reply);
  // A live flow holding either key wins; an expired one makes way.
  auto taken = [&](const FlowKey& key, const Place& place) {
    uint32_t ref = im.find(key, place);
    if (ref == kNil) return false;
    Flow* old = &flows_[ref >> 1];
    if (now < old->expires) return true;
    remove(old);
    return false;
  };
  if (taken(orig, po) || taken(reply, pr)) {
    return Inserted{nullptr, InsertError::kExists, false};
  }
  return insertAbsent(orig, po, reply, pr, now);
}

Conntrack::Inserted Conntrack::insertAbsent(const FlowKey& orig, const Probe& po,
                                            const FlowKey& reply, const Probe& pr, uint64_t now) {
  Impl& im = *impl_;
  if (keysEqual(orig, reply)) return Inserted{nullptr, InsertError::kExists, false};
  assert(im.find(orig, po) == kNil && im.find(reply, pr) == kNil);

  bool evicted = false;
  if (size_ == capacity_ && sweep(now, kFullSweepBudget) == 0) {
    if (im.evict_head == kNil) return Inserted{nullptr, InsertError::kFull, false};
    Flow* oldest = &flows_[im.evict_head];
    evicted = now < oldest->expires;
    remove(oldest);
  }

  uint32_t idx = im.free_ids[--im.free_top];
  Flow* flow = &flows_[idx];
  *flow = Flow{};
  flow->orig = orig;
  flow->reply = reply;
  if (!im.add(po, idx << 1)) {
    im.free_ids[im.free_top++] = idx;
    return Inserted{nullptr, InsertError::kFull, evicted};
  }
  if (!im.add(pr, (idx << 1) | 1)) {
    im.erase(po, idx << 1);
    im.free_ids[im.free_top++] = idx;
    return Inserted{nullptr, InsertError::kFull, evicted};
  }
  live_[idx] = kLive;
  size_++;
  flow->tcp = orig.proto == kProtoTcp ? TcpState::kSynSent : TcpState::kNone;
  flow->expires = now + im.timeoutOf(*flow);
  if (flow->tcp == TcpState::kSynSent) im.pushEvictable(idx);
  return Inserted{flow, InsertError::kNone, evicted};
}

void Conntrack::update(Flow* flow, bool is_reply, uint8_t tcp_flags, uint64_t now) {
  Impl& im = *impl_;
  // Most segments are plain data or ACKs of an established flow: they only
  // refresh it, without touching the per-flow bits in another cache line.
  const bool plain = (tcp_flags & (kTcpSyn | kTcpFin | kTcpRst)) == 0;
  if (flow->orig.proto == kProtoTcp && !(plain && flow->tcp == TcpState::kEstablished)) {
    uint32_t idx = static_cast<uint32_t>(flow - flows_);
    uint8_t& bits = live_[idx];
    TcpState next = nextTcpState(flow->tcp, is_reply, tcp_flags, bits);
    bool listed = (bits & kEvictable) != 0;
    if (next == TcpState::kEstablished && listed) {
      im.unlinkEvictable(idx);
    } else if (next == TcpState::kSynSent && !listed) {
      im.pushEvictable(idx);  // a closed flow reopened by a new SYN
    }
    flow->tcp = next;
  }
  flow->expires = now + im.timeoutOf(*flow);
}

void Conntrack::remove(Flow* flow) {
  Impl& im = *impl_;
  if (remove_hook_ != nullptr) remove_hook_(remove_ctx_, *flow);
  uint32_t idx = static_cast<uint32_t>(flow - flows_);
  assert(idx < capacity_ && (live_[idx] & kLive) != 0);
  im.erase(im.placeOf(flow->orig), idx << 1);
  im.erase(im.placeOf(flow->reply), (idx << 1) | 1);
  if ((live_[idx] & kEvictable) != 0) im.unlinkEvictable(idx);
  live_[idx] = 0;
  im.free_ids[im.free_top++] = idx;
  size_--;
}

unsigned Conntrack::sweep(uint64_t now, unsigned budget) {
  Impl& im = *impl_;
  unsigned removed = 0;
  if (budget > capacity_) budget = capacity_;
  for (unsigned n = 0; n < budget; n++) {
    uint32_t i = im.sweep_cursor;
    im.sweep_cursor = i + 1 == capacity_ ? 0 : i + 1;
    if (live_[i] != 0 && now >= flows_[i].expires) {
      remove(&flows_[i]);
      removed++;
    }
  }
  return removed;
}

uint32_t Conntrack::halfOpen() const {
  return impl_->evictable_count;
}

size_t Conntrack::memoryBytes() const {
  size_t per_flow = sizeof(Flow) + sizeof(uint8_t) + sizeof(Link) + sizeof(uint32_t);
  return sizeof(Conntrack) + sizeof(Impl) + size_t{capacity_} * per_flow +
         size_t{impl_->bucket_count} * sizeof(Bucket);
}

}  // namespace sluice::dp
