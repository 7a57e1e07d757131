#include "tests/e2e/ring_harness.h"

#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include <cstring>
#include <stdexcept>

namespace sluice::test {
namespace {

void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
void put(Bytes& b, const uint8_t* p, size_t n) {
  b.insert(b.end(), p, p + n);
}
void set16(Bytes& b, size_t off, uint16_t v) {
  b[off] = static_cast<uint8_t>(v >> 8);
  b[off + 1] = static_cast<uint8_t>(v);
}

Bytes ipv4Header(const IpAddr& src, const IpAddr& dst, uint8_t proto, size_t payload_len) {
  Bytes h = {0x45, 0, 0, 0, 0x12, 0x34, 0x40, 0, 64, proto, 0, 0};
  set16(h, 2, static_cast<uint16_t>(20 + payload_len));
  put(h, src.bytes.data(), 4);
  put(h, dst.bytes.data(), 4);
  set16(h, 10, refChecksum(h.data(), 20));
  return h;
}

Bytes ipv6Header(const IpAddr& src, const IpAddr& dst, uint8_t proto, size_t payload_len,
                 uint8_t hop_limit) {
  Bytes h = {0x60, 0, 0, 0};
  put16(h, static_cast<uint16_t>(payload_len));
  h.push_back(proto);
  h.push_back(hop_limit);
  put(h, src.bytes.data(), 16);
  put(h, dst.bytes.data(), 16);
  return h;
}

uint32_t pseudoV6(const uint8_t* ip, size_t len, uint8_t proto) {
  uint32_t sum = 0;
  for (int i = 8; i < 40; i += 2) sum += static_cast<uint32_t>(ip[i] << 8 | ip[i + 1]);
  sum += static_cast<uint32_t>(len >> 16) + static_cast<uint32_t>(len & 0xffff) + proto;
  return sum;
}

// Finishes an ICMPv6 message at the end of `frame` (IPv6 header at l3).
void finishIcmp6(Bytes& frame, size_t l3) {
  size_t len = frame.size() - l3 - 40;
  set16(frame, l3 + 42, 0);
  uint32_t sum = pseudoV6(frame.data() + l3, len, 58);
  set16(frame, l3 + 42, refChecksum(frame.data() + l3 + 40, len, sum));
}

}  // namespace

uint64_t eventTotal(const std::vector<dp::WorkerCounterSnapshot>& workers, dp::WorkerEvent e) {
  uint64_t sum = 0;
  for (const auto& w : workers) sum += w.events[static_cast<size_t>(e)];
  return sum;
}

uint64_t dropTotal(const std::vector<dp::WorkerCounterSnapshot>& workers, dp::Drop d) {
  uint64_t sum = 0;
  for (const auto& w : workers) sum += w.drops[static_cast<size_t>(d)];
  return sum;
}

MacAddr mac(const char* text) {
  return *MacAddr::parse(text);
}
IpAddr ip(const char* text) {
  return *IpAddr::parse(text);
}

uint16_t refChecksum(const uint8_t* data, size_t len, uint32_t sum) {
  for (size_t i = 0; i + 1 < len; i += 2) sum += static_cast<uint32_t>(data[i] << 8 | data[i + 1]);
  if (len % 2 != 0) sum += static_cast<uint32_t>(data[len - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

bool ipv4HeaderValid(const uint8_t* ip) {
  return refChecksum(ip, (ip[0] & 0xf) * 4) == 0;
}

bool icmpV4Valid(const uint8_t* ip) {
  size_t ihl = (ip[0] & 0xf) * 4;
  size_t total = static_cast<size_t>(ip[2] << 8 | ip[3]);
  return refChecksum(ip + ihl, total - ihl) == 0;
}

bool icmpV6Valid(const uint8_t* ip) {
  size_t len = static_cast<size_t>(ip[4] << 8 | ip[5]);
  return refChecksum(ip + 40, len, pseudoV6(ip, len, 58)) == 0;
}

Bytes ethHeader(const MacAddr& dst, const MacAddr& src, uint16_t ethertype, uint16_t vlan) {
  Bytes b;
  put(b, dst.bytes.data(), 6);
  put(b, src.bytes.data(), 6);
  if (vlan != 0) {
    put16(b, 0x8100);
    put16(b, vlan);
  }
  put16(b, ethertype);
  return b;
}

Bytes arpFrame(uint16_t op, const MacAddr& eth_dst, const MacAddr& sha, const IpAddr& spa,
               const MacAddr& tha, const IpAddr& tpa, uint16_t vlan) {
  Bytes b = ethHeader(eth_dst, sha, 0x0806, vlan);
  put16(b, 1);
  put16(b, 0x0800);
  b.push_back(6);
  b.push_back(4);
  put16(b, op);
  put(b, sha.bytes.data(), 6);
  put(b, spa.bytes.data(), 4);
  put(b, tha.bytes.data(), 6);
  put(b, tpa.bytes.data(), 4);
  b.resize(60, 0);  // Ethernet minimum, as a NIC would deliver it
  return b;
}

Bytes icmpEchoV4(const MacAddr& dst_mac, const MacAddr& src_mac, const IpAddr& src,
                 const IpAddr& dst, uint16_t id, uint16_t seq, size_t payload_len) {
  Bytes icmp = {8, 0, 0, 0};
  put16(icmp, id);
  put16(icmp, seq);
  for (size_t i = 0; i < payload_len; i++) icmp.push_back(static_cast<uint8_t>(i * 7 + 1));
  set16(icmp, 2, refChecksum(icmp.data(), icmp.size()));
  Bytes b = ethHeader(dst_mac, src_mac, 0x0800);
  Bytes h = ipv4Header(src, dst, 1, icmp.size());
  b.insert(b.end(), h.begin(), h.end());
  b.insert(b.end(), icmp.begin(), icmp.end());
  if (b.size() < 60) b.resize(60, 0);
  return b;
}

Bytes icmpEchoV6(const MacAddr& dst_mac, const MacAddr& src_mac, const IpAddr& src,
                 const IpAddr& dst, uint16_t id, uint16_t seq, size_t payload_len) {
  Bytes icmp = {128, 0, 0, 0};
  put16(icmp, id);
  put16(icmp, seq);
  for (size_t i = 0; i < payload_len; i++) icmp.push_back(static_cast<uint8_t>(i * 3 + 5));
  Bytes b = ethHeader(dst_mac, src_mac, 0x86dd);
  Bytes h = ipv6Header(src, dst, 58, icmp.size(), 64);
  b.insert(b.end(), h.begin(), h.end());
  b.insert(b.end(), icmp.begin(), icmp.end());
  finishIcmp6(b, 14);
  return b;
}

Bytes neighborSolicit(const MacAddr& src_mac, const IpAddr& src, const IpAddr& target) {
  IpAddr group = ip("ff02::1:ff00:0");
  std::memcpy(group.bytes.data() + 13, target.bytes.data() + 13, 3);
  MacAddr group_mac{{0x33, 0x33, 0xff, target.bytes[13], target.bytes[14], target.bytes[15]}};
  Bytes icmp = {135, 0, 0, 0, 0, 0, 0, 0};
  put(icmp, target.bytes.data(), 16);
  if (!src.isUnspecified()) {
    icmp.push_back(1);
    icmp.push_back(1);
    put(icmp, src_mac.bytes.data(), 6);
  }
  Bytes b = ethHeader(group_mac, src_mac, 0x86dd);
  Bytes h = ipv6Header(src, group, 58, icmp.size(), 255);
  b.insert(b.end(), h.begin(), h.end());
  b.insert(b.end(), icmp.begin(), icmp.end());
  finishIcmp6(b, 14);
  return b;
}

Bytes neighborAdvert(const MacAddr& dst_mac, const MacAddr& src_mac, const IpAddr& src,
                     const IpAddr& dst, const IpAddr& target, const MacAddr& target_mac) {
  Bytes icmp = {136, 0, 0, 0, 0x60, 0, 0, 0};
  put(icmp, target.bytes.data(), 16);
  icmp.push_back(2);
  icmp.push_back(1);
  put(icmp, target_mac.bytes.data(), 6);
  Bytes b = ethHeader(dst_mac, src_mac, 0x86dd);
  Bytes h = ipv6Header(src, dst, 58, icmp.size(), 255);
  b.insert(b.end(), h.begin(), h.end());
  b.insert(b.end(), icmp.begin(), icmp.end());
  finishIcmp6(b, 14);
  return b;
}

namespace {

uint32_t pseudoSum(const IpAddr& src, const IpAddr& dst, uint8_t proto, size_t len) {
  uint32_t sum = 0;
  for (unsigned i = 0; i < src.size(); i += 2) {
    sum += static_cast<uint32_t>(src.bytes[i] << 8 | src.bytes[i + 1]);
    sum += static_cast<uint32_t>(dst.bytes[i] << 8 | dst.bytes[i + 1]);
  }
  return sum + proto + static_cast<uint32_t>(len >> 16) + static_cast<uint32_t>(len & 0xffff);
}

Bytes ipFrame(const MacAddr& dst_mac, const MacAddr& src_mac, const IpAddr& src, const IpAddr& dst,
              uint8_t proto, Bytes l4, size_t csum_off, uint8_t ttl) {
  uint16_t c = refChecksum(l4.data(), l4.size(), pseudoSum(src, dst, proto, l4.size()));
  if (proto == 17 && c == 0) c = 0xffff;
  set16(l4, csum_off, c);
  Bytes b = ethHeader(dst_mac, src_mac, src.isV4() ? 0x0800 : 0x86dd);
  Bytes h = src.isV4() ? ipv4Header(src, dst, proto, l4.size())
                       : ipv6Header(src, dst, proto, l4.size(), ttl);
  if (src.isV4()) {
    h[8] = ttl;
    set16(h, 10, 0);
    set16(h, 10, refChecksum(h.data(), 20));
  }
  b.insert(b.end(), h.begin(), h.end());
  b.insert(b.end(), l4.begin(), l4.end());
  if (b.size() < 60) b.resize(60, 0);
  return b;
}

uint32_t get32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) << 24 | static_cast<uint32_t>(p[1]) << 16 |
         static_cast<uint32_t>(p[2]) << 8 | p[3];
}

}  // namespace

Bytes tcpFrame(const MacAddr& dst_mac, const MacAddr& src_mac, const IpAddr& src, const IpAddr& dst,
               const L4Spec& l4) {
  Bytes t;
  put16(t, l4.sport);
  put16(t, l4.dport);
  for (int i = 24; i >= 0; i -= 8) t.push_back(static_cast<uint8_t>(l4.seq >> i));
  for (int i = 24; i >= 0; i -= 8) t.push_back(static_cast<uint8_t>(l4.ack >> i));
  t.push_back(0x50);
  t.push_back(l4.flags);
  put16(t, 65535);
  put16(t, 0);
  put16(t, 0);
  for (size_t i = 0; i < l4.payload; i++) t.push_back(static_cast<uint8_t>(i * 13 + 7));
  return ipFrame(dst_mac, src_mac, src, dst, 6, t, 16, l4.ttl);
}

Bytes udpFrame(const MacAddr& dst_mac, const MacAddr& src_mac, const IpAddr& src, const IpAddr& dst,
               const L4Spec& l4) {
  Bytes u;
  put16(u, l4.sport);
  put16(u, l4.dport);
  put16(u, static_cast<uint16_t>(8 + l4.payload));
  put16(u, 0);
  for (size_t i = 0; i < l4.payload; i++) u.push_back(static_cast<uint8_t>(i * 5 + 3));
  return ipFrame(dst_mac, src_mac, src, dst, 17, u, 6, l4.ttl);
}

Decoded decode(const Bytes& f) {
  Decoded d;
  std::memcpy(d.eth_dst.bytes.data(), f.data(), 6);
  const uint8_t* ip = f.data() + 14;
  const uint8_t* l4;
  size_t l4_len;
  if ((ip[0] >> 4) == 4) {
    d.src.family = d.dst.family = Family::kV4;
    std::memcpy(d.src.bytes.data(), ip + 12, 4);
    std::memcpy(d.dst.bytes.data(), ip + 16, 4);
    d.proto = ip[9];
    d.ttl = ip[8];
    d.ip_checksum_ok = ipv4HeaderValid(ip);
    size_t ihl = (ip[0] & 0xf) * 4u;
    l4 = ip + ihl;
    l4_len = static_cast<size_t>(ip[2] << 8 | ip[3]) - ihl;
  } else {
    d.src.family = d.dst.family = Family::kV6;
    std::memcpy(d.src.bytes.data(), ip + 8, 16);
    std::memcpy(d.dst.bytes.data(), ip + 24, 16);
    d.proto = ip[6];
    d.ttl = ip[7];
    d.ip_checksum_ok = true;
    l4 = ip + 40;
    l4_len = static_cast<size_t>(ip[4] << 8 | ip[5]);
  }
  d.sport = static_cast<uint16_t>(l4[0] << 8 | l4[1]);
  d.dport = static_cast<uint16_t>(l4[2] << 8 | l4[3]);
  d.l4_checksum_ok = refChecksum(l4, l4_len, pseudoSum(d.src, d.dst, d.proto, l4_len)) == 0;
  if (d.proto == 6) {
    d.seq = get32(l4 + 4);
    d.ack = get32(l4 + 8);
    d.flags = l4[13];
    d.payload = l4_len - (l4[12] >> 4) * 4u;
  } else {
    d.payload = l4_len - 8;
  }
  return d;
}

RingPort::RingPort(const std::string& name, unsigned rx_queues, unsigned tx_queues) : name_(name) {
  for (unsigned i = 0; i < rx_queues; i++) {
    rx_.push_back(rte_ring_create((name + "_rx" + std::to_string(i)).c_str(), 1024, 0,
                                  RING_F_SP_ENQ | RING_F_SC_DEQ));
  }
  for (unsigned i = 0; i < tx_queues; i++) {
    tx_.push_back(rte_ring_create((name + "_tx" + std::to_string(i)).c_str(), 1024, 0,
                                  RING_F_SP_ENQ | RING_F_SC_DEQ));
  }
  for (auto* r : rx_) {
    if (r == nullptr) throw std::runtime_error("rte_ring_create failed");
  }
  for (auto* r : tx_) {
    if (r == nullptr) throw std::runtime_error("rte_ring_create failed");
  }
  int port_id = rte_eth_from_rings(name.c_str(), rx_.data(), rx_queues, tx_.data(), tx_queues, 0);
  if (port_id < 0) throw std::runtime_error("rte_eth_from_rings failed");
  // The ring driver registers the port under its own name ("net_ring_" + name).
  char ethdev[RTE_ETH_NAME_MAX_LEN];
  if (rte_eth_dev_get_name_by_port(static_cast<uint16_t>(port_id), ethdev) != 0) {
    throw std::runtime_error("no name for ring port");
  }
  ethdev_name_ = ethdev;
  pool_ =
      rte_pktmbuf_pool_create((name + "_pool").c_str(), 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, 0);
  if (pool_ == nullptr) throw std::runtime_error("test mempool failed");
}

RingPort::~RingPort() {
  collect();
  for (auto* r : rx_) {
    rte_mbuf* m;
    while (rte_ring_dequeue(r, reinterpret_cast<void**>(&m)) == 0) rte_pktmbuf_free(m);
  }
  uint16_t port_id;
  if (rte_eth_dev_get_port_by_name(ethdev_name_.c_str(), &port_id) == 0) rte_eth_dev_close(port_id);
  for (auto* r : rx_) rte_ring_free(r);
  for (auto* r : tx_) rte_ring_free(r);
  rte_mempool_free(pool_);
}

void RingPort::inject(const Bytes& frame, unsigned queue) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) throw std::runtime_error("test mempool empty");
  auto* p = rte_pktmbuf_append(m, static_cast<uint16_t>(frame.size()));
  std::memcpy(p, frame.data(), frame.size());
  if (rte_ring_enqueue(rx_.at(queue), m) != 0) throw std::runtime_error("rx ring full");
}

