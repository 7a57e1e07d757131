// How long an operator's `sluicectl endpoint set` takes to reach the data
// path, with 10k other services published: sluiced's pieces as it runs them
// (a worker busy-polling on lcore 1, the control loop draining the
// ControlQueue and calling pollControl on a thread, the admin gRPC server on
// a unix socket) driven by a gRPC client.
//
// Each measured call makes endpoint A of the measured service (A, B)
// terminating, so new flows must go to B; right after the response the
// client injects a datagram of a new flow and waits for it to leave the pod
// port, and checks it went to B. Then an untimed call makes A ready again.
//
//   rpc      client-side SetEndpoint round trip (validate, queue, edit,
//            Maglev build, publish, answer)
//   publish  the server's own publish time (ChangeResponse.publish_ns)
//   visible  from the call to the probe leaving translated to B
//   probe    the same trip of a datagram with no call before it
//
// Prints p50/p99/max in microseconds and one JSON line ("admin_json: {...}").
#include <grpcpp/grpcpp.h>
#include <rte_cycles.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "cp/admin/dataplane_backend.h"
#include "cp/admin/server.h"
#include "cp/control_queue.h"
#include "cp/dataplane_sink.h"
#include "sluice/admin/v1/admin.grpc.pb.h"
#include "tools/bench/bench_common.h"

namespace sluice::bench {
namespace {

namespace v1 = ::sluice::admin::v1;

struct Options {
  unsigned calls = 1000;
  unsigned services = 10000;
};

v1::SetEndpointRequest setState(v1::EndpointState state) {
  v1::SetEndpointRequest req;
  req.mutable_service()->set_vip(kVip.toString());
  req.mutable_service()->set_port(80);
  req.mutable_service()->set_protocol(v1::PROTOCOL_UDP);
  req.set_address(pod(0).toString());
  req.set_port(8080);
  req.set_state(state);
  return req;
}

double us(uint64_t ticks) {
  return static_cast<double>(ticks) / (tscHz() / 1e6);
}

int run(const Options& o) {
  auto made = Rig::create(1 << 20, 2);
  if (!made) {
    std::fprintf(stderr, "admin_bench: %s\n", made.status().message().c_str());
    return 1;
  }
  Rig& rig = **made;
  cp::DataplaneSink sink(rig.dp());
  cp::Publisher publisher(sink);
  std::vector<ServiceSpec> all;
  for (uint32_t k = 0; k < o.services; k++) {
    ServiceSpec s;
    s.key = {v4(0x0a610000 + k), 80, Proto::kUdp};  // 10.97.0.0/16
    for (unsigned p = 0; p < 3; p++)
      s.endpoints.push_back({pod(p), 8080, 1, EndpointState::kReady});
    all.push_back(s);
  }
  all.push_back(vipService(0, 2));
  if (auto r = publisher.replaceSource(ServiceSource::kConfig, all); !r) {
    std::fprintf(stderr, "admin_bench: publish: %s\n", r.status().message().c_str());
    return 1;
  }
  // What the editor checks changes against: the rig's SNAT addresses.
  cp::Config running;
  for (unsigned i = 0; i < kSnatAddrs; i++) running.dataplane.snat.push_back(v4(0x0a000001 + i));
  cp::admin::DataplaneBackend backend(publisher, running, rig.dp(), [] {
    return Result<cp::Config>(Status::error("no config file in the bench"));
  });
  cp::ControlQueue queue;
  std::string dir = "/tmp/sluice-admin-bench-" + std::to_string(getpid());
  cp::admin::AdminSpec spec;
  spec.socket = dir + "/admin.sock";
  auto server = cp::admin::AdminServer::start(spec, queue, backend);
  if (!server) {
    std::fprintf(stderr, "admin_bench: %s\n", server.status().message().c_str());
    return 1;
  }
  if (Status s = rig.dp().launch(); !s) {
    std::fprintf(stderr, "admin_bench: %s\n", s.message().c_str());
    return 1;
  }
  std::atomic<bool> stop{false};
  std::thread control([&] {
    while (!stop.load()) {
      queue.runPending(std::chrono::microseconds(200));
      rig.dp().pollControl();
    }
  });

  auto channel = grpc::CreateChannel("unix:" + spec.socket, grpc::InsecureChannelCredentials());
  auto stub = v1::Admin::NewStub(channel);
  std::vector<uint64_t> rpc, publish, visible, probe;
  uint32_t flow = 0;
  unsigned wrong = 0, failed = 0;
  uint8_t frame[kFrameLen];
  const uint8_t pod_b_last = 2;  // pod(1) is 10.0.1.2
  for (unsigned i = 0; i < o.calls + 20; i++) {
    bool measured = i >= 20;  // the first calls warm the channel up
    rte_mbuf* m = rig.frameMbuf(flow++);
    rte_mbuf* control_m = rig.frameMbuf(flow++);
    grpc::ClientContext ctx;
    v1::ChangeResponse resp;
    uint64_t t0 = rte_rdtsc_precise();
    grpc::Status st = stub->SetEndpoint(&ctx, setState(v1::ENDPOINT_STATE_TERMINATING), &resp);
    uint64_t t1 = rte_rdtsc_precise();
    uint64_t t2 = roundTrip(rig, m, frame);
    bool to_b = frame[33] == pod_b_last;
    uint64_t c0 = rte_rdtsc_precise();
    uint64_t c1 = roundTrip(rig, control_m, frame);
    if (!st.ok()) {
      failed++;
      std::fprintf(stderr, "admin_bench: SetEndpoint: %s\n", st.error_message().c_str());
    }
    if (!to_b) wrong++;
    if (measured) {
      rpc.push_back(t1 - t0);
      publish.push_back(
          static_cast<uint64_t>(static_cast<double>(resp.publish_ns()) * tscHz() / 1e9));
      visible.push_back(t2 - t0);
      probe.push_back(c1 - c0);
    }
    grpc::ClientContext back_ctx;
    v1::ChangeResponse back;
    if (!stub->SetEndpoint(&back_ctx, setState(v1::ENDPOINT_STATE_READY), &back).ok()) failed++;
  }
  stop.store(true);
  control.join();
  (*server)->stop();
  rig.dp().stop();
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);

