// TCP segments for sluice-pktgen: the client's segments, their parser, and
// the pod's answers, made by a server that keeps no per-flow state. Pure: no
// DPDK. Builders write into memory the caller owns; the parser never reads
// past the span it is given.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "dp/api/types.h"
#include "tools/pktgen/frame.h"

namespace sluice::pktgen {

inline constexpr size_t kTcpLen = 20;  // without options
// NOP, NOP, kind 8 length 10, TSval, TSecr (RFC 7323 appendix A layout).
inline constexpr size_t kTcpTimestampsLen = 12;

inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;

// The header fields of a segment beyond its tuple. Every segment pktgen
// builds carries the timestamps option: the client puts its flow index in
// TSval and the pod echoes it in TSecr, so an answer without payload (SYN-ACK,
// FIN-ACK) still names its flow, behind any NAT and with no lookup table.
struct TcpFields {
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  uint16_t window = 65535;
  uint32_t ts_val = 0;
  uint32_t ts_ecr = 0;
  friend bool operator==(const TcpFields&, const TcpFields&) = default;
};

// The length of a frame built by buildTcpSegment with `payload_len` bytes of
// payload.
size_t tcpFrameLen(Family family, size_t payload_len);

// Builds a segment into out[0, tcpFrameLen(family, payload_len)): headers
// with the timestamps option, then payload_len bytes of payload: `probe`
// (when given) followed by zero padding. IPv4 header and TCP checksums set.
// Returns the frame length, or 0 when out is too small, the tuple mixes
// families, a probe does not fit in payload_len (or writeProbe refuses it),
// or the IP length field cannot hold the segment.
size_t buildTcpSegment(std::span<uint8_t> out, const MacAddr& src_mac, const MacAddr& dst_mac,
                       const UdpTuple& tuple, const TcpFields& tcp, const Probe* probe,
                       size_t payload_len);

// Where the parts of a received segment are, its tuple and header fields.
struct TcpView {
  UdpTuple tuple;
  TcpFields fields;  // ts_val and ts_ecr are 0 without the option
  bool has_timestamps = false;
  size_t l3 = 0;          // offset of the IP header
  size_t l4 = 0;          // offset of the TCP header
  size_t timestamps = 0;  // offset of TSval when has_timestamps
  size_t payload = 0;     // offset of the payload (after the options)
  size_t payload_len = 0;
};

// Parses an untagged Ethernet frame holding IPv4 (not a fragment) or IPv6
// (TCP as the first next header) and TCP whose data offset fits the IP
// packet and whose options are well formed (each inside the header, lengths
// of at least 2). Checksums are not verified.
std::optional<TcpView> parseTcp(std::span<const uint8_t> frame);

// Recomputes the IPv4 header checksum (IPv4 only) and the TCP checksum of
// the segment `view` describes.
void setTcpChecksums(std::span<uint8_t> frame, const TcpView& view);

// The initial sequence number the pod answers a SYN with: a hash of the
// tuple as the pod sees it and the client's ISN. Later segments of the
// connection carry what the pod needs (the client acks it), so the pod keeps
// nothing per flow.
uint32_t podIsn(const UdpTuple& tuple, uint32_t client_isn);

// Turns the segment `view` describes into the pod's answer in place, as a
// server would that remembers nothing between segments:
//   SYN          -> SYN-ACK: seq podIsn, ack = seq + 1, no payload
//   FIN          -> FIN-ACK: seq = their ack, ack = their seq + payload + 1,
//                   no payload
//   ACK + data   -> ACK echoing the data: seq = their ack, ack = their seq +
//                   payload; a probe in the payload is stamped with `pod` and
//                   the address the segment was sent to (as answerUdpInPlace)
//   RST, a bare ACK, a SYN-ACK, a segment without ACK -> no answer
// MACs, addresses and ports are swapped (source MAC = own_mac), TSecr = their
// TSval, checksums recomputed. Returns the answer's frame length (at most the
// frame's: answers without payload drop any, padded with zeros to the
// Ethernet minimum of 60 when the frame has room), or 0 for no answer.
size_t answerTcpInPlace(std::span<uint8_t> frame, const TcpView& view, const MacAddr& own_mac,
                        uint16_t pod);

}  // namespace sluice::pktgen
