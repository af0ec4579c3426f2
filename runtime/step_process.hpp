// Runs the step's command and supervises it until it is gone: argv directly (execvp, never a
// shell) in a process group of its own, dying with the runtime (PR_SET_PDEATHSIG); stdout and
// stderr written to log files AND copied through to the runtime's own; a timeout that sends
// SIGTERM to the group, then SIGKILL after the grace period; the same stop on SIGTERM/SIGINT to
// the runtime. When the command exits (or is stopped), whatever it left running is killed: its
// group, and every other descendant (a process that left the group with setsid), which the
// runtime adopts as a child subreaper (become_subreaper) and kills and reaps before it returns,
// so nothing of the step can write to an output after the outputs are stored.
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
  std::string image;  // the container image it runs in, named when the program is missing there
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

// Makes this process a child subreaper (PR_SET_CHILD_SUBREAPER): a descendant whose parent dies
// becomes our child instead of init's, so kill_descendants can find it. Call it before the step
// starts. Returns false (errno set) if the kernel refused.
bool become_subreaper();

// SIGKILLs and reaps every descendant of this process until none is left (grandchildren become
// children as their parents die), within `limit`; returns how many were killed. Only direct
// children are ever signalled: their ids cannot be reused before we reap them. Must not run
// while a child we still want to waitpid() for is alive.
int kill_descendants(std::chrono::milliseconds limit = std::chrono::seconds(10));

}  // namespace podflow::runtime
