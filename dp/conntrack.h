// Connection tracking: one table per worker, single-threaded, sized at start.
// Each flow is found from either direction (both keys are indexed) and stores
// its own translations, so a published service update never invalidates it.
// Pure C++: time is a number the caller passes in (TSC ticks in the worker,
// anything in tests); memory is allocated once, in create().
#pragma once

#include <cstdint>
#include <memory>

#include "dp/api/status.h"
#include "dp/nat.h"

namespace sluice::dp {

// A direction of a flow as seen on the wire: family, protocol, addresses
// and ports (network order). 40 bytes, compared as bytes: unused address
// bytes and the padding must be zero.
struct FlowKey {
  uint8_t family;  // 4 or 6
  uint8_t proto;   // 6 (TCP) or 17 (UDP)
  uint16_t sport;
  uint16_t dport;
  uint16_t pad;
  uint8_t src[16];
  uint8_t dst[16];
};
static_assert(sizeof(FlowKey) == 40);

enum class TcpState : uint8_t {
  kNone,         // UDP
  kSynSent,      // client SYN seen (half-open)
  kSynRecv,      // endpoint SYN-ACK seen (half-open)
  kEstablished,  // handshake completed
  kFinWait,      // a FIN seen
  kClosed,       // RST seen, or both FINs
};

// Timeouts in the caller's clock units.
struct ConntrackTimeouts {
  uint64_t tcp_half_open;  // kSynSent, kSynRecv
  uint64_t tcp_established;
  uint64_t tcp_fin;  // kFinWait
  uint64_t tcp_closed;
  uint64_t udp;
};

// Two cache lines, both read by every hit: the first holds the client's key
// (what an orig-direction lookup compares), the expiry and the ownership; the
// second the reply key and the TCP state. The translations need no room of
// their own: toward the endpoint a packet takes the reply key's addresses
// and ports reversed, toward the client the orig key's, so only their
// checksum deltas are stored.
struct alignas(64) Flow {
  FlowKey orig;  // client -> VIP
  uint64_t expires;
  // Which service and endpoint the flow was given, with generations so the
  // worker notices when either is gone (see dp/services.h).
  uint32_t service_slot;
  uint32_t service_gen;
  uint32_t endpoint_slot;
  uint32_t endpoint_gen;
  FlowKey reply;  // endpoint -> SNAT address (fullnat) or client (dnat)
  TcpState tcp;
  uint8_t user_flags;      // free for the caller
  NatDelta to_endpoint;    // checksum deltas of orig-direction packets' rewrite
  NatDelta to_client;      // and of reply-direction ones'
  uint32_t endpoint_stat;  // the endpoint's traffic cell (dp/traffic.h)
};
static_assert(sizeof(Flow) == 128);

// TCP flag bits as in the header's 13th byte.
inline constexpr uint8_t kTcpFin = 0x01, kTcpSyn = 0x02, kTcpRst = 0x04, kTcpAck = 0x10;

class Conntrack {
 public:
  // Room for `capacity` flows (each indexed twice). Allocates all memory now.
  static Result<std::unique_ptr<Conntrack>> create(uint32_t capacity,
                                                   const ConntrackTimeouts& timeouts);
  ~Conntrack();
  Conntrack(const Conntrack&) = delete;
  Conntrack& operator=(const Conntrack&) = delete;

  struct Hit {
    Flow* flow;     // nullptr on a miss
    bool is_reply;  // the key matched flow->reply
  };
  // Where a key lives in the index: its two candidate buckets and its
  // signature. Computed once per packet (one hash) and reused by the
  // prefetches and the lookup.
  struct Probe {
    uint32_t b1;
    uint32_t b2;
    uint16_t sig;
  };
  Probe probe(const FlowKey& key) const;
  // Burst helpers: call prefetchBuckets for every key of a burst, then
  // prefetchFlow for each, then lookup; the cache misses of the whole burst
  // then overlap instead of following one another. Hints only: no effect on
  // results.
  void prefetchBuckets(const Probe& p) const;
  void prefetchFlow(const Probe& p) const;

