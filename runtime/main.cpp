// podflow-runtime: runs ONE task attempt (docs/step-contract.md).
//
//   podflow-runtime [--task FILE] [--result FILE] [--parent-pid PID]
//
// The task spec is the JSON in FILE, else in $PODFLOW_TASK. The result goes to --result FILE,
// else $PODFLOW_RESULT_PATH, else /dev/termination-log when it is writable (in a Kubernetes pod).
// --parent-pid PID (the local runner passes its own pid): the runtime asks the kernel for SIGTERM
// when its parent dies (PR_SET_PDEATHSIG) and checks that its parent is still PID; if the parent
// is already gone, or dies later, even by SIGKILL, the runtime stops the step exactly as on
// SIGTERM (grace period, then SIGKILL, every descendant killed, task reported `killed`). The
// runtime is a child subreaper, so no process the step starts (even with setsid) outlives it.
// Exit code: 0 the task succeeded, 1 it did not, 2 the command line or the task spec is wrong.
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "runtime/step_process.hpp"
#include "runtime/task_result.hpp"
#include "runtime/task_runner.hpp"
#include "runtime/task_spec.hpp"
#include "runtime/termination_signals.hpp"

namespace {

using podflow::runtime::TaskResult;
using podflow::runtime::TaskStatus;

constexpr const char* kTerminationLog = "/dev/termination-log";

std::optional<std::string> result_destination(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (const char* path = std::getenv("PODFLOW_RESULT_PATH"); path && *path) return path;
  // The test cluster's process node names the termination-message file here when it cannot
  // mount it at the pod's terminationMessagePath (docs/testing.md).
  if (const char* path = std::getenv("PODFLOW_TERMINATION_MESSAGE_PATH"); path && *path)
    return path;
  if (::access(kTerminationLog, W_OK) == 0) return kTerminationLog;
  return std::nullopt;
}

void write_result(const std::optional<std::string>& destination, const TaskResult& result) {
  if (!destination) return;
  std::ofstream file(*destination, std::ios::trunc);
  file << podflow::runtime::task_result_to_json(result);
  file.close();
  if (!file) std::cerr << "podflow-runtime: cannot write the result to " << *destination << "\n";
}

// The spec's text, or nullopt after saying why there is none.
std::optional<std::string> read_task_text(const std::string& task_file) {
  if (!task_file.empty()) {
    std::ifstream file(task_file, std::ios::binary);
    if (!file) {
      std::cerr << "podflow-runtime: cannot read the task spec " << task_file << "\n";
      return std::nullopt;
    }
    std::ostringstream text;
    text << file.rdbuf();
    return text.str();
  }
  if (const char* text = std::getenv("PODFLOW_TASK"); text && *text) return std::string(text);
  std::cerr << "podflow-runtime: no task: pass --task FILE or set PODFLOW_TASK to the task spec "
               "(JSON)\n";
  return std::nullopt;
}

}  // namespace

int main(int argc, char** argv) {
  // First, before any thread exists, so every thread inherits the blocked signals.
  podflow::runtime::TerminationSignals signals;

  CLI::App app{"podflow-runtime: runs one task of a flow (see docs/step-contract.md)"};
  std::string task_file;
  std::string result_file;
  pid_t parent_pid = 0;
  app.add_option("--task", task_file, "The task spec (JSON); default: $PODFLOW_TASK");
  app.add_option("--parent-pid", parent_pid,
                 "Stop the step as on SIGTERM when this process (our parent) dies")
      ->check(CLI::PositiveNumber);
  app.add_option("--result", result_file,
                 "Where to write the result (JSON); default: $PODFLOW_RESULT_PATH, else "
                 "/dev/termination-log if writable");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::ParseError& error) {
    app.exit(error);
    return 2;
  }
  const auto destination = result_destination(result_file);

  if (parent_pid > 0) {
    // The signal arrives through the signalfd like any SIGTERM. Checked after prctl: a parent
    // that died before it would never send it.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent_pid) ::kill(::getpid(), SIGTERM);
  }
  // Before the step starts: processes it orphans become ours, so we can kill them all.
  if (!podflow::runtime::become_subreaper()) {
    std::cerr << "podflow-runtime: cannot become a child subreaper (" << std::strerror(errno)
              << "); processes the step starts with setsid may outlive it\n";
  }

  const auto text = read_task_text(task_file);
  TaskResult refused;
  refused.retryable = false;
  if (!text) {
    refused.reason = "no task spec";
    write_result(destination, refused);
    return 2;
  }
  podflow::runtime::TaskSpec spec;
  try {
    spec = podflow::runtime::task_spec_from_json(*text);
  } catch (const podflow::runtime::TaskSpecError& error) {
    std::cerr << "podflow-runtime: " << error.what() << "\n";
    refused.reason = error.what();
    write_result(destination, refused);
    return 2;
  }

  const TaskResult result = podflow::runtime::run_task(spec, signals);
  write_result(destination, result);
  if (result.status != TaskStatus::succeeded) {
    std::cerr << "podflow-runtime: task " << spec.run << "/" << spec.task << " attempt "
              << spec.attempt << " " << podflow::runtime::task_status_name(result.status) << ": "
              << result.reason << "\n";
    return 1;
  }
  return 0;
}
