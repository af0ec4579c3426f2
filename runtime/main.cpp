// podflow-runtime: runs ONE task attempt (docs/step-contract.md).
//
//   podflow-runtime [--task FILE] [--result FILE] [--parent-pid PID]
//   podflow-runtime --install DIR
//
// The task spec is the JSON in FILE, else in $PODFLOW_TASK. The result goes to --result FILE,
// else $PODFLOW_RESULT_PATH, else /dev/termination-log when it is writable (in a Kubernetes pod).
// --parent-pid PID (the local runner passes its own pid): the runtime asks the kernel for SIGTERM
// when its parent dies (PR_SET_PDEATHSIG) and checks that its parent is still PID; if the parent
// is already gone, or dies later, even by SIGKILL, the runtime stops the step exactly as on
// SIGTERM (grace period, then SIGKILL, every descendant killed, task reported `killed`). The
// runtime is a child subreaper, so no process the step starts (even with setsid) outlives it.
// --install DIR copies this executable to DIR/podflow-runtime and exits: the init container of
// every task pod does it into an emptyDir, from which the step's container (any image) runs it
// (docs/kubernetes.md, "Step images"). The binary is static, so it needs nothing of that image.
// Exit code: 0 the task succeeded, 1 it did not, 2 the command line or the task spec is wrong.
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
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

#ifdef PODFLOW_STATIC_RUNTIME
extern "C" int __nss_configure_lookup(const char* database, const char* services);
#endif

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

// Copies /proc/self/exe to directory/podflow-runtime (mode 0555), under a temporary name first
// so that the step never finds half a file. Returns the exit code.
int install_into(const std::string& directory) {
  const std::string target = directory + "/podflow-runtime";
  const std::string temporary = target + ".partial";
  auto failed = [&](const std::string& what) {
    std::cerr << "podflow-runtime: cannot install into " << directory << ": " << what << ": "
              << std::strerror(errno) << "\n";
    ::unlink(temporary.c_str());
    return 1;
  };
  const int source = ::open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  if (source < 0) return failed("open /proc/self/exe");
  struct stat status {};
  if (::fstat(source, &status) != 0) return failed("stat /proc/self/exe");
  const int copy = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0700);
  if (copy < 0) return failed("create " + temporary);
  off_t offset = 0;
  while (offset < status.st_size) {
    const ssize_t sent = ::sendfile(copy, source, &offset, status.st_size - offset);
    if (sent < 0 && errno == EINTR) continue;
    if (sent == 0) errno = EIO;  // the file ended early: it changed under us
    if (sent <= 0) return failed("copy to " + temporary);
  }
  if (::fchmod(copy, 0555) != 0) return failed("chmod " + temporary);
  if (::close(copy) != 0) return failed("write " + temporary);
  ::close(source);
  if (::rename(temporary.c_str(), target.c_str()) != 0) return failed("rename to " + target);
  std::cout << "podflow-runtime: installed " << target << " (" << status.st_size << " bytes)\n";
  return 0;
}

// A static glibc would load the NSS modules an image's /etc/nsswitch.conf names (mdns, sss,
// ...) with dlopen, from that image's libc: a crash waiting to happen. Host and user lookups use
// the modules built into the binary only.
void use_builtin_name_services() {
#ifdef PODFLOW_STATIC_RUNTIME
  __nss_configure_lookup("hosts", "files dns");
  __nss_configure_lookup("passwd", "files");
  __nss_configure_lookup("group", "files");
#endif
}

}  // namespace

int main(int argc, char** argv) {
  // First, before any thread exists, so every thread inherits the blocked signals.
  podflow::runtime::TerminationSignals signals;

  CLI::App app{"podflow-runtime: runs one task of a flow (see docs/step-contract.md)"};
  std::string task_file;
  std::string result_file;
  std::string install_directory;
  pid_t parent_pid = 0;
  app.add_option("--task", task_file, "The task spec (JSON); default: $PODFLOW_TASK");
  app.add_option("--parent-pid", parent_pid,
                 "Stop the step as on SIGTERM when this process (our parent) dies")
      ->check(CLI::PositiveNumber);
  app.add_option("--result", result_file,
                 "Where to write the result (JSON); default: $PODFLOW_RESULT_PATH, else "
                 "/dev/termination-log if writable");
  app.add_option("--install", install_directory,
                 "Copy this executable to DIR/podflow-runtime and exit (a task pod's init "
                 "container)")
      ->check(CLI::ExistingDirectory);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::ParseError& error) {
    app.exit(error);
    return 2;
  }
  if (!install_directory.empty()) return install_into(install_directory);
  use_builtin_name_services();
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