void RingPort::injectChained(const Bytes& frame, size_t split) {
  rte_mbuf* head = rte_pktmbuf_alloc(pool_);
  rte_mbuf* tail = rte_pktmbuf_alloc(pool_);
  if (head == nullptr || tail == nullptr) throw std::runtime_error("test mempool empty");
  std::memcpy(rte_pktmbuf_append(head, static_cast<uint16_t>(split)), frame.data(), split);
  std::memcpy(rte_pktmbuf_append(tail, static_cast<uint16_t>(frame.size() - split)),
              frame.data() + split, frame.size() - split);
  if (rte_pktmbuf_chain(head, tail) != 0) throw std::runtime_error("cannot chain");
  if (rte_ring_enqueue(rx_.at(0), head) != 0) throw std::runtime_error("rx ring full");
}

unsigned RingPort::mbufsInUse() const {
  return rte_mempool_in_use_count(pool_);
}

std::vector<RingPort::Sent> RingPort::collect() {
  std::vector<Sent> out;
  for (unsigned q = 0; q < tx_.size(); q++) {
    rte_mbuf* m;
    while (rte_ring_dequeue(tx_[q], reinterpret_cast<void**>(&m)) == 0) {
      const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
      out.push_back({Bytes(p, p + rte_pktmbuf_data_len(m)), q, m->ol_flags});
      rte_pktmbuf_free(m);
    }
  }
  return out;
}

}  // namespace sluice::test
