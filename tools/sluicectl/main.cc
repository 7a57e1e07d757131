// sluicectl: drives a running sluiced through its admin API
// (proto/sluice/admin/v1/admin.proto). Exit codes are in client.h.
#include <grpc/support/log.h>

#include <cstdlib>

#include <CLI/CLI.hpp>

#include "tools/sluicectl/commands.h"

namespace {

using namespace sluice::ctl;

constexpr char kDefaultSocket[] = "/run/sluice/admin.sock";  // sluiced's default too
constexpr char kServiceHelp[] = "VIP:PORT/PROTO, e.g. 10.96.0.10:80/tcp or [fd00::10]:53/udp";
constexpr char kEndpointHelp[] = "ADDRESS:PORT, e.g. 10.244.0.11:8080 or [fd44::11]:8080";
constexpr char kStateHelp[] = "ready, terminating or unhealthy";

struct Globals {
  Target target;
  bool json = false;
};

// The command chosen; run once the whole line has parsed.
using Run = std::function<int(Client&, bool)>;

void addServiceCommands(CLI::App& app, Run& run) {
  CLI::App* service = app.add_subcommand("service", "list, show, add and delete services");
  service->require_subcommand(1);

  static std::string source, vip, key;
  CLI::App* list = service->add_subcommand("list", "one line per service");
  list->add_option("--source", source, "only services from config, api or xds");
  list->add_option("--vip", vip, "only services of this VIP");
  list->callback(
      [&] { run = [](Client& c, bool json) { return serviceList(c, json, source, vip); }; });

  CLI::App* get = service->add_subcommand("get", "a service's settings and endpoints");
  get->add_option("SERVICE", key, kServiceHelp)->required();
  get->callback([&] { run = [](Client& c, bool json) { return serviceGet(c, json, key); }; });

  static ServiceAddArgs add_args;
  CLI::App* add = service->add_subcommand(
      "add", "add a service (ALREADY_EXISTS if it exists, unless --replace)");
  add->add_option("SERVICE", add_args.service, kServiceHelp)->required();
  add->add_option("ENDPOINT", add_args.endpoints,
                  "ADDRESS:PORT[,weight=N][,state=S], e.g. 10.244.0.11:8080,weight=2");
  add->add_option("--mode", add_args.mode, "fullnat (default) or dnat");
  add->add_option("--algorithm", add_args.algorithm, "maglev (default) or random");
  add->add_option("--affinity", add_args.affinity, "none (default) or client-ip");
  CLI::Option* timeout = add->add_option("--affinity-timeout", add_args.affinity_timeout,
                                         "seconds a client keeps its endpoint (client-ip)");
  CLI::Option* table = add->add_option("--table-size", add_args.table_size,
                                       "Maglev table size, a prime (default: from endpoints)");
  add->add_flag("--replace", add_args.replace, "replace the service if it exists");
  add->callback([&, timeout, table] {
    add_args.has_affinity_timeout = timeout->count() > 0;
    add_args.has_table_size = table->count() > 0;
    run = [](Client& c, bool json) { return serviceAdd(c, json, add_args); };
  });

  CLI::App* del = service->add_subcommand("del", "delete a service");
  del->add_option("SERVICE", key, kServiceHelp)->required();
  del->callback([&] { run = [](Client& c, bool json) { return serviceDel(c, json, key); }; });
}

void addEndpointCommands(CLI::App& app, Run& run) {
  CLI::App* endpoint = app.add_subcommand("endpoint", "add, delete and change endpoints");
  endpoint->require_subcommand(1);
  static EndpointArgs args;

  CLI::App* add = endpoint->add_subcommand("add", "add an endpoint to a service");
  CLI::App* del = endpoint->add_subcommand("del", "remove an endpoint from a service");
  CLI::App* set = endpoint->add_subcommand("set", "change an endpoint's weight and/or state");
  for (CLI::App* sub : {add, del, set}) {
    sub->add_option("SERVICE", args.service, kServiceHelp)->required();
    sub->add_option("ENDPOINT", args.endpoint, kEndpointHelp)->required();
  }
  for (CLI::App* sub : {add, set}) {
    CLI::Option* weight = sub->add_option("--weight", args.weight, "1..65535 (default 1)");
    sub->add_option("--state", args.state, kStateHelp);
    sub->callback([&, sub, add, weight] {
      args.has_weight = weight->count() > 0;
      if (sub == add) {
        run = [](Client& c, bool json) { return endpointAdd(c, json, args); };
      } else {
        run = [](Client& c, bool json) { return endpointSet(c, json, args); };
      }
    });
  }
  del->callback([&] { run = [](Client& c, bool json) { return endpointDel(c, json, args); }; });
}

void addStatsCommands(CLI::App& app, Run& run) {
  static StatsArgs stats_args;
  static bool no_services = false;
  CLI::App* st =
      app.add_subcommand("stats", "workers, ports, conntrack, publisher and per-service traffic");
  st->add_flag("--no-services", no_services, "leave out the per-service and endpoint traffic");
  st->add_option("--interval", stats_args.interval_s,
                 "seconds between two samples: busy share and packet rates over them")
      ->check(CLI::Range(0.0, 3600.0));
  st->callback([&] {
    stats_args.services = !no_services;
    run = [](Client& c, bool json) { return stats(c, json, stats_args); };
  });

  static FlowsArgs f;
  CLI::App* fl = app.add_subcommand("flows", "tracked flows, filtered, at most --limit");
  fl->add_option("--vip", f.vip, "flows to this VIP");
  fl->add_option("--port", f.port, "... and this service port")->check(CLI::Range(1, 65535));
  fl->add_option("--proto", f.proto, "... and this protocol (tcp, udp)");
  fl->add_option("--client", f.client, "flows from this client address");
  fl->add_option("--endpoint", f.endpoint, "flows to this endpoint address");
  fl->add_option("--limit", f.limit, "at most this many flows, 1..10000 (default 100)")
      ->check(CLI::Range(1, 10000));
  fl->callback([&] { run = [](Client& c, bool json) { return flows(c, json, f); }; });
}

void addConfigCommands(CLI::App& app, Run& run) {
  app.add_subcommand("reload", "re-read sluiced's config file and publish its services")
      ->callback([&] { run = [](Client& c, bool json) { return reload(c, json); }; });

  static std::string config;
  static bool server_path = false;
  CLI::App* ch = app.add_subcommand("check", "validate a config file without applying it");
  ch->add_option("CONFIG", config, "the file, sent as text; - for stdin")->required();
  ch->add_flag("--server-path", server_path,
               "send the path for sluiced to read (resolves @include, on sluiced's host)");
  ch->callback(
      [&] { run = [](Client& c, bool json) { return check(c, json, config, server_path); }; });

  static std::string source;
  CLI::App* du = app.add_subcommand("dump", "the running services as config text");
  du->add_option("--source", source, "only services from config, api or xds");
  du->callback([&] { run = [](Client& c, bool json) { return dump(c, json, source); }; });
}

}  // namespace

