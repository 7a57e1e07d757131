// stats and flows.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "tools/sluicectl/commands.h"
#include "tools/sluicectl/json.h"
#include "tools/sluicectl/names.h"
#include "tools/sluicectl/table.h"

namespace sluice::ctl {

namespace {

using A = Table::Align;
using std::to_string;

std::string uptimeText(uint64_t ns) {
  uint64_t s = ns / 1000000000;
  char text[64];
  if (s >= 86400) {
    std::snprintf(text, sizeof text, "%lud %luh", s / 86400, s % 86400 / 3600);
  } else if (s >= 3600) {
    std::snprintf(text, sizeof text, "%luh %lum", s / 3600, s % 3600 / 60);
  } else if (s >= 60) {
    std::snprintf(text, sizeof text, "%lum %lus", s / 60, s % 60);
  } else {
    std::snprintf(text, sizeof text, "%.1fs", static_cast<double>(ns) / 1e9);
  }
  return text;
}

void printSummary(const v1::Stats& st) {
  const v1::PublishStats& p = st.publish();
  uint64_t calls = p.upserts() + p.removals() + p.failures();
  std::printf("sluiced up %s, %u services, %d workers, %d ports\n",
              uptimeText(st.uptime_ns()).c_str(), st.services(), st.workers_size(),
              st.ports_size());
  std::printf("publish: %lu upserts, %lu removals, %lu failures", p.upserts(), p.removals(),
              p.failures());
  if (calls > 0) {
    std::printf(", latency avg %s ms, max %s ms", millis(p.latency_sum_ns() / calls).c_str(),
                millis(p.latency_max_ns()).c_str());
  }
  std::printf("\n\n");
}

// `before`: the sample taken --interval earlier, or null.
void printWorkers(const v1::Stats& st, const v1::Stats* before, double interval_s) {
  std::vector<Table::Column> columns = {
      {"WORKER"}, {"RX_PKTS", A::kRight}, {"TX_PKTS", A::kRight}, {"DROPS", A::kRight}};
  if (before != nullptr) {
    columns.insert(columns.end(), {{"RX/S", A::kRight}, {"TX/S", A::kRight}});
  }
  columns.insert(columns.end(), {{"BUSY", A::kRight},
                                 {"FLOWS", A::kRight},
                                 {"HALF_OPEN", A::kRight},
                                 {"CAPACITY", A::kRight},
                                 {"USED", A::kRight}});
  Table table(columns);
  for (int i = 0; i < st.workers_size(); ++i) {
    const v1::WorkerStats& w = st.workers(i);
    std::vector<std::string> row = {to_string(w.lcore()), to_string(w.rx_packets()),
                                    to_string(w.tx_packets()), to_string(w.drops())};
    double busy = w.busy_share();
    if (before != nullptr && i < before->workers_size()) {
      const v1::WorkerStats& b = before->workers(i);
      auto rate = [&](uint64_t now, uint64_t then) {
        return to_string(static_cast<uint64_t>(static_cast<double>(now - then) / interval_s));
      };
      row.push_back(rate(w.rx_packets(), b.rx_packets()));
      row.push_back(rate(w.tx_packets(), b.tx_packets()));
      uint64_t elapsed = w.elapsed_cycles() - b.elapsed_cycles();
      busy = elapsed == 0 ? -1.0
                          : static_cast<double>(w.busy_cycles() - b.busy_cycles()) /
                                static_cast<double>(elapsed);
    }
    row.push_back(percent(std::min(busy, 1.0)));
    if (w.has_conntrack()) {
      const v1::ConntrackStats& ct = w.conntrack();
      row.insert(row.end(),
                 {to_string(ct.flows()), to_string(ct.half_open()), to_string(ct.capacity()),
                  percent(ct.capacity() == 0 ? -1.0
                                             : static_cast<double>(ct.flows()) /
                                                   static_cast<double>(ct.capacity()))});
    } else {
      row.insert(row.end(), {"-", "-", "-", "-"});
    }
    table.addRow(row);
  }
  table.print(stdout);

  // Only the reasons that counted something: the full list is in --json.
  Table drops({{"WORKER"}, {"DROP_REASON"}, {"PACKETS", A::kRight}});
  for (const v1::WorkerStats& w : st.workers()) {
    for (const v1::Counter& c : w.drop_reasons()) {
      if (c.value() != 0) {
        drops.addRow({to_string(w.lcore()), c.name(), to_string(c.value())});
      }
    }
  }
  if (!drops.empty()) {
    std::printf("\n");
    drops.print(stdout);
  }
}

void printPorts(const v1::Stats& st) {
  Table table({{"PORT"},
               {"RX_PKTS", A::kRight},
               {"TX_PKTS", A::kRight},
               {"RX_BYTES", A::kRight},
               {"TX_BYTES", A::kRight},
               {"MISSED", A::kRight},
               {"RX_ERRORS", A::kRight},
               {"TX_ERRORS", A::kRight},
               {"NO_MBUF", A::kRight}});
  for (const v1::PortStats& p : st.ports()) {
    table.addRow({p.name(), to_string(p.ipackets()), to_string(p.opackets()), to_string(p.ibytes()),
                  to_string(p.obytes()), to_string(p.imissed()), to_string(p.ierrors()),
                  to_string(p.oerrors()), to_string(p.rx_nombuf())});
  }
  std::printf("\n");
  table.print(stdout);
}

std::vector<std::string> trafficCells(const v1::Traffic& t) {
  return {to_string(t.new_flows()),   to_string(t.active_flows()), to_string(t.in_packets()),
          to_string(t.out_packets()), to_string(t.in_bytes()),     to_string(t.out_bytes())};
}

// As `ipvsadm -Ln --stats`: each service, then its endpoints under "->".
void printServiceTraffic(const v1::Stats& st) {
  Table table({{"Prot LocalAddress:Port"},
               {"Conns", A::kRight},
               {"Active", A::kRight},
               {"InPkts", A::kRight},
               {"OutPkts", A::kRight},
               {"InBytes", A::kRight},
               {"OutBytes", A::kRight}});
  table.addRow({"  -> RemoteAddress:Port"});
  for (const v1::ServiceStats& s : st.service_stats()) {
    std::string proto = enumText(s.service().protocol());
    std::transform(proto.begin(), proto.end(), proto.begin(), ::toupper);
    std::vector<std::string> row = {proto + "  " +
                                    joinHostPort(s.service().vip(), s.service().port())};
    for (std::string& cell : trafficCells(s.traffic())) {
      row.push_back(std::move(cell));
    }
    table.addRow(row);
    for (const v1::EndpointStats& e : s.endpoints()) {
      std::vector<std::string> ep = {"  -> " + joinHostPort(e.address(), e.port())};
      for (std::string& cell : trafficCells(e.traffic())) {
        ep.push_back(e.counted() ? std::move(cell) : "-");
      }
      table.addRow(ep);
    }
  }
  std::printf("\n");
  table.print(stdout);
}

}  // namespace

int stats(Client& client, bool json, const StatsArgs& args) {
  v1::StatsRequest request;
  request.set_include_services(args.services);
  request.set_include_conntrack(true);
  v1::Stats first;
  v1::Stats response;
  auto sample = [&](v1::Stats* out) {
    auto rpc = [&](auto& stub, auto* ctx) { return stub.GetStats(ctx, request, out); };
    grpc::Status status = client.tryCall(rpc);
    return status.ok() ? kExitOk : reportFailure(status, client.address());
  };
  if (args.interval_s > 0) {
    if (int exit = sample(&first); exit != kExitOk) {
      return exit;
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(args.interval_s));
  }
  if (int exit = sample(&response); exit != kExitOk) {
    return exit;
  }
  if (json) {
    std::fputs(toJson(response).c_str(), stdout);
    return kExitOk;
  }
  printSummary(response);
  printWorkers(response, args.interval_s > 0 ? &first : nullptr, args.interval_s);
  printPorts(response);
  if (request.include_services()) {
    printServiceTraffic(response);
  }
  return kExitOk;
}

int flows(Client& client, bool json, const FlowsArgs& args) {
  v1::ListFlowsRequest request;
  v1::ServiceKey* key = request.mutable_service();
  key->set_vip(args.vip);
  key->set_port(args.port);
  if (!args.proto.empty()) {
    std::string choices;
    auto proto = enumFromText(v1::Protocol_descriptor(), args.proto, &choices);
    if (!proto) {
      return usageError("--proto: '" + args.proto + "' is not one of " + choices);
    }
    key->set_protocol(static_cast<v1::Protocol>(*proto));
  }
  request.set_client(args.client);
  request.set_endpoint(args.endpoint);
  request.set_limit(args.limit);
  v1::ListFlowsResponse response;
  int exit =
      client.call([&](auto& stub, auto* ctx) { return stub.ListFlows(ctx, request, &response); });
  if (exit != kExitOk) {
    return exit;
  }
  if (json) {
    std::fputs(toJson(response).c_str(), stdout);
    return kExitOk;
  }
  Table table({{"WORKER", A::kRight},
               {"PROTO"},
               {"CLIENT"},
               {"VIP"},
               {"ENDPOINT"},
               {"SNAT"},
               {"STATE"},
               {"EXPIRES_S", A::kRight}});
  for (const v1::Flow& f : response.flows()) {
    char expires[32];
    std::snprintf(expires, sizeof expires, "%.1f", static_cast<double>(f.expires_in_ms()) / 1e3);
    table.addRow({to_string(f.worker()), enumText(f.protocol()), f.client(), f.vip(), f.endpoint(),
                  f.snat().empty() ? "-" : f.snat(), f.state(), expires});
  }
  table.print(stdout);
  if (response.truncated()) {
    std::fprintf(stderr, "sluicectl: %d flows shown, more matched; see --limit (at most 10000)\n",
                 response.flows_size());
  }
  return kExitOk;
}

}  // namespace sluice::ctl
