// sluice-xds: a small xDS management server. Serves the services of a
// services file (sluiced's services schema) as Listeners, Clusters and
// ClusterLoadAssignments over ADS, state of the world and delta, and pushes
// the change to every client when the file changes. A file that does not
// load leaves the last good snapshot in force.
//
// Exit codes: 0 stopped by SIGINT or SIGTERM, 1 cannot start (the services
// file does not load, cannot listen), 2 usage.
#include <sys/stat.h>

#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <tuple>

#include <CLI/CLI.hpp>

#include "cp/services_file.h"
#include "tools/xds-server/server.h"

namespace {

using namespace sluice;
using namespace sluice::xds_server;

constexpr int kExitStartFailed = 1;
constexpr int kExitUsage = 2;

struct Options {
  std::string services;
  ServerOptions server;
  unsigned poll_ms = 500;
};

void say(const std::string& line) {
  std::printf("sluice-xds: %s\n", line.c_str());
}

// What tells a changed file from an unchanged one without reading it; an
// editor that writes a new file and renames it changes the inode.
struct FileStamp {
  bool exists = false;
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  friend bool operator==(const FileStamp&, const FileStamp&) = default;
};

FileStamp stampOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return {};
  }
  constexpr int64_t kNsPerS = 1000000000;
  return {true, st.st_dev, st.st_ino, st.st_size,
          static_cast<int64_t>(st.st_mtim.tv_sec) * kNsPerS + st.st_mtim.tv_nsec};
}

void sayVersion(const Snapshot& snapshot) {
  say("version " + std::to_string(snapshot.version) + ": " + std::to_string(snapshot.services) +
      " services, " + std::to_string(snapshot.endpoints) + " endpoints");
}

// Loads the file and serves it. False when it did not load, after saying
// why; the server keeps what it served.
bool reload(XdsServer& server, const std::string& path) {
  uint64_t before = server.snapshot()->version;
  auto services = cp::loadServicesFile(path);
  Status status = services ? Status::ok() : services.status();
  if (status) {
    auto snapshot = server.setServices(*services);
    if (snapshot) {
      if ((*snapshot)->version == before) {
        say(path + " changed, resources did not: still version " + std::to_string(before));
      } else {
        sayVersion(**snapshot);
      }
      return true;
    }
    status = snapshot.status();
  }
  std::fprintf(stderr, "sluice-xds: %s not loaded, keeping version %llu:\n%s\n", path.c_str(),
               static_cast<unsigned long long>(before), status.message().c_str());
  return false;
}

int run(const Options& options) {
  // Blocked before gRPC starts its threads, so they inherit the mask and
  // the signals wait for sigtimedwait below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  FileStamp stamp = stampOf(options.services);
  auto services = cp::loadServicesFile(options.services);
  if (!services) {
    std::fprintf(stderr, "sluice-xds: %s\n", services.status().message().c_str());
    return kExitStartFailed;
  }
  auto server =
      XdsServer::start(options.server, [](const StreamEvent& event) { say(describe(event)); });
  if (!server) {
    std::fprintf(stderr, "sluice-xds: %s\n", server.status().message().c_str());
    return kExitStartFailed;
  }
  auto snapshot = (*server)->setServices(*services);
  if (!snapshot) {
    std::fprintf(stderr, "sluice-xds: %s: %s\n", options.services.c_str(),
                 snapshot.status().message().c_str());
    return kExitStartFailed;
  }
  say("serving " + options.services + " on " + (*server)->address() +
      " (ADS: state of the world and delta)");
  sayVersion(**snapshot);

  timespec poll{static_cast<time_t>(options.poll_ms / 1000),
                static_cast<long>(options.poll_ms % 1000) * 1000000L};
  while (true) {
    int signal = sigtimedwait(&stop_signals, nullptr, &poll);
    if (signal > 0) {
      say(std::string("stopping on ") + (signal == SIGINT ? "SIGINT" : "SIGTERM"));
      break;
    }
    FileStamp now = stampOf(options.services);
    if (now != stamp) {
      // Remembered even when the load fails: a half-written file is
      // reloaded once it changes again, not on every poll.
      stamp = now;
      reload(**server, options.services);
    }
  }
  (*server)->stop();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Lines go to a log file or a pipe in tests and under systemd: one at a time.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  Options options;
  CLI::App app(
      "sluice-xds: serves a services file over xDS (ADS, state of the world and delta) and "
      "pushes its changes to every client",
      "sluice-xds");
  app.add_option("--services", options.services,
                 "services file: services = ( ... ) as in sluiced's config")
      ->required();
  app.add_option("--listen", options.server.listen, "HOST:PORT (port 0 picks one) or unix:PATH")
      ->default_val(options.server.listen);
  app.add_option("--poll-ms", options.poll_ms, "how often to check the file for changes")
      ->default_val(options.poll_ms)
      ->check(CLI::Range(10u, 3600000u));
  CLI::Option* cert = app.add_option("--tls-cert", options.server.tls_cert,
                                     "PEM certificate: serve TLS (with --tls-key)");
  CLI::Option* key =
      app.add_option("--tls-key", options.server.tls_key, "PEM private key of --tls-cert");
  cert->needs(key);
  key->needs(cert);
  app.add_option("--max-send-bytes", options.server.max_send_bytes,
                 "largest response to send (default: no limit)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "sluice-xds: %s\nRun sluice-xds --help for usage.\n", e.what());
    return kExitUsage;
  }
  return run(options);
}
