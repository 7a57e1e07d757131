#include "tests/support/eal_env.h"

#include <rte_eal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace sluice::test {
namespace {
std::vector<std::string>& extraArgs() {
  static std::vector<std::string> args;
  return args;
}
}  // namespace

void addEalArg(const char* arg) {
  extraArgs().emplace_back(arg);
}

}  // namespace sluice::test

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  // A prefix of its own per process, so concurrent tests never collide; its
  // runtime folder is removed at exit.
  std::vector<std::string> args = {
      argv[0],       "--no-huge",     "-m",
      "256",         "--no-pci",      "--no-telemetry",
      "--log-level", "lib.eal:error", "--lcores",
      "0@0,1@0,2@0", "--file-prefix", "sluice-test-" + std::to_string(getpid()),
  };
  for (const auto& a : sluice::test::extraArgs()) args.push_back(a);
  std::vector<char*> cargs;
  for (auto& a : args) cargs.push_back(a.data());
  if (rte_eal_init(static_cast<int>(cargs.size()), cargs.data()) < 0) {
    std::fprintf(stderr, "rte_eal_init failed\n");
    return 2;
  }
  int rc = RUN_ALL_TESTS();
  std::string runtime_dir = rte_eal_get_runtime_dir();
  rte_eal_cleanup();
  std::error_code ignored;
  std::filesystem::remove_all(runtime_dir, ignored);
  return rc;
}
