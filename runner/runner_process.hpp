// Which process runs a local run, and whether it still does. A run whose `podflow` was
// SIGKILLed, or whose machine rebooted, would otherwise say "running" in its record forever.
#pragma once

#include <cstdint>
#include <string>

namespace podflow::runner {

struct RunnerProcess {
  std::string host;
  std::string boot_id;  // /proc/sys/kernel/random/boot_id: pids restart at a reboot
  std::int64_t pid = 0;
  std::int64_t start_ticks = 0;  // /proc/<pid>/stat field 22: tells a reused pid apart
};

// This process.
RunnerProcess this_runner();

enum class RunnerState {
  alive,    // the same process still exists on this machine
  gone,     // it does not: the run will never finish by itself
  unknown,  // recorded on another machine (a shared S3 datastore), or by an older podflow
};

RunnerState runner_state(const RunnerProcess& runner);

}  // namespace podflow::runner
