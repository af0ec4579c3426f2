#include "cli/local_runner.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "cli/flow_file.hpp"
#include "cli/machine_check.hpp"
#include "cli/progress_display.hpp"
#include "cli/run_record.hpp"
#include "cli/runner_process.hpp"
#include "cli/work_directory.hpp"
#include "datastore/datastore.hpp"
#include "datastore/store_error.hpp"
#include "datastore/task_attempts.hpp"
#include "flow/parameters.hpp"
#include "flow/planner.hpp"
#include "runtime/task_result.hpp"
#include "runtime/task_spec.hpp"

extern char** environ;

namespace podflow::cli {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kExitInterrupted = 130;

// The directory holding this podflow binary: podflow-runtime and the example step programs live
// beside it, and tasks find them on PATH.
fs::path own_directory() {
  std::error_code error;
  const fs::path self = fs::read_symlink("/proc/self/exe", error);
  return error ? fs::path{} : self.parent_path();
}

// PODFLOW_KEEP_WORKDIR=1: the work directories stay, for debugging (docs/step-contract.md).
bool keep_work_directories() {
  const char* keep = std::getenv("PODFLOW_KEEP_WORKDIR");
  return keep != nullptr && std::strcmp(keep, "1") == 0;
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

std::string current_user() {
  if (const char* user = std::getenv("USER")) return user;
  if (const passwd* entry = getpwuid(getuid())) return entry->pw_name;
  return "unknown";
}

struct RunningTask {
  flow::PlannedTask task;
  pid_t pid = 0;
  fs::path work_dir;
  fs::path result_path;
  Clock::time_point started;
};

struct WaitingTask {
  flow::PlannedTask task;
  Clock::time_point not_before;
};

class LocalRun {
 public:
  LocalRun(const RunOptions& options, const flow::FlowSpec& flow, std::string flow_text,
           std::map<std::string, std::string> parameters, datastore::Datastore& store)
      : options_(options),
        flow_(flow),
        planner_(flow, options.overrides),
        store_(store),
        parameters_(std::move(parameters)),
        flow_dir_(fs::absolute(options.flow_path).parent_path()),
        bin_dir_(own_directory()) {
    record_.flow = flow.name;
    record_.flow_file = fs::absolute(options.flow_path).string();
    record_.flow_text = std::move(flow_text);
    record_.user = current_user();
    const RunnerProcess runner = this_runner();
    record_.pid = runner.pid;
    record_.host = runner.host;
    record_.boot_id = runner.boot_id;
    record_.pid_start_ticks = runner.start_ticks;
    record_.parameters = parameters_;
    record_.max_workers = options.max_workers;
    record_.max_num_splits = options.max_num_splits;
    record_.resumed_from = options.resume_from.value_or("");
    for (const auto& node : planner_.graph().nodes()) {
      StepSummary summary;
      summary.name = node.step->name;
      record_.steps.push_back(std::move(summary));
    }
  }

  int execute() {
    record_.run = store_.allocate_run_id();
    record_.state = "running";
    record_.started_at = utc_now();
    try {
      scratch_ = create_run_work_directory(options_.datastore, record_.run);
      save_record();
    } catch (const std::exception&) {
      // Leave no placeholder behind to fill a disk that is already full on every try.
      std::error_code ignored;
      if (!scratch_.empty()) fs::remove_all(scratch_, ignored);
      try {
        store_.release_run_id(record_.run);
      } catch (const std::exception&) {
        // The first error is the one to report.
      }
      throw;
    }
    // The runner adopts whatever a killed runtime leaves behind (a step's daemon), so it can
    // end it: no process of a task outlives the run.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    display_.emplace(stderr, options_.live_progress, record_.run, flow_.name);
    std::fprintf(stderr, "podflow: run %s of flow %s started (datastore %s)\n", record_.run.c_str(),
                 flow_.name.c_str(), store_.url().c_str());

    std::vector<flow::PlannedTask> first =
        options_.resume_from ? resume(*options_.resume_from) : planner_.start();
    for (auto& task : first) enqueue(std::move(task));
    const bool interrupted = loop();

    if (interrupted) {
      record_.state = "killed";
      record_.failure = "interrupted: every running task was killed";
    } else if (planner_.phase() == flow::RunPhase::Succeeded) {
      record_.state = "succeeded";
    } else {
      record_.state = "failed";
      record_.failure = planner_.failure();
    }
    record_.finished_at = utc_now();
    summarise_durations();
    save_record();
    display_->refresh(record_.steps, true);
    kill_stray_processes();
    if (keep_work_directories()) {
      std::fprintf(stderr, "podflow: PODFLOW_KEEP_WORKDIR=1: the work directories are kept in %s\n",
                   scratch_.c_str());
    } else {
      std::error_code ignored;
      fs::remove_all(scratch_, ignored);
    }

    if (record_.state == "succeeded") {
      std::fprintf(stderr, "podflow: run %s succeeded. Logs: podflow logs %s/end\n",
                   record_.run.c_str(), record_.run.c_str());
      std::printf("%s\n", record_.run.c_str());
      return 0;
    }
    std::fprintf(stderr, "podflow: run %s %s: %s\n", record_.run.c_str(), record_.state.c_str(),
                 record_.failure.c_str());
    if (record_.state == "failed") {
      std::fprintf(stderr, "podflow: fix it and resume: podflow resume %s\n", record_.run.c_str());
    }
    std::printf("%s\n", record_.run.c_str());
    return interrupted ? kExitInterrupted : 1;
  }

 private:
  // Clones every task the earlier run committed into this run (manifests only: blobs are shared)
  // and asks the planner what is left.
  std::vector<flow::PlannedTask> resume(const std::string& previous) {
    std::vector<flow::TaskOutcome> done;
    const auto cloned = datastore::clone_committed_tasks(
        store_, flow_.name, previous, record_.run,
        [&](const std::string& step, const std::string&) { return step_summary(step) != nullptr; });
    for (const auto& task : cloned.cloned) {
      done.push_back({task.task, task.attempt, true, task.split_count, true, ""});
      ++step_summary(task.step)->succeeded;
    }
    display_->note("podflow: resuming run " + previous + ": reusing " +
                   std::to_string(done.size()) + " successful task(s)");
    for (const auto& skipped : cloned.skipped) {
      display_->note("podflow: running " + skipped.task +
                     " again instead of reusing it: " + skipped.reason);
    }
    return planner_.restore(done);
  }

  void enqueue(flow::PlannedTask task) {
    const auto delay = std::chrono::seconds(task.delay_seconds);
    waiting_.push_back({std::move(task), Clock::now() + delay});
  }

  // Returns true when interrupted.
  bool loop() {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGCHLD);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGHUP);
    sigprocmask(SIG_BLOCK, &signals, &previous_mask_);

    bool interrupted = false;
    while (true) {
      if (planner_.phase() == flow::RunPhase::Running) launch_due_tasks();
      if (running_.empty() && (planner_.phase() != flow::RunPhase::Running || waiting_.empty())) {
        break;
      }
      if (planner_.phase() == flow::RunPhase::Failed && !running_.empty() && !stopping_) {
        // Like Metaflow: once the run has failed, the tasks still running are stopped.
        display_->note("podflow: " + planner_.failure() + "; stopping " +
                       std::to_string(running_.size()) + " running task(s)");
        stop_all(SIGTERM);
        stopping_ = true;
      }
      display_->refresh(record_.steps);
      siginfo_t info{};
      const timespec timeout = next_wakeup();
      const int signal = sigtimedwait(&signals, &info, &timeout);
      if (signal == SIGINT || signal == SIGTERM || signal == SIGHUP) {
        display_->note("podflow: interrupted; stopping " + std::to_string(running_.size()) +
                       " running task(s)");
        interrupted = true;
        kill_everything();
        break;
      }
      reap();
    }
    sigprocmask(SIG_SETMASK, &previous_mask_, nullptr);
    return interrupted;
  }