int main(int argc, char** argv) {
  // gRPC's own log lines (a failed TLS handshake, ...) repeat what the
  // status says; GRPC_VERBOSITY brings them back.
  if (std::getenv("GRPC_VERBOSITY") == nullptr) {
    gpr_set_log_function([](gpr_log_func_args*) {});
  }
  CLI::App app("sluicectl: drive and inspect a running sluiced through its admin API", "sluicectl");
  app.footer(
      "Examples:\n"
      "  sluicectl service add 10.96.0.10:80/tcp 10.244.0.11:8080 10.244.0.12:8080,weight=2\n"
      "  sluicectl endpoint set 10.96.0.10:80/tcp 10.244.0.11:8080 --state terminating\n"
      "  sluicectl stats --interval 1\n"
      "  sluicectl flows --vip 10.96.0.10 --endpoint 10.244.0.12 --limit 20\n"
      "  sluicectl dump --source api > api-services.conf\n"
      "\n"
      "Exit codes: 0 done, 1 sluiced refused (its status code and message on stderr), 2 usage "
      "error, 3 sluiced unreachable, 4 timed out.");
  app.require_subcommand(1);
  app.fallthrough();  // global options after the command too

  Globals g;
  g.target.socket = kDefaultSocket;
  CLI::Option* socket = app.add_option("--socket", g.target.socket, "sluiced's admin unix socket")
                            ->capture_default_str()
                            ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  CLI::Option* tcp =
      app.add_option("--tcp", g.target.tcp, "HOST:PORT of sluiced's TLS listener instead");
  tcp->excludes(socket);
  app.add_option("--ca", g.target.ca, "PEM CA bundle that signed the server (TLS)")->needs(tcp);
  CLI::Option* cert =
      app.add_option("--cert", g.target.cert, "PEM client certificate (TLS)")->needs(tcp);
  CLI::Option* key = app.add_option("--key", g.target.key, "PEM client key (TLS)")->needs(tcp);
  cert->needs(key);
  key->needs(cert);
  app.add_option("--server-name", g.target.server_name,
                 "name to check the server certificate against (TLS)")
      ->needs(tcp);
  app.add_flag("--json", g.json, "machine-readable output");
  app.add_option("--timeout", g.target.timeout_s, "seconds to wait for each answer")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);

  Run run;
  addServiceCommands(app, run);
  addEndpointCommands(app, run);
  addStatsCommands(app, run);
  addConfigCommands(app, run);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "sluicectl: %s\nRun sluicectl --help for usage.\n", e.what());
    return kExitUsage;
  }
  Client client(g.target);
  if (!client.ok()) {
    return client.exitCode();
  }
  return run(client, g.json);
}
