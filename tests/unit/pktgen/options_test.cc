#include "tools/pktgen/options.h"

#include <gtest/gtest.h>

namespace sluice::pktgen {
namespace {

Result<Options> parse(std::vector<std::string> args) {
  return parseOptions(args);
}

std::string errorOf(std::vector<std::string> args) {
  auto r = parseOptions(args);
  return r ? std::string("(parsed)") : r.status().message();
}

TEST(Options, Client) {
  auto o = parse({"--role",
                  "client",
                  "--src",
                  "192.168.80.2-192.168.80.9",
                  "--src=fd80::2",
                  "--sport",
                  "2000-2999",
                  "--dst",
                  "10.96.0.10:53",
                  "--dst",
                  "[fd00::10]:53",
                  "--flows",
                  "300",
                  "--rate",
                  "10000",
                  "--duration",
                  "2.5",
                  "--size",
                  "128",
                  "--gateway",
                  "192.168.80.1",
                  "--json",
                  "/tmp/x.json",
                  "--idle-sleep-us",
                  "50"});
  ASSERT_TRUE(o) << o.status().message();
  EXPECT_EQ(o->role, Role::kClient);
  ASSERT_EQ(o->sources.size(), 2u);
  EXPECT_EQ(o->sources[0].count, 8u);
  EXPECT_EQ(o->source_ports.first, 2000);
  EXPECT_EQ(o->destinations.size(), 2u);
  EXPECT_EQ(o->flows, 300u);
  EXPECT_EQ(o->rate_pps, 10000u);
  EXPECT_DOUBLE_EQ(o->duration_s, 2.5);
  EXPECT_EQ(o->frame_len, 124u);  // --size counts the FCS
  EXPECT_EQ(o->gateway, IpAddr::parse("192.168.80.1"));
  EXPECT_EQ(o->json_path, "/tmp/x.json");
  EXPECT_EQ(o->idle_sleep_us, 50u);
}

// --packets bounds the requests; the default 0 leaves only --duration.
TEST(Options, Packets) {
  const std::vector<std::string> base = {"--src",         "10.0.0.2",      "--dst",
                                         "10.96.0.10:53", "--gateway-mac", "02:00:00:00:00:01"};
  auto o = parse(base);
  ASSERT_TRUE(o) << o.status().message();
  EXPECT_EQ(o->packets, 0u);
  std::vector<std::string> args = base;
  args.insert(args.end(), {"--packets", "10000000"});
  o = parse(args);
  ASSERT_TRUE(o) << o.status().message();
  EXPECT_EQ(o->packets, 10'000'000u);
  args.back() = "-1";
  EXPECT_EQ(errorOf(args), "--packets: bad value '-1'");
}

TEST(Options, Pod) {
  auto o = parse({"--role", "pod", "--pod-address", "10.80.0.11,10.80.0.12", "--pod-address",
                  "fd80:1::11", "--pod-id", "7", "--duration", "0"});
  ASSERT_TRUE(o) << o.status().message();
  EXPECT_EQ(o->role, Role::kPod);
  ASSERT_EQ(o->pod_addresses.size(), 3u);
  EXPECT_EQ(o->pod_addresses[2], IpAddr::parse("fd80:1::11"));
  EXPECT_EQ(o->pod_id, 7);
  EXPECT_EQ(o->duration_s, 0);
}

TEST(Options, ErrorsNameTheOption) {
  const std::vector<std::string> client = {"--src",         "10.0.0.2",      "--dst",
                                           "10.96.0.10:53", "--gateway-mac", "02:00:00:00:00:01"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = client;
    args.insert(args.end(), extra.begin(), extra.end());
    return errorOf(args);
  };
  EXPECT_EQ(with({}), "(parsed)");
  EXPECT_EQ(with({"--rate", "fast"}), "--rate: bad value 'fast'");
  EXPECT_EQ(with({"--flows", "0"}), "--flows: bad value '0'");
  EXPECT_EQ(with({"--flows"}), "--flows needs a value");
  EXPECT_EQ(with({"--bogus"}), "unknown option '--bogus'");
  EXPECT_EQ(with({"--role", "router"}), "--role: bad value 'router'");
  EXPECT_EQ(with({"--size", "63"}),
            "--size 63 is below the 64 bytes (FCS included) a UDP probe to 10.96.0.10:53 needs");
  EXPECT_EQ(with({"--size", "1519"}), "--size: bad value '1519'");
  EXPECT_EQ(with({"--duration", "0"}), "--duration must be above 0 for the client");
  EXPECT_EQ(with({"--gateway-mac", "01:00:5e:00:00:01"}),
            "--gateway-mac: bad value '01:00:5e:00:00:01'");
  EXPECT_NE(with({"--src", "10.0.0.9-10.0.0.1"}).find("--src: '10.0.0.9-10.0.0.1'"),
            std::string::npos);
  EXPECT_EQ(errorOf({"--src", "10.0.0.2", "--dst", "10.96.0.10:53"}),
            "the client role needs --gateway IP or --gateway-mac MAC");
  const char* kNoSource =
      "--gateway is resolved from a --src of its family (ARP, or neighbor solicitation for IPv6); "
      "use --gateway-mac";
  EXPECT_EQ(errorOf({"--src", "fd00::2", "--dst", "[fd00::10]:53", "--gateway", "10.0.0.1"}),
            kNoSource);
  EXPECT_EQ(errorOf({"--src", "10.0.0.2", "--dst", "10.96.0.10:53", "--gateway", "fd00::1"}),
            kNoSource);
  EXPECT_EQ(errorOf({"--src", "fd00::2", "--dst", "[fd00::10]:53", "--gateway", "fd00::1"}),
            "(parsed)");
  EXPECT_EQ(errorOf({"--src", "fd00::2", "--dst", "[fd00::10]:53", "--gateway", "ff02::1"}),
            "--gateway: bad value 'ff02::1'");
  EXPECT_EQ(errorOf({"--role", "pod"}), "the pod role needs --pod-address");
  EXPECT_EQ(errorOf({"--role", "pod", "--pod-address", "10.0.0.1,10.0.0.1"}),
            "--pod-address 10.0.0.1 given twice");
  EXPECT_EQ(errorOf({"--role", "pod", "--pod-address", "10.0.0.1,"}), "(parsed)");
  EXPECT_EQ(errorOf({"--role", "pod", "--pod-address", "10.0.0.1,x"}),
            "--pod-address: bad value '10.0.0.1,x'");
  EXPECT_EQ(errorOf({"--role", "pod", "--pod-address", "10.0.0.1", "--pod-port", "1"}),
            "--pod-port is for the client role (its own pod)");
  EXPECT_EQ(with({"--pod-port", "1"}), "--pod-port needs --pod-address");
  EXPECT_EQ(with({"--pod-port", "0", "--pod-address", "10.0.0.1"}),
            "--pod-port must differ from --port");
  EXPECT_EQ(with({"--pod-address", "10.0.0.1"}),
            "--pod-address in the client role needs --pod-port");
  EXPECT_EQ(with({"--pod-port", "1", "--pod-address", "10.0.0.1,10.0.0.1"}),
            "--pod-address 10.0.0.1 given twice");
  EXPECT_EQ(with({"--pod-port", "70000", "--pod-address", "10.0.0.1"}),
            "--pod-port: bad value '70000'");
}

TEST(Options, TcpAndWindow) {
  const std::vector<std::string> base = {"--src",         "10.0.0.2",  "--dst",
                                         "10.96.0.10:80", "--gateway", "10.0.0.1"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), base.begin(), base.end());
    return parse(extra);
  };
  auto udp = with({});
  ASSERT_TRUE(udp);
  EXPECT_EQ(udp->proto, Proto::kUdp);
  EXPECT_EQ(effectiveWindow(*udp), Options::kDefaultWindow);  // --rate 0
  auto paced = with({"--rate", "1000"});
  ASSERT_TRUE(paced);
  EXPECT_EQ(effectiveWindow(*paced), 0u);
  auto windowed = with({"--rate", "1000", "--window", "64"});
  ASSERT_TRUE(windowed);
  EXPECT_EQ(effectiveWindow(*windowed), 64u);
  auto unbounded = with({"--window", "none"});  // at --rate 0 too
  ASSERT_TRUE(unbounded);
  EXPECT_EQ(effectiveWindow(*unbounded), 0u);
  EXPECT_FALSE(with({"--window", "lots"}));