  timespec next_wakeup() const {
    auto wait = std::chrono::milliseconds(options_.live_progress ? 200 : 1000);
    const auto now = Clock::now();
    for (const auto& entry : waiting_) {
      if (entry.not_before > now) {
        wait = std::min(
            wait, std::chrono::duration_cast<std::chrono::milliseconds>(entry.not_before - now) +
                      std::chrono::milliseconds(1));
      } else if (running_.size() < static_cast<std::size_t>(options_.max_workers)) {
        wait = std::chrono::milliseconds(0);
      }
    }
    timespec timeout{};
    timeout.tv_sec = wait.count() / 1000;
    timeout.tv_nsec = (wait.count() % 1000) * 1000000;
    return timeout;
  }

  void launch_due_tasks() {
    const auto now = Clock::now();
    for (auto entry = waiting_.begin(); entry != waiting_.end();) {
      if (running_.size() >= static_cast<std::size_t>(options_.max_workers)) return;
      // A task that could not even start may have failed the run.
      if (planner_.phase() != flow::RunPhase::Running) return;
      if (entry->not_before > now) {
        ++entry;
        continue;
      }
      launch(std::move(entry->task));
      entry = waiting_.erase(entry);
    }
  }

  // The task spec the runtime reads (runtime/task_spec.hpp): one builder for every executor.
  std::string task_spec(const flow::PlannedTask& task, const fs::path& work_dir) const {
    runtime::RunContext context;
    context.datastore = store_.url();
    context.run = record_.run;
    context.workingDir = flow_dir_.string();
    for (const auto& [name, value] : parameters_) context.parameters.push_back({name, value});
    context.overrides = options_.overrides;
    context.graceSeconds = options_.grace_seconds;
    context.maxNumSplits = options_.max_num_splits;
    runtime::TaskSpec spec = runtime::make_task_spec(flow_, planner_.graph(), task, context);
    spec.workDir = work_dir.string();
    return runtime::task_spec_to_json(spec);
  }

