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
#include <vector>

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

// Holds the control thread in a task until release() or destruction, as a
// long reload would.
class BusyControl {
 public:
  explicit BusyControl(AdminHarness& harness)
      : thread_([this, &harness] {
          harness.onControl([this] {
            busy_.set_value();
            release_.get_future().wait();
          });
        }) {
    busy_.get_future().wait();
  }
  ~BusyControl() {
    release();
    thread_.join();
  }
  void release() {
    if (!released_) {
      released_ = true;
      release_.set_value();
    }
  }

 private:
  std::promise<void> busy_;
  std::promise<void> release_;
  bool released_ = false;
  std::thread thread_;
};

grpc::Status getWeb(const AdminHarness& harness, v1::Service* out) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  v1::GetServiceRequest req;
  *req.mutable_service() = key("10.96.0.10", 80);
  return harness.stub()->GetService(&ctx, req, out);
}

// sluiced stopping while its control thread is busy and a client waits
// behind it: the client gets UNAVAILABLE at once rather than hanging.
TEST(AdminServerBusyTest, WaitingClientsGetUnavailable) {
  AdminHarness harness(kOneService);
  ASSERT_TRUE(harness.ok());
  BusyControl busy(harness);
  auto waiting = std::async(std::launch::async, [&] {
    v1::Service out;
    return getWeb(harness, &out);
  });
  // Long enough for the call to reach its handler and queue its task.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto started = std::chrono::steady_clock::now();
  harness.server().stop();
  grpc::Status s = waiting.get();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
  EXPECT_TRUE(isError(s, grpc::StatusCode::UNAVAILABLE, "sluiced is shutting down"));
}

// Calls pile up while the control thread is busy (a reload, a large
// publish); each waits for its turn and then gets its answer. The server
// takes at most 64 threads (cp/admin/server.cc); 40 waiting calls stay
// within that. Past it gRPC answers RESOURCE_EXHAUSTED "Server Threadpool
// Exhausted" at once (with a bound of 16: 40 calls behind a busy control
// thread, 15 served, 25 refused).
TEST(AdminServerBusyTest, CallsQueuedBehindABusyControlThreadAreAllServed) {
  AdminHarness harness(kOneService);
  ASSERT_TRUE(harness.ok());
  BusyControl busy(harness);
  std::vector<std::future<grpc::Status>> calls;
  for (int i = 0; i < 40; ++i) {
    calls.push_back(std::async(std::launch::async, [&] {
      v1::Service out;
      grpc::Status s = getWeb(harness, &out);
      return s.ok() && out.vip() != "10.96.0.10" ? grpc::Status(grpc::StatusCode::UNKNOWN, "") : s;
    }));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  busy.release();
  for (auto& call : calls) {
    grpc::Status s = call.get();
    EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  }
}

}  // namespace
}  // namespace sluice::cp::admin::testing