  auto tcp =
      with({"--proto", "tcp", "--mode", "connect", "--exchanges", "3", "--tcp-timeout-ms", "250"});
  ASSERT_TRUE(tcp) << tcp.status().message();
  EXPECT_EQ(tcp->proto, Proto::kTcp);
  EXPECT_EQ(tcp->tcp_run, TcpRun::kConnect);
  EXPECT_EQ(tcp->exchanges, 3u);
  EXPECT_EQ(tcp->tcp_timeout_ms, 250u);
  auto progress = with({"--progress-json", "-"});
  ASSERT_TRUE(progress);
  EXPECT_EQ(progress->progress_json, "-");
  EXPECT_TRUE(udp->progress_json.empty());
  auto steady = with({"--proto=tcp"});
  ASSERT_TRUE(steady);
  EXPECT_EQ(steady->tcp_run, TcpRun::kSteady);

  auto error = [&](std::vector<std::string> extra) {
    auto r = with(std::move(extra));
    return r ? std::string("(parsed)") : r.status().message();
  };
  EXPECT_FALSE(tcp->next_port);
  auto next = with({"--proto", "tcp", "--mode", "connect", "--connect-ports", "next"});
  ASSERT_TRUE(next);
  EXPECT_TRUE(next->next_port);
  EXPECT_EQ(error({"--proto", "tcp", "--connect-ports", "next"}),
            "--connect-ports needs --mode connect");
  EXPECT_EQ(error({"--mode", "connect"}), "--mode needs --proto tcp");
  // Ethernet 14 + IPv4 20 + TCP 32 (with timestamps) + probe 18 + FCS 4.
  EXPECT_EQ(error({"--proto", "tcp", "--size", "87"}),
            "--size 87 is below the 88 bytes (FCS included) a TCP probe to 10.96.0.10:80 needs");
  EXPECT_EQ(error({"--proto", "tcp", "--size", "88"}), "(parsed)");
  EXPECT_EQ(error({"--proto", "sctp"}), "--proto: bad value 'sctp'");
  EXPECT_EQ(error({"--proto", "tcp", "--mode", "burst"}), "--mode: bad value 'burst'");
  EXPECT_EQ(error({"--exchanges", "0"}), "--exchanges: bad value '0'");
  EXPECT_EQ(error({"--tcp-timeout-ms", "0"}), "--tcp-timeout-ms: bad value '0'");
}

