#include "tools/pktgen/tcp_frame.h"

#include <cstring>

#include "dp/eth.h"

namespace sluice::pktgen {
namespace {

using dp::loadBe16;
using dp::loadBe32;
using dp::storeBe16;
using dp::storeBe32;

constexpr uint8_t kOptEnd = 0;
constexpr uint8_t kOptNop = 1;
constexpr uint8_t kOptTimestamps = 8;
constexpr uint8_t kOptTimestampsLen = 10;
constexpr uint16_t kWindow = 65535;
constexpr size_t kMinEthFrame = 60;  // without FCS

IpView ipOf(const TcpView& view) {
  return {view.tuple.src, view.tuple.dst, view.l3, view.l4, view.payload + view.payload_len};
}

void writeTcpHeader(uint8_t* tcp, uint16_t sport, uint16_t dport, const TcpFields& f) {
  storeBe16(tcp, sport);
  storeBe16(tcp + 2, dport);
  storeBe32(tcp + 4, f.seq);
  storeBe32(tcp + 8, f.ack);
  tcp[13] = f.flags;
  storeBe16(tcp + 14, f.window);
  storeBe16(tcp + 16, 0);  // checksum, set last
  storeBe16(tcp + 18, 0);  // urgent pointer
}

// 32-bit finalizer of MurmurHash3: every input bit reaches every output bit.
uint32_t mix32(uint32_t h) {
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}

}  // namespace

size_t tcpFrameLen(Family family, size_t payload_len) {
  return kEthLen + ipHeaderLen(family) + kTcpLen + kTcpTimestampsLen + payload_len;
}

size_t buildTcpSegment(std::span<uint8_t> out, const MacAddr& src_mac, const MacAddr& dst_mac,
                       const UdpTuple& tuple, const TcpFields& tcp, const Probe* probe,
                       size_t payload_len) {
  const Family family = tuple.src.family;
  const size_t l4_len = kTcpLen + kTcpTimestampsLen + payload_len;
  // The IP length field: IPv4 counts its header, IPv6 does not.
  const size_t ip_length_field = family == Family::kV4 ? kIpv4Len + l4_len : l4_len;
  if (tuple.dst.family != family || ip_length_field > 0xffff ||
      tcpFrameLen(family, payload_len) > out.size() ||
      (probe != nullptr && payload_len < probeLen(family))) {
    return 0;
  }
  uint8_t* p = out.data();
  const size_t l4 = writeEthIp(p, src_mac, dst_mac, tuple.src, tuple.dst, kProtoTcp, l4_len);
  uint8_t* t = p + l4;
  writeTcpHeader(t, tuple.sport, tuple.dport, tcp);
  t[12] = static_cast<uint8_t>(((kTcpLen + kTcpTimestampsLen) / 4) << 4);
  uint8_t* opt = t + kTcpLen;
  opt[0] = kOptNop;
  opt[1] = kOptNop;
  opt[2] = kOptTimestamps;
  opt[3] = kOptTimestampsLen;
  storeBe32(opt + 4, tcp.ts_val);
  storeBe32(opt + 8, tcp.ts_ecr);
  uint8_t* payload = opt + kTcpTimestampsLen;
  std::memset(payload, 0, payload_len);
  if (probe != nullptr && !writeProbe({payload, payload_len}, family, *probe)) return 0;

  TcpView view;
  view.tuple = tuple;
  view.l3 = kEthLen;
  view.l4 = l4;
  view.payload = l4 + kTcpLen + kTcpTimestampsLen;
  view.payload_len = payload_len;
  setTcpChecksums(out, view);
  return view.payload + payload_len;
}

std::optional<TcpView> parseTcp(std::span<const uint8_t> frame) {
  auto ip = parseIp(frame, kProtoTcp);
  if (!ip || ip->end - ip->l4 < kTcpLen) return std::nullopt;
  const uint8_t* tcp = frame.data() + ip->l4;
  const size_t header_len = static_cast<size_t>(tcp[12] >> 4) * 4;
  if (header_len < kTcpLen || header_len > ip->end - ip->l4) return std::nullopt;

  TcpView view;
  view.tuple = {ip->src, ip->dst, loadBe16(tcp), loadBe16(tcp + 2)};
  view.fields.seq = loadBe32(tcp + 4);
  view.fields.ack = loadBe32(tcp + 8);
  view.fields.flags = tcp[13];
  view.fields.window = loadBe16(tcp + 14);
  for (size_t i = kTcpLen; i < header_len;) {
    const uint8_t kind = tcp[i];
    if (kind == kOptEnd) break;
    if (kind == kOptNop) {
      ++i;
      continue;
    }
    if (header_len - i < 2) return std::nullopt;
    const size_t len = tcp[i + 1];
    if (len < 2 || len > header_len - i) return std::nullopt;
    if (kind == kOptTimestamps) {
      if (len != kOptTimestampsLen) return std::nullopt;
      view.has_timestamps = true;
      view.timestamps = ip->l4 + i + 2;
      view.fields.ts_val = loadBe32(tcp + i + 2);
      view.fields.ts_ecr = loadBe32(tcp + i + 6);
    }
    i += len;
  }
  view.l3 = ip->l3;
  view.l4 = ip->l4;
  view.payload = ip->l4 + header_len;
  view.payload_len = ip->end - view.payload;
  return view;
}

void setTcpChecksums(std::span<uint8_t> frame, const TcpView& view) {
  uint8_t* tcp = frame.data() + view.l4;
  storeBe16(tcp + 16, 0);
  const size_t l4_len = view.payload + view.payload_len - view.l4;
  storeBe16(tcp + 16, l4Checksum(frame, ipOf(view), kProtoTcp, l4_len));
}

uint32_t podIsn(const UdpTuple& tuple, uint32_t client_isn) {
  uint32_t h = mix32(client_isn ^ 0x9e3779b9u);
  for (unsigned i = 0; i < tuple.src.size(); i += 4) {
    h = mix32(h ^ loadBe32(tuple.src.bytes.data() + i));
    h = mix32(h ^ loadBe32(tuple.dst.bytes.data() + i));
  }
  return mix32(h ^ (static_cast<uint32_t>(tuple.sport) << 16 | tuple.dport));
}

size_t answerTcpInPlace(std::span<uint8_t> frame, const TcpView& view, const MacAddr& own_mac,
                        uint16_t pod) {
  const TcpFields& in = view.fields;
  TcpFields out;
  out.window = kWindow;
  // Echo both: the pod has no clock of its own worth telling.
  out.ts_val = in.ts_val;
  out.ts_ecr = in.ts_val;
  size_t payload_len = 0;  // of the answer
  if ((in.flags & kTcpRst) != 0) return 0;
  if ((in.flags & kTcpSyn) != 0) {
    if ((in.flags & kTcpAck) != 0) return 0;
    out.flags = kTcpSyn | kTcpAck;
    out.seq = podIsn(view.tuple, in.seq);
    out.ack = in.seq + 1;
  } else if ((in.flags & kTcpAck) == 0) {
    return 0;
  } else if ((in.flags & kTcpFin) != 0) {
    out.flags = kTcpFin | kTcpAck;
    out.seq = in.ack;
    out.ack = in.seq + static_cast<uint32_t>(view.payload_len) + 1;
  } else if (view.payload_len != 0) {
    out.flags = kTcpAck | kTcpPsh;
    out.seq = in.ack;
    out.ack = in.seq + static_cast<uint32_t>(view.payload_len);
    payload_len = view.payload_len;
    std::span<uint8_t> payload = frame.subspan(view.payload, view.payload_len);
    const Family family = view.tuple.src.family;
    if (auto probe = readProbe(payload, family)) {
      probe->pod = pod;
      probe->endpoint = view.tuple.dst;
      writeProbe(payload, family, *probe);
    }
  } else {
    return 0;  // a bare ACK asks for nothing
  }

  reverseEthIpInPlace(frame, ipOf(view), own_mac);
  uint8_t* tcp = frame.data() + view.l4;
  const uint8_t header_word = tcp[12];  // data offset kept: options stay where they are
  writeTcpHeader(tcp, view.tuple.dport, view.tuple.sport, out);
  tcp[12] = header_word;
  if (view.has_timestamps) {
    storeBe32(frame.data() + view.timestamps, out.ts_val);
    storeBe32(frame.data() + view.timestamps + 4, out.ts_ecr);
  }
  uint8_t* ip = frame.data() + view.l3;
  const size_t l4_len = view.payload - view.l4 + payload_len;
  if (view.tuple.src.isV4()) {
    storeBe16(ip + 2, static_cast<uint16_t>(view.l4 - view.l3 + l4_len));
  } else {
    storeBe16(ip + 4, static_cast<uint16_t>(l4_len));
  }
  TcpView answered = view;
  answered.tuple = view.tuple.reversed();
  answered.fields = out;
  answered.payload_len = payload_len;
  setTcpChecksums(frame, answered);

  size_t frame_len = view.payload + payload_len;
  if (frame_len < kMinEthFrame && frame.size() >= kMinEthFrame) {
    std::memset(frame.data() + frame_len, 0, kMinEthFrame - frame_len);
    frame_len = kMinEthFrame;
  }
  return frame_len;
}

}  // namespace sluice::pktgen