  auto q = [](const std::vector<uint64_t>& v, double p) { return us(percentile(v, p)); };
  std::printf("endpoint set -> data path, %u other services, %u calls (us p50 / p99 / max):\n",
              o.services, o.calls);
  std::printf("  SetEndpoint round trip (client)   %8.1f %8.1f %8.1f\n", q(rpc, 0.5), q(rpc, 0.99),
              q(rpc, 1.0));
  std::printf("  publish in the server             %8.1f %8.1f %8.1f\n", q(publish, 0.5),
              q(publish, 0.99), q(publish, 1.0));
  std::printf("  call -> new flow out to B         %8.1f %8.1f %8.1f\n", q(visible, 0.5),
              q(visible, 0.99), q(visible, 1.0));
  std::printf("  probe trip alone (baseline)       %8.1f %8.1f %8.1f\n", q(probe, 0.5),
              q(probe, 0.99), q(probe, 1.0));
  std::printf("  probes not to B: %u, failed calls: %u\n", wrong, failed);
  std::printf(
      "admin_json: {\"services\": %u, \"calls\": %u, \"rpc_p50_us\": %.1f, \"rpc_p99_us\": %.1f, "
      "\"publish_p50_us\": %.1f, \"publish_p99_us\": %.1f, \"visible_p50_us\": %.1f, "
      "\"visible_p99_us\": %.1f, \"probe_p50_us\": %.1f, \"wrong\": %u, \"failed\": %u}\n",
      o.services, o.calls, q(rpc, 0.5), q(rpc, 0.99), q(publish, 0.5), q(publish, 0.99),
      q(visible, 0.5), q(visible, 0.99), q(probe, 0.5), wrong, failed);
  return wrong == 0 && failed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace sluice::bench

int main(int argc, char** argv) {
  sluice::bench::Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--quick") {
      o.calls = 200;
    } else if (a.rfind("--calls=", 0) == 0) {
      o.calls = static_cast<unsigned>(std::atoi(a.c_str() + 8));
    } else if (a.rfind("--services=", 0) == 0) {
      o.services = static_cast<unsigned>(std::atoi(a.c_str() + 11));
    } else {
      std::fprintf(stderr, "usage: %s [--quick] [--calls=N] [--services=N]\n", argv[0]);
      return 2;
    }
  }
  if (!sluice::bench::initEal(argv[0], 1024)) return 2;
  int rc = sluice::bench::run(o);
  sluice::bench::cleanupEal();
  return rc;
}
