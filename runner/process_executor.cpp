#include "runner/process_executor.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "runner/work_directory.hpp"
#include "runtime/task_result.hpp"

extern char** environ;

namespace podflow::runner {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// The directory holding this podflow binary: podflow-runtime and the example step programs live
// beside it, and tasks find them on PATH.
fs::path own_directory() {
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  return error ? fs::path{} : self.parent_path();
}

// The pids of this process's children, as the kernel lists them (Linux 3.5+).
std::vector<pid_t> child_processes() {
  std::vector<pid_t> children;
  std::error_code error;
  for (const auto& thread : fs::directory_iterator("/proc/self/task", error)) {
    std::ifstream list(thread.path() / "children");
    for (pid_t pid = 0; list >> pid;) children.push_back(pid);
  }
  return children;
}

std::int64_t milliseconds_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

}  // namespace

ProcessExecutor::ProcessExecutor(const flow::FlowSpec& flow, const flow::FlowGraph& graph,
                                 runtime::RunContext context, fs::path scratch,
                                 std::int64_t grace_seconds)
    : flow_(flow),
      graph_(graph),
      context_(std::move(context)),
      scratch_(std::move(scratch)),
      bin_dir_(own_directory()),
      grace_seconds_(grace_seconds) {}

fs::path ProcessExecutor::output_path(const flow::PlannedTask& task,
                                      const std::string& suffix) const {
  return scratch_ / (task.id + "." + std::to_string(task.attempt) + suffix);
}

void ProcessExecutor::launch(const flow::PlannedTask& task) {
  RunningTask running;
  running.task = task;
  running.work_dir = output_path(task, "");
  running.result_path = output_path(task, ".result.json");
  std::error_code ignored;
  fs::remove_all(running.work_dir, ignored);
  fs::remove(running.result_path, ignored);
  const auto cannot_start = [&](std::string reason, bool retryable) {
    FinishedTask finished;
    finished.task = task;
    finished.retryable = retryable;
    finished.reason = std::move(reason);
    failed_to_start_.push_back(std::move(finished));
  };
  // The spec goes in a file: in the environment, a large parameter would make exec fail with
  // "Argument list too long" (E2BIG: 128 KiB per string).
  const fs::path spec_path = output_path(task, ".task.json");
  {
    runtime::TaskSpec spec = runtime::make_task_spec(flow_, graph_, task, context_);
    spec.workDir = running.work_dir.string();
    std::ofstream spec_file(spec_path, std::ios::binary | std::ios::trunc);
    spec_file << runtime::task_spec_to_json(spec);
    spec_file.close();
    if (!spec_file) {
      cannot_start("cannot write the task spec " + spec_path.string(), true);
      return;
    }
  }

  // The runtime gets this environment plus the task; build/bin goes first on PATH so the
  // project's step programs are found.
  std::vector<std::string> environment;
  const std::string path = std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin";
  for (char** entry = environ; *entry; ++entry) {
    if (std::strncmp(*entry, "PATH=", 5) != 0 && std::strncmp(*entry, "PODFLOW_TASK=", 13) != 0) {
      environment.emplace_back(*entry);
    }
  }
  environment.push_back("PATH=" + bin_dir_.string() + ":" + path);
  std::vector<char*> envp;
  for (auto& entry : environment) envp.push_back(entry.data());
  envp.push_back(nullptr);

  const std::string runtime = (bin_dir_ / "podflow-runtime").string();
  std::string task_flag = "--task";
  std::string task_path = spec_path.string();
  std::string result_flag = "--result";
  std::string result_path = running.result_path.string();
  std::string parent_flag = "--parent-pid";
  std::string parent_pid = std::to_string(::getpid());
  std::string program = runtime;
  // --parent-pid: if podflow dies (even by SIGKILL), each runtime stops its step as on SIGTERM.
  std::vector<char*> argv{
      program.data(),     task_flag.data(),   task_path.data(),  result_flag.data(),
      result_path.data(), parent_flag.data(), parent_pid.data(), nullptr};

  // Its own process group, so Ctrl-C at the terminal reaches only podflow, which then stops
  // each task in order; default signal handling and an empty mask, as a fresh program expects.
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setflags(&attributes,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attributes, 0);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attributes, &empty);
  sigset_t defaults;
  sigemptyset(&defaults);
  for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGCHLD, SIGPIPE}) sigaddset(&defaults, signal);
  posix_spawnattr_setsigdefault(&attributes, &defaults);
  // The runtime copies the step's output to its own; it is shown when the task finishes, one
  // task's lines together, above the progress display.
  const std::string stdout_path = output_path(task, ".stdout").string();
  const std::string stderr_path = output_path(task, ".stderr").string();
  posix_spawn_file_actions_t files;
  posix_spawn_file_actions_init(&files);
  posix_spawn_file_actions_addopen(&files, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&files, STDOUT_FILENO, stdout_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&files, STDERR_FILENO, stderr_path.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = 0;
  const int error =
      posix_spawn(&pid, runtime.c_str(), &files, &attributes, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&files);
  posix_spawnattr_destroy(&attributes);
  if (error != 0) {
    cannot_start("cannot start " + runtime + ": " + std::strerror(error), false);
    return;
  }
  running.pid = pid;
  running.started = Clock::now();
  running_.emplace(pid, std::move(running));
}