  // The live flow `key` belongs to. A flow found expired is removed and
  // reported as a miss. `p` must be probe(key).
  Hit lookup(const FlowKey& key, const Probe& p, uint64_t now);
  Hit lookup(const FlowKey& key, uint64_t now) { return lookup(key, probe(key), now); }

  enum class InsertError : uint8_t { kNone, kFull, kExists };
  struct Inserted {
    Flow* flow;  // nullptr when refused
    InsertError error;
    bool evicted_half_open;  // a half-open flow was evicted to make room
  };
  // Adds a flow under both keys, with state kSynSent (TCP) or kNone (UDP)
  // and the matching timeout. When full, the oldest half-open flow is
  // evicted; established flows never are, so then the insert is refused.
  // The caller fills the rest of the flow (rewrites, service, endpoint).
  Inserted insert(const FlowKey& orig, const FlowKey& reply, uint64_t now);
  // The worker's insert of a new flow: both keys just missed a lookup at
  // `now` (so neither is in the table), and their probes are at hand
  // (po = probe(orig), pr = probe(reply)).
  Inserted insertAbsent(const FlowKey& orig, const Probe& po, const FlowKey& reply, const Probe& pr,
                        uint64_t now);

  // Advances TCP state from a segment's flags (kTcp*) seen in one direction
  // and pushes the expiry out by the new state's timeout; for UDP refreshes.
  void update(Flow* flow, bool is_reply, uint8_t tcp_flags, uint64_t now);

  void remove(Flow* flow);

  // Called with every flow about to be removed, whatever removes it (remove,
  // an expired lookup, the sweep, an eviction). One hook; nullptr for none.
  using RemoveHook = void (*)(void* ctx, const Flow& flow);
  void setRemoveHook(RemoveHook hook, void* ctx) {
    remove_hook_ = hook;
    remove_ctx_ = ctx;
  }

  // Looks at up to `budget` flows (round robin over the table) and removes
  // the expired ones. Returns how many it removed.
  unsigned sweep(uint64_t now, unsigned budget);

  // Calls fn(const Flow&) for every live flow (control plane / tests; it
  // walks the whole table).
  template <class Fn>
  void forEach(Fn&& fn) const;
  // The same over table slots [from, from + budget), for a walk spread over
  // many calls; returns where the next call starts (capacity() at the end).
  template <class Fn>
  uint32_t forEachFrom(uint32_t from, uint32_t budget, Fn&& fn) const;

  uint32_t size() const { return size_; }
  // TCP flows before their handshake completed (the evictable ones).
  uint32_t halfOpen() const;
  uint32_t capacity() const { return capacity_; }
  // Bytes allocated for flows and index together.
  size_t memoryBytes() const;

 private:
  Conntrack() = default;
  // The index, the free list and the half-open queue live in Impl (conntrack.cc).
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint32_t size_ = 0;
  uint32_t capacity_ = 0;
  Flow* flows_ = nullptr;
  uint8_t* live_ = nullptr;  // per flow: 0 when free, else state bits (conntrack.cc)
  RemoveHook remove_hook_ = nullptr;
  void* remove_ctx_ = nullptr;
};

template <class Fn>
void Conntrack::forEach(Fn&& fn) const {
  for (uint32_t i = 0; i < capacity_; i++) {
    if (live_[i] != 0) fn(flows_[i]);
  }
}

template <class Fn>
uint32_t Conntrack::forEachFrom(uint32_t from, uint32_t budget, Fn&& fn) const {
  uint32_t end = budget >= capacity_ - from ? capacity_ : from + budget;
  for (uint32_t i = from; i < end; i++) {
    if (live_[i] != 0) fn(flows_[i]);
  }
  return end;
}

}  // namespace sluice::dp