// --size is the frame on the wire, FCS included (64 = the Ethernet minimum);
// each probe kind has its own least size, named when a smaller one is asked.
TEST(Options, SizeCountsTheFcsAndEachProbeHasItsMinimum) {
  auto size = [](const char* dst, const char* src, const char* proto, std::string bytes) {
    std::vector<std::string> args = {
        "--src", src, "--dst", dst, "--gateway-mac", "02:00:00:00:00:01", "--proto", proto};
    if (!bytes.empty()) args.insert(args.end(), {"--size", bytes});
    return parseOptions(args);
  };
  struct Min {
    const char* dst;
    const char* src;
    const char* proto;
    unsigned least;  // 4 + Ethernet 14 + IP 20/40 + UDP 8 / TCP 32 + probe 18/30
  };
  for (const Min& m :
       {Min{"10.96.0.10:53", "10.0.0.2", "udp", 64}, Min{"[fd00::10]:53", "fd00::2", "udp", 96},
        Min{"10.96.0.10:80", "10.0.0.2", "tcp", 88}, Min{"[fd00::10]:80", "fd00::2", "tcp", 120}}) {
    auto least = size(m.dst, m.src, m.proto, std::to_string(m.least));
    ASSERT_TRUE(least) << least.status().message();
    EXPECT_EQ(least->frame_len, m.least - 4) << m.dst << " " << m.proto;
    auto below = size(m.dst, m.src, m.proto, std::to_string(m.least - 1));
    ASSERT_FALSE(below) << m.dst << " " << m.proto;
    EXPECT_NE(below.status().message().find("the " + std::to_string(m.least) + " bytes"),
              std::string::npos)
        << below.status().message();
  }
  auto unset = size("10.96.0.10:53", "10.0.0.2", "udp", "");
  ASSERT_TRUE(unset);
  EXPECT_EQ(unset->frame_len, 0u);  // the smallest probe frame
  auto largest = size("10.96.0.10:53", "10.0.0.2", "udp", "1518");
  ASSERT_TRUE(largest);
  EXPECT_EQ(largest->frame_len, 1514u);
}

TEST(Options, ClientWithItsOwnPod) {
  auto o = parse({"--src", "10.0.0.2", "--dst", "10.96.0.10:53", "--gateway", "10.0.0.1",
                  "--pod-port", "1", "--pod-address", "10.244.0.11,10.244.0.12", "--pod-id", "3"});
  ASSERT_TRUE(o) << o.status().message();
  EXPECT_EQ(o->role, Role::kClient);
  EXPECT_EQ(o->pod_port, 1);
  EXPECT_EQ(o->pod_addresses.size(), 2u);
  EXPECT_EQ(o->pod_id, 3);
  auto plain = parse({"--src", "10.0.0.2", "--dst", "10.96.0.10:53", "--gateway", "10.0.0.1"});
  ASSERT_TRUE(plain);
  EXPECT_FALSE(plain->pod_port);
}

}  // namespace
}  // namespace sluice::pktgen