  void launch(flow::PlannedTask task) {
    const std::string name = task.id + "." + std::to_string(task.attempt);
    RunningTask running;
    running.work_dir = scratch_ / name;
    running.result_path = scratch_ / (name + ".result.json");
    std::error_code ignored;
    fs::remove_all(running.work_dir, ignored);
    fs::remove(running.result_path, ignored);
    // The spec goes in a file: in the environment, a large parameter would make exec fail with
    // "Argument list too long" (E2BIG: 128 KiB per string).
    const fs::path spec_path = scratch_ / (name + ".task.json");
    {
      std::ofstream spec_file(spec_path, std::ios::binary | std::ios::trunc);
      spec_file << task_spec(task, running.work_dir);
      spec_file.close();
      if (!spec_file) {
        finish(task, false, std::nullopt, true, "cannot write the task spec " + spec_path.string(),
               "", 0);
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
    posix_spawnattr_setflags(
        &attributes, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
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
    const std::string stdout_path = (scratch_ / (name + ".stdout")).string();
    const std::string stderr_path = (scratch_ / (name + ".stderr")).string();
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

    const std::string step_name = planner_.graph().node(task.step).step->name;
    if (error != 0) {
      finish(task, false, std::nullopt, false,
             "cannot start " + runtime + ": " + std::strerror(error), "", 0);
      return;
    }
    running.task = std::move(task);
    running.pid = pid;
    running.started = Clock::now();
    if (auto step = step_summary(step_name)) ++step->running;
    running_.emplace(pid, std::move(running));
    peak_running_ = std::max(peak_running_, running_.size());
  }

  void reap() {
    while (true) {
      int status = 0;
      const pid_t pid = waitpid(-1, &status, WNOHANG);
      if (pid <= 0) return;
      auto found = running_.find(pid);
      if (found == running_.end()) continue;  // an adopted stray, now gone
      RunningTask running = std::move(found->second);
      running_.erase(found);
      const std::string step_name = planner_.graph().node(running.task.step).step->name;
      if (auto step = step_summary(step_name)) --step->running;
      const auto duration_ms =
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - running.started)
              .count();
      show_output(running);
      report(running, status, duration_ms);
      // A runtime that ended by a signal could not end its step's processes: they are ours now.
      if (WIFSIGNALED(status)) kill_stray_processes();
      if (keep_work_directories()) continue;
      // A runtime killed before cleaning up leaves its work dir behind.
      std::error_code ignored;
      fs::remove_all(running.work_dir, ignored);
      fs::remove(running.result_path, ignored);
      fs::remove(output_path(running, ".stdout"), ignored);
      fs::remove(output_path(running, ".stderr"), ignored);
      fs::remove(output_path(running, ".task.json"), ignored);
    }
  }

  fs::path output_path(const RunningTask& running, const std::string& suffix) const {
    return scratch_ / (running.task.id + "." + std::to_string(running.task.attempt) + suffix);
  }

  // Prints what the task wrote, each line prefixed "[run/task]" as Metaflow does; a very chatty
  // task shows its first lines and where to read the rest.
  void show_output(const RunningTask& running) {
    constexpr int kMaxLines = 200;
    const std::string prefix = "[" + record_.run + "/" + running.task.id + "] ";
    std::string text;
    int lines = 0;
    int hidden = 0;
    for (const char* suffix : {".stdout", ".stderr"}) {
      std::ifstream in(output_path(running, suffix));
      for (std::string line; std::getline(in, line);) {
        if (lines++ < kMaxLines)
          text += prefix + line + "\n";
        else
          ++hidden;
      }
    }
    if (hidden > 0) {
      text += prefix + "... " + std::to_string(hidden) + " more lines: podflow logs " +
              record_.run + "/" + planner_.graph().node(running.task.step).step->name + "/" +
              running.task.id + "\n";
    }
    if (!text.empty()) {
      text.pop_back();
      display_->note(text);
    }
  }

  void report(const RunningTask& running, int wait_status, std::int64_t duration_ms) {
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
      finish(running.task, false, std::nullopt, true, reason + " without reporting a result", "",
             duration_ms);
      return;
    }
    const bool succeeded = result->status == runtime::TaskStatus::succeeded;
    finish(running.task, succeeded, result->splitCount, result->retryable,
           succeeded ? "" : (result->reason.empty() ? "failed" : result->reason),
           result->stderrTail, duration_ms);
  }

  void finish(const flow::PlannedTask& task, bool succeeded, std::optional<std::int64_t> splits,
              bool retryable, const std::string& reason, const std::string& stderr_tail,
              std::int64_t duration_ms) {
    const std::string step_name = planner_.graph().node(task.step).step->name;
    StepSummary* step = step_summary(step_name);
    if (succeeded) {
      ++step->succeeded;
      step->durations_ms.push_back(duration_ms);
    } else {
      ++step->failed;
      if (record_.failures.size() < RunRecord::kMaxFailures) {
        record_.failures.push_back({task.id, step_name, task.attempt, reason, stderr_tail});
      }
    }
    display_->task_finished(task.id, task.attempt, succeeded, duration_ms, reason);
    const auto next =
        planner_.record({task.id, task.attempt, succeeded, splits, retryable, reason});
    for (const auto& task_ready : next) {
      if (task_ready.id == task.id) {
        display_->task_retrying(task.id, task_ready.attempt, task_ready.delay_seconds);
      }
      enqueue(task_ready);
    }
    maybe_save_record();
  }

  // Kills and reaps every child that is not a running task's runtime: processes a killed runtime
  // left behind, adopted by this subreaper. Their own children are adopted in turn as they die,
  // so it repeats until none is left.
  void kill_stray_processes() {
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
  void stop_all(int signal) {
    for (const auto& [pid, running] : running_) kill(-pid, signal);
  }

  // Ctrl-C: ask every task to stop, wait for the grace period, then kill what is left: the
  // runtimes' groups and the steps' own groups (each runtime writes its step's group id).
  void kill_everything() {
    std::map<pid_t, pid_t> step_groups;
    for (const auto& [pid, running] : running_) {
      std::ifstream in(running.work_dir / "step.pgid");
      pid_t group = 0;
      if (in >> group && group > 1) step_groups[pid] = group;
    }
    stop_all(SIGTERM);
    const auto deadline = Clock::now() + std::chrono::seconds(options_.grace_seconds + 2);
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

  void reap_quietly() {
    int status = 0;
    pid_t pid = 0;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      auto found = running_.find(pid);
      if (found == running_.end()) continue;
      const std::string step_name = planner_.graph().node(found->second.task.step).step->name;
      if (auto step = step_summary(step_name)) --step->running;
      std::error_code ignored;
      fs::remove_all(found->second.work_dir, ignored);
      running_.erase(found);
    }
  }

  StepSummary* step_summary(const std::string& name) {
    for (auto& step : record_.steps) {
      if (step.name == name) return &step;
    }
    return nullptr;
  }

  void summarise_durations() {
    for (auto& step : record_.steps) {
      if (step.durations_ms.empty()) continue;
      std::sort(step.durations_ms.begin(), step.durations_ms.end());
      step.min_ms = step.durations_ms.front();
      step.median_ms = step.durations_ms[step.durations_ms.size() / 2];
      step.max_ms = step.durations_ms.back();
    }
  }

  // The record is rewritten at most once a second while the run goes, so `podflow status` and
  // `list` see progress without a write per task.
  void maybe_save_record() {
    if (Clock::now() - last_save_ < std::chrono::seconds(1)) return;
    summarise_durations();
    save_record();
  }

  // The first write must succeed (the run exists once it is recorded); a later one that fails
  // (a full disk) is reported once and the run goes on: stopping would lose the tasks' work.
  void save_record() {
    last_save_ = Clock::now();
    if (record_saved_once_) {
      try {
        store_.write_run_record(record_.run, record_.to_json());
        record_warning_shown_ = false;
      } catch (const std::exception& error) {
        if (!record_warning_shown_) {
          display_->note(std::string("podflow: cannot update the run record: ") + error.what() +
                         "; the run goes on");
          record_warning_shown_ = true;
        }
      }
      return;
    }
    store_.write_run_record(record_.run, record_.to_json());
    record_saved_once_ = true;
  }

  const RunOptions& options_;
  const flow::FlowSpec& flow_;
  flow::Planner planner_;
  datastore::Datastore& store_;
  std::map<std::string, std::string> parameters_;
  fs::path flow_dir_;
  fs::path bin_dir_;
  fs::path scratch_;
  RunRecord record_;
  std::optional<ProgressDisplay> display_;
  std::deque<WaitingTask> waiting_;
  std::unordered_map<pid_t, RunningTask> running_;
  std::unordered_set<pid_t> unkillable_;  // strays still there 5 s after SIGKILL
  std::size_t peak_running_ = 0;
  bool stopping_ = false;
  bool record_saved_once_ = false;
  bool record_warning_shown_ = false;
  Clock::time_point last_save_{};
  sigset_t previous_mask_{};
};

}  // namespace

std::string default_datastore() {
  if (const char* root = std::getenv("PODFLOW_DATASTORE"); root && *root) return root;
  return ".podflow";
}

bool check_run_options(const flow::FlowSpec& flow, const RunOptions& options,
                       std::map<std::string, std::string>& parameter_values) {
  bool usable = true;
  flow::ResolvedParameters parameters = flow::resolve_parameters(flow, options.parameters);
  for (const auto& problem : parameters.problems) {
    std::cerr << "podflow: " << problem << "\n";
    usable = false;
  }
  if (options.max_workers < 1) {
    std::cerr << "podflow: --max-workers must be at least 1\n";
    usable = false;
  }
  if (options.max_num_splits < 1) {
    std::cerr << "podflow: --max-num-splits must be at least 1\n";
    usable = false;
  }
  parameter_values = std::move(parameters.values);
  return usable;
}

int run_locally(const RunOptions& options) {
  const LoadedFlow loaded = load_flow_file(options.flow_path);
  if (!loaded.flow) {
    for (const auto& message : loaded.messages) std::cerr << message << "\n";
    return 1;
  }
  const flow::FlowSpec& flow = *loaded.flow;
  std::map<std::string, std::string> parameters;
  bool usable = check_run_options(flow, options, parameters);
  // Metaflow's @resources "does not produce the resources magically" locally: a step larger
  // than this machine is refused, unless the user asks to run it anyway.
  for (const auto& problem :
       check_fits(flow, options.overrides, this_machine(), options.flow_path)) {
    if (options.skip_machine_check) {
      std::cerr << "podflow: warning: " << problem << " (running anyway: --skip-machine-check)\n";
    } else {
      std::cerr << "podflow: " << problem << ", or run it here anyway with --skip-machine-check\n";
      usable = false;
    }
  }
  if (!usable) return 1;
  try {
    auto store = datastore::open_datastore(options.datastore);
    LocalRun run(options, flow, loaded.text, parameters, *store);
    return run.execute();
  } catch (const datastore::StoreError& error) {
    std::cerr << "podflow: datastore: " << error.what() << "\n";
    return 1;
  } catch (const std::exception& error) {
    std::cerr << "podflow: " << error.what() << "\n";
    return 1;
  }
}

}  // namespace podflow::cli
