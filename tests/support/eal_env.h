// A gtest main for tests that need DPDK: starts the EAL once per process with
// --no-huge, no PCI and a file prefix unique to the process.
#pragma once

namespace sluice::test {
// Extra EAL arguments a test binary wants (e.g. vdevs); set before main runs.
void addEalArg(const char* arg);
}  // namespace sluice::test