std::vector<FinishedTask> ProcessExecutor::collect(std::vector<std::string>&) {
  std::vector<FinishedTask> finished(std::make_move_iterator(failed_to_start_.begin()),
                                     std::make_move_iterator(failed_to_start_.end()));
  failed_to_start_.clear();
  bool orphans = false;
  while (true) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    auto found = running_.find(pid);
    if (found == running_.end()) continue;  // an adopted stray, now gone
    RunningTask running = std::move(found->second);
    running_.erase(found);
    finished.push_back(report(running, status));
    // A runtime that ended by a signal could not end its step's processes: they are ours now.
    if (WIFSIGNALED(status)) orphans = true;
    remove_files(running);
  }
  if (orphans) kill_stray_processes();
  return finished;
}

void ProcessExecutor::remove_files(const RunningTask& running) {
  if (keep_work_directories()) return;
  // A runtime killed before cleaning up leaves its work dir behind.
  std::error_code ignored;
  fs::remove_all(running.work_dir, ignored);
  fs::remove(running.result_path, ignored);
  for (const char* suffix : {".stdout", ".stderr", ".task.json"}) {
    fs::remove(output_path(running.task, suffix), ignored);
  }
}

FinishedTask ProcessExecutor::report(const RunningTask& running, int wait_status) {
  FinishedTask finished;
  finished.task = running.task;
  finished.duration_ms = milliseconds_since(running.started);
  for (const char* suffix : {".stdout", ".stderr"}) {
    std::ifstream in(output_path(running.task, suffix));
    for (std::string line; std::getline(in, line);)
      add_output_line(finished.output, std::move(line));
  }
  std::optional<runtime::TaskResult> result;
  std::ifstream in(running.result_path);
  if (in) {
    std::ostringstream text;
    text << in.rdbuf();
    try {
      result = runtime::task_result_from_json(text.str());
    } catch (const std::exception&) {
      // reported below as a runtime that left no result
    }
  }
  if (!result) {
    std::string reason = "podflow-runtime ";
    if (WIFSIGNALED(wait_status)) {
      reason += "was killed by signal " + std::to_string(WTERMSIG(wait_status));
    } else {
      reason += "exited with code " + std::to_string(WEXITSTATUS(wait_status));
    }
    finished.reason = reason + " without reporting a result";
    return finished;
  }
  finished.succeeded = result->status == runtime::TaskStatus::succeeded;
  finished.split_count = result->splitCount;
  finished.retryable = result->retryable;
  if (!finished.succeeded) finished.reason = result->reason.empty() ? "failed" : result->reason;
  finished.stderr_tail = result->stderrTail;
  return finished;
}

// Kills and reaps every child that is not a running task's runtime: processes a killed runtime
// left behind, adopted by this subreaper. Their own children are adopted in turn as they die,
// so it repeats until none is left.
void ProcessExecutor::kill_stray_processes() {
  while (true) {
    std::vector<pid_t> strays;
    for (const pid_t pid : child_processes()) {
      if (!running_.contains(pid) && !unkillable_.contains(pid)) strays.push_back(pid);
    }
    if (strays.empty()) return;
    for (const pid_t pid : strays) ::kill(pid, SIGKILL);
    for (const pid_t pid : strays) {
      // Reaped one by one (never waitpid(-1), which could take a running task's runtime); a
      // process stuck in the kernel gets 5 s, then the run goes on without waiting for it.
      int status = 0;
      int tries = 0;
      while (::waitpid(pid, &status, WNOHANG) == 0 && ++tries < 500) usleep(10000);
      if (tries == 500) unkillable_.insert(pid);
    }
  }
}

// SIGTERM to every runtime's process group; each runtime stops its step in turn.
void ProcessExecutor::stop_all() {
  for (const auto& [pid, running] : running_) kill(-pid, SIGTERM);
}

// Ctrl-C: ask every task to stop, wait for the grace period, then kill what is left: the
// runtimes' groups and the steps' own groups (each runtime writes its step's group id).
void ProcessExecutor::kill_everything() {
  std::map<pid_t, pid_t> step_groups;
  for (const auto& [pid, running] : running_) {
    std::ifstream in(running.work_dir / "step.pgid");
    pid_t group = 0;
    if (in >> group && group > 1) step_groups[pid] = group;
  }
  stop_all();
  const auto deadline = Clock::now() + std::chrono::seconds(grace_seconds_ + 2);
  while (!running_.empty() && Clock::now() < deadline) {
    reap_quietly();
    if (!running_.empty()) usleep(20000);
  }
  for (const auto& [pid, running] : running_) kill(-pid, SIGKILL);
  for (const auto& [pid, group] : step_groups) kill(-group, SIGKILL);
  while (!running_.empty()) {
    reap_quietly();
    if (!running_.empty()) usleep(10000);
  }
}

void ProcessExecutor::reap_quietly() {
  int status = 0;
  pid_t pid = 0;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    auto found = running_.find(pid);
    if (found == running_.end()) continue;
    std::error_code ignored;
    fs::remove_all(found->second.work_dir, ignored);
    running_.erase(found);
  }
}

}  // namespace podflow::runner
