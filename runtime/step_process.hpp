// Runs the step's command and supervises it until it is gone: argv directly (execvp, never a
// shell) in a process group of its own, dying with the runtime (PR_SET_PDEATHSIG); stdout and
// stderr written to log files AND copied through to the runtime's own; a timeout that sends
// SIGTERM to the group, then SIGKILL after the grace period; the same stop on SIGTERM/SIGINT to
// the runtime. When the command exits, whatever it left running in its group is killed.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "runtime/termination_signals.hpp"

namespace podflow::runtime {

struct StepCommand {
  std::vector<std::string> argv;
  std::vector<std::string> environment;  // "NAME=value", the step's whole environment
  std::optional<std::filesystem::path> working_directory;
  std::filesystem::path stdout_log;
  std::filesystem::path stderr_log;
  std::filesystem::path process_group_file;  // receives the step's process group id
  std::chrono::seconds timeout{432000};
  std::chrono::seconds grace{10};
};

enum class StepEnding {
  exited,           // exit_code holds its status
  signaled,         // a signal ended it (not one we sent): signal holds it
  timed_out,        // we stopped it at its timeout
  stopped,          // we stopped it because the runtime got SIGTERM or SIGINT
  could_not_start,  // chdir or exec failed: start_error says why
};

struct StepOutcome {
  StepEnding ending = StepEnding::exited;
  int exit_code = -1;  // exit status, or 128 + signal; -1 when it never ran
  int signal = 0;
  std::optional<int> termination_signal;  // what the runtime received, for `stopped`
  std::string start_error;
};

// Throws std::runtime_error when the pipes, log files or process cannot be created.
StepOutcome run_step(const StepCommand& command, TerminationSignals& signals);

}  // namespace podflow::runtime
