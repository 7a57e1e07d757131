// applyReload and settingsNeedingRestart: a reload replaces the config's
// services only, is refused whole, and names what waits for a restart.
#include "cp/reload.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/cp/recording_sink.h"

namespace sluice::cp {
namespace {

using admin::testing::RecordingSink;

IpAddr ip(const char* text) {
  return *IpAddr::parse(text);
}

ServiceSpec service(const char* vip, uint16_t port, const char* endpoint,
                    ServiceSource source = ServiceSource::kConfig) {
  ServiceSpec s;
  s.key = {.vip = ip(vip), .port = port, .proto = Proto::kTcp};
  s.endpoints.push_back({.addr = ip(endpoint), .port = 8080});
  s.source = source;
  return s;
}

class ReloadTest : public ::testing::Test {
 protected:
  ReloadTest() {
    running_.source = "running.conf";
    running_.dataplane.snat = {ip("10.0.0.1")};
    running_.services = {service("10.96.0.10", 80, "10.244.0.1"),
                         service("10.96.0.11", 80, "10.244.0.2")};
    EXPECT_TRUE(publisher_.replaceSource(ServiceSource::kConfig, running_.services));
    EXPECT_TRUE(publisher_.upsert(service("10.96.0.50", 80, "10.244.0.5", ServiceSource::kApi)));
    EXPECT_TRUE(publisher_.upsert(service("10.96.0.60", 80, "10.244.0.6", ServiceSource::kXds)));
    sink_.upserts.clear();
    next_ = running_;
    next_.source = "next.conf";
  }

  RecordingSink sink_;
  Publisher publisher_{sink_};
  Config running_;
  Config next_;
};

TEST_F(ReloadTest, ReplacesConfigServicesAndLeavesTheOthers) {
  next_.services = {service("10.96.0.10", 80, "10.244.0.9"),
                    service("10.96.0.12", 80, "10.244.0.3")};
  auto report = applyReload(next_, running_, publisher_);
  ASSERT_TRUE(report) << report.status().message();
  EXPECT_EQ(report->source, "next.conf");
  EXPECT_EQ(report->stats.added, 1u);
  EXPECT_EQ(report->stats.changed, 1u);
  EXPECT_EQ(report->stats.removed, 1u);
  EXPECT_EQ(report->stats.unchanged, 0u);
  EXPECT_TRUE(report->restart_required.empty());
  EXPECT_EQ(sink_.removes, std::vector<std::string>{"10.96.0.11:80/tcp"});
  std::vector<std::string> keys;
  for (const auto& [key, spec] : publisher_.services()) {
    keys.push_back(key + " " + toString(spec.source));
  }
  EXPECT_EQ(keys, (std::vector<std::string>{"10.96.0.10:80/tcp config", "10.96.0.12:80/tcp config",
                                            "10.96.0.50:80/tcp api", "10.96.0.60:80/tcp xds"}));
}

// The file's services meet the running data plane: an IPv6 fullnat service
// needs an IPv6 snat address the running one lacks, even if the file has it.
TEST_F(ReloadTest, RefusedWholeAgainstTheRunningDataPlane) {
  next_.dataplane.snat.push_back(ip("fd00::1"));
  ServiceSpec v6 = service("fd00::10", 80, "fd44::1");
  next_.services = {service("10.96.0.10", 80, "10.244.0.9"), v6};
  auto report = applyReload(next_, running_, publisher_);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.status().message(),
            "service [fd00::10]:80/tcp: mode: missing SNAT pool for IPv6: fullnat needs a local "
            "address of the VIP's family in snat (or use mode dnat) (with the running data plane)");
  EXPECT_EQ(sink_.calls(), 0u);
  EXPECT_EQ(publisher_.services().at("10.96.0.10:80/tcp").endpoints[0].addr, ip("10.244.0.1"));
}

TEST_F(ReloadTest, RefusedWhenAnotherSourceOwnsAKey) {
  next_.services = {service("10.96.0.11", 80, "10.244.0.9"),
                    service("10.96.0.60", 80, "10.244.0.6")};
  auto report = applyReload(next_, running_, publisher_);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.status().message(),
            "service 10.96.0.60:80/tcp is owned by xds; delete it there before adding it from "
            "config");
  EXPECT_EQ(sink_.calls(), 0u);
}

TEST_F(ReloadTest, NamesSettingsThatNeedARestart) {
  EXPECT_TRUE(settingsNeedingRestart(next_, running_).empty());
  next_.log_level = dp::LogLevel::kDebug;
  next_.dataplane.services_capacity = 10;
  next_.dataplane.snat.push_back(ip("10.0.0.2"));
  next_.main_lcore = 3;
  next_.admin = admin::AdminSpec{};
  EXPECT_EQ(settingsNeedingRestart(next_, running_),
            (std::vector<std::string>{"eal", "log_level", "snat", "services_capacity", "admin"}));
  // The services themselves never do.
  next_ = running_;
  next_.services.clear();
  EXPECT_TRUE(settingsNeedingRestart(next_, running_).empty());
  auto report = applyReload(next_, running_, publisher_);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->stats.removed, 2u);
  EXPECT_EQ(publisher_.services().size(), 2u);
}

}  // namespace
}  // namespace sluice::cp
