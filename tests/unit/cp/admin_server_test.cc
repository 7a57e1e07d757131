// AdminServer's life cycle: the socket's directory, stale and live sockets
// at its path, and a stop while clients wait on a busy control thread.
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <future>
#include <string>
#include <thread>

#include "tests/unit/cp/admin_harness.h"

namespace sluice::cp::admin::testing {
namespace {

const std::string kOneService = configText(configService("10.96.0.10", 80, "10.244.0.11"));

// A server with no control thread: enough to see whether it starts.
class ServerStartTest : public ::testing::Test {
 protected:
  ServerStartTest() : running_(*loadConfigText(kOneService, "t.conf")) {}

  Result<std::unique_ptr<AdminServer>> startAt(const std::string& socket) {
    AdminSpec spec;
    spec.socket = socket;
    return AdminServer::start(spec, queue_, backend_);
  }

  TempDir dir_;
  RecordingSink sink_;
  Publisher publisher_{sink_};
  Config running_;
  FakeBackend backend_{publisher_, running_, ""};
  ControlQueue queue_;
};

TEST_F(ServerStartTest, CreatesTheSocketDirectoryAndRemovesTheSocketOnStop) {
  std::string socket = dir_.file("run/sluice/admin.sock");
  auto server = startAt(socket);
  ASSERT_TRUE(server) << server.status().message();
  struct stat st {};
  ASSERT_EQ(::stat(socket.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  (*server)->stop();
  (*server)->stop();  // twice is fine
  EXPECT_NE(::stat(socket.c_str(), &st), 0);
}

TEST_F(ServerStartTest, RefusesAFileThatIsNotASocket) {
  dir_.write("admin.sock", "not a socket");
  auto server = startAt(dir_.file("admin.sock"));
  ASSERT_FALSE(server);
  EXPECT_EQ(server.status().message(),
            "admin: " + dir_.file("admin.sock") + " exists and is not a socket");
}

TEST_F(ServerStartTest, RefusesASocketAnotherServerAnswersOn) {
  auto first = startAt(dir_.file("admin.sock"));
  ASSERT_TRUE(first) << first.status().message();
  ControlQueue other_queue;
  AdminSpec spec;
  spec.socket = dir_.file("admin.sock");
  auto second = AdminServer::start(spec, other_queue, backend_);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.status().message(), "admin: " + dir_.file("admin.sock") +
                                           " is in use by another process (another sluiced?)");
}

// A socket left by a process that is gone (bound, never unlinked) is replaced.
TEST_F(ServerStartTest, ReplacesAStaleSocket) {
  std::string path = dir_.file("admin.sock");
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ::close(fd);
  auto server = startAt(path);
  ASSERT_TRUE(server) << server.status().message();
}

// sluiced stopping while its control thread is busy and a client waits
// behind it: the client gets UNAVAILABLE at once rather than hanging.
TEST(AdminServerStopTest, WaitingClientsGetUnavailable) {
  AdminHarness harness(kOneService);
  ASSERT_TRUE(harness.ok());
  std::promise<void> release;
  std::promise<void> busy;
  std::thread blocker([&] {
    harness.onControl([&] {
      busy.set_value();
      release.get_future().wait();
    });
  });
  busy.get_future().wait();
  auto waiting = std::async(std::launch::async, [&] {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    v1::GetServiceRequest req;
    *req.mutable_service() = key("10.96.0.10", 80);
    v1::Service out;
    return harness.stub()->GetService(&ctx, req, &out);
  });
  // Long enough for the call to reach its handler and queue its task.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto started = std::chrono::steady_clock::now();
  harness.server().stop();
  grpc::Status s = waiting.get();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_TRUE(isError(s, grpc::StatusCode::UNAVAILABLE, "sluiced is shutting down"));
  release.set_value();
  blocker.join();
}

}  // namespace
}  // namespace sluice::cp::admin::testing
