#include "cp/metrics/server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <string>

#include "cp/control_queue.h"
#include "cp/metrics/exposition.h"

namespace sluice::cp::metrics {
namespace {

MetricsSpec loopbackAnyPort() {
  return {.host = "127.0.0.1", .port = 0, .listen = "127.0.0.1:0"};
}

Snapshot oneWorker(uint64_t rx) {
  Snapshot s;
  dp::WorkerCounterSnapshot w;
  w.lcore = 3;
  w.events[static_cast<size_t>(dp::WorkerEvent::rx_packets)] = rx;
  s.dataplane.workers.push_back(w);
  return s;
}

TEST(MetricsServer, ServesTheSnapshotOfEachScrape) {
  std::atomic<uint64_t> rx{0};
  auto server = MetricsServer::start(loopbackAnyPort(), [&] { return Result(oneWorker(++rx)); });
  ASSERT_TRUE(server) << server.status().message();
  ASSERT_NE((*server)->port(), 0);
  EXPECT_EQ((*server)->url(), "http://127.0.0.1:" + std::to_string((*server)->port()) + "/metrics");

  httplib::Client client("127.0.0.1", (*server)->port());
  for (uint64_t scrape = 1; scrape <= 2; ++scrape) {
    auto res = client.Get("/metrics");
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("Content-Type"), kContentType);
    EXPECT_EQ(res->body, format(oneWorker(scrape)));
    EXPECT_NE(res->body.find("sluice_worker_rx_packets_total{worker=\"3\"} " +
                             std::to_string(scrape) + "\n"),
              std::string::npos);
  }
  auto other = client.Get("/");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
  (*server)->stop();
  EXPECT_FALSE(httplib::Client("127.0.0.1", (*server)->port()).Get("/metrics"));
}

// A control thread that does not answer: the scrape gets 503 and the reason,
// in bounded time, and the task never runs.
TEST(MetricsServer, UnansweredGatherIs503) {
  ControlQueue queue;  // nobody runs it
  bool ran = false;
  auto server = MetricsServer::start(loopbackAnyPort(), [&]() -> Result<Snapshot> {
    Snapshot s;
    Status st = queue.runFor([&] { ran = true; }, std::chrono::milliseconds(50));
    if (!st) {
      return st;
    }
    return s;
  });
  ASSERT_TRUE(server) << server.status().message();
  auto res = httplib::Client("127.0.0.1", (*server)->port()).Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->body, "the control thread did not answer within 50 ms\n");
  EXPECT_FALSE(ran);
}

TEST(MetricsServer, BusyPortNamesTheSetting) {
  auto first = MetricsServer::start(loopbackAnyPort(), [] { return Result(Snapshot{}); });
  ASSERT_TRUE(first) << first.status().message();
  std::string listen = "127.0.0.1:" + std::to_string((*first)->port());
  MetricsSpec same{
      .host = "127.0.0.1", .port = static_cast<uint16_t>((*first)->port()), .listen = listen};
  auto second = MetricsServer::start(same, [] { return Result(Snapshot{}); });
  ASSERT_FALSE(second);
  EXPECT_EQ(second.status().message(),
            "metrics.listen: cannot listen on " + listen + ": Address already in use");
}

}  // namespace
}  // namespace sluice::cp::metrics
