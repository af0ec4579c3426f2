#include "runner/local_run.hpp"

#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include "datastore/datastore.hpp"
#include "datastore/store_error.hpp"
#include "datastore/task_attempts.hpp"
#include "flow/parameters.hpp"
#include "flow/planner.hpp"
#include "kube/kube_config.hpp"
#include "runner/machine_check.hpp"
#include "runner/pod_executor.hpp"
#include "runner/process_executor.hpp"
#include "runner/progress_display.hpp"
#include "runner/run_record.hpp"
#include "runner/runner_process.hpp"
#include "runner/step_caps.hpp"
#include "runner/work_directory.hpp"

namespace podflow::runner {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kExitInterrupted = 130;

std::string current_user() {
  if (const char* user = std::getenv("USER")) return user;
  if (const passwd* entry = getpwuid(getuid())) return entry->pw_name;
  return "unknown";
}

// The signals the run's loop waits for, blocked in this thread (and so in every thread it starts)
// for as long as this lives.
class BlockedSignals {
 public:
  BlockedSignals() {
    sigset_t signals = loop_signals();
    pthread_sigmask(SIG_BLOCK, &signals, &previous_);
  }
  ~BlockedSignals() { pthread_sigmask(SIG_SETMASK, &previous_, nullptr); }
  BlockedSignals(const BlockedSignals&) = delete;
  BlockedSignals& operator=(const BlockedSignals&) = delete;

  static sigset_t loop_signals() {
    sigset_t signals;
    sigemptyset(&signals);
    for (int signal : {SIGCHLD, SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, signal);
    return signals;
  }

 private:
  sigset_t previous_{};
};

struct WaitingTask {
  flow::PlannedTask task;
  Clock::time_point not_before;
};

// Where a local run's cluster steps go: the client and settings checked before the run started.
struct ClusterTarget {
  std::unique_ptr<kube::Client> client;
  ClusterSettings settings;
};

class LocalRun {
 public:
  LocalRun(const RunOptions& options, const flow::FlowSpec& flow, std::string flow_text,
           std::map<std::string, std::string> parameters, datastore::Datastore& store,
           std::optional<ClusterTarget> cluster)
      : options_(options),
        flow_(flow),
        planner_(flow, options.overrides),
        caps_(flow, planner_.graph(), options.overrides),
        store_(store),
        parameters_(std::move(parameters)),
        flow_dir_(fs::absolute(options.flow_path).parent_path()),
        cluster_(std::move(cluster)) {
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
      on_cluster_.push_back(cluster_ &&
                            flow::effective_settings(flow, *node.step, options.overrides).runOn ==
                                "Kubernetes");
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

    runtime::RunContext context;
    context.datastore = store_.url();
    context.run = record_.run;
    context.workingDir = flow_dir_.string();
    for (const auto& [name, value] : parameters_) context.parameters.push_back({name, value});
    context.overrides = options_.overrides;
    context.graceSeconds = options_.grace_seconds;
    context.maxNumSplits = options_.max_num_splits;
    processes_ = std::make_unique<ProcessExecutor>(flow_, planner_.graph(), context, scratch_,
                                                   options_.grace_seconds);
    if (cluster_) {
      pods_ = std::make_unique<PodExecutor>(*cluster_->client, flow_, planner_.graph(), context,
                                            cluster_->settings, cluster_run_name(),
                                            options_.grace_seconds);
    }

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
    record_.running_pods.clear();
    summarise_durations();
    save_record();
    display_->refresh(record_.steps, true);
    processes_->clean_up();
    if (pods_) pods_->clean_up();
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
  // The run's name on the cluster, as a FlowRun's: its pods are `<flow>-<run id>.<task id>`.
  std::string cluster_run_name() const { return flow_.name + "-" + record_.run; }

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

  std::size_t running() const { return processes_->running() + (pods_ ? pods_->running() : 0); }

  // Returns true when interrupted.
  bool loop() {
    const sigset_t signals = BlockedSignals::loop_signals();
    pthread_sigmask(SIG_BLOCK, &signals, &previous_mask_);

    bool interrupted = false;
    while (true) {
      if (planner_.phase() == flow::RunPhase::Running) launch_due_tasks();
      if (running() == 0 && (planner_.phase() != flow::RunPhase::Running || waiting_.empty())) {
        break;
      }
      if (planner_.phase() == flow::RunPhase::Failed && running() > 0 && !stopping_) {
        // Like Metaflow: once the run has failed, the tasks still running are stopped.
        display_->note("podflow: " + planner_.failure() + "; stopping " +
                       std::to_string(running()) + " running task(s)");
        processes_->stop_all();
        if (pods_) pods_->stop_all();
        stopping_ = true;
      }
      display_->refresh(record_.steps);
      siginfo_t info{};
      const timespec timeout = next_wakeup();
      const int signal = sigtimedwait(&signals, &info, &timeout);
      if (signal == SIGINT || signal == SIGTERM || signal == SIGHUP) {
        display_->note("podflow: interrupted; stopping " + std::to_string(running()) +
                       " running task(s)");
        interrupted = true;
        processes_->stop_all();
        if (pods_) pods_->kill_everything();
        processes_->kill_everything();
        for (auto& step : record_.steps) step.running = 0;
        break;
      }
      collect(*processes_);
      if (pods_) collect(*pods_);
      // The record names the running pods (for `podflow logs`); written when they change, at
      // most once a second, like every other change of the record.
      if (pods_) {
        auto running_pods = pods_->running_pods();
        if (running_pods != record_.running_pods) {
          record_.running_pods = std::move(running_pods);
          record_dirty_ = true;
        }
      }
      if (record_dirty_) maybe_save_record();
    }
    pthread_sigmask(SIG_SETMASK, &previous_mask_, nullptr);
    return interrupted;
  }

  timespec next_wakeup() const {
    auto wait = std::chrono::milliseconds(options_.live_progress ? 200 : 1000);
    // Pods report through the watch, not SIGCHLD: look at them often while they run.
    if (pods_ && pods_->running() > 0) wait = std::min(wait, std::chrono::milliseconds(100));
    const auto now = Clock::now();
    for (const auto& entry : waiting_) {
      if (entry.not_before > now) {
        wait = std::min(
            wait, std::chrono::duration_cast<std::chrono::milliseconds>(entry.not_before - now) +
                      std::chrono::milliseconds(1));
      } else if (running() < static_cast<std::size_t>(options_.max_workers) &&
                 caps_.can_start(entry.task.step)) {
        wait = std::chrono::milliseconds(0);
      }
    }
    timespec timeout{};
    timeout.tv_sec = wait.count() / 1000;
    timeout.tv_nsec = (wait.count() % 1000) * 1000000;
    return timeout;
  }

  // Starts due tasks in queue order while a worker is free (max-workers). A task whose step is
  // at its parallelism waits in the queue, and the ready tasks of other steps behind it start.
  void launch_due_tasks() {
    const auto now = Clock::now();
    const auto step_of = [](const WaitingTask& entry) { return entry.task.step; };
    const auto due = [&](const WaitingTask& entry) { return entry.not_before <= now; };
    auto entry = waiting_.begin();
    while (true) {
      if (running() >= static_cast<std::size_t>(options_.max_workers)) return;
      // A task that could not even start may have failed the run.
      if (planner_.phase() != flow::RunPhase::Running) return;
      entry = first_startable(entry, waiting_.end(), caps_, step_of, due);
      if (entry == waiting_.end()) return;
      launch(entry->task);
      entry = waiting_.erase(entry);
    }
  }

  void launch(const flow::PlannedTask& task) {
    const std::string& step_name = planner_.graph().node(task.step).step->name;
    if (on_cluster_[task.step]) {
      if (announced_.insert(task.step).second) {
        display_->note("podflow: step " + step_name +
                       " runs on Kubernetes: kubectl get pods -A -l podflow.dev/run=" +
                       cluster_run_name() + ",podflow.dev/step=" + step_name);
      }
      pods_->launch(task);
    } else {
      processes_->launch(task);
    }
    caps_.started(task.step);
    if (auto step = step_summary(step_name)) ++step->running;
  }

  void collect(Executor& executor) {
    std::vector<std::string> notes;
    std::vector<FinishedTask> finished = executor.collect(notes);
    for (const auto& note : notes) display_->note(note);
    for (auto& done : finished) {
      caps_.finished(done.task.step);
      const std::string& step_name = planner_.graph().node(done.task.step).step->name;
      if (auto step = step_summary(step_name); step && step->running > 0) --step->running;
      show_output(done);
      finish(done);
    }
  }

  // Prints what the task wrote, each line prefixed "[run/task]" as Metaflow does; a very chatty
  // task shows its first lines and where to read the rest.
  void show_output(const FinishedTask& done) {
    const std::string prefix = "[" + record_.run + "/" + done.task.id + "] ";
    std::string text;
    for (const auto& line : done.output.lines) text += prefix + line + "\n";
    if (done.output.hidden_lines > 0 || done.output.cut) {
      text += prefix + "... " + (done.output.cut ? "more than " : "") +
              std::to_string(done.output.hidden_lines) + " more lines: podflow logs " +
              record_.run + "/" + planner_.graph().node(done.task.step).step->name + "/" +
              done.task.id + "\n";
    }
    if (!text.empty()) {
      text.pop_back();
      display_->note(text);
    }
  }

  void finish(const FinishedTask& done) {
    const flow::PlannedTask& task = done.task;
    const std::string step_name = planner_.graph().node(task.step).step->name;
    StepSummary* step = step_summary(step_name);
    if (done.succeeded) {
      ++step->succeeded;
      step->durations_ms.push_back(done.duration_ms);
    } else {
      ++step->failed;
      if (record_.failures.size() < RunRecord::kMaxFailures) {
        record_.failures.push_back(
            {task.id, step_name, task.attempt, done.reason, done.stderr_tail});
      }
    }
    display_->task_finished(task.id, task.attempt, done.succeeded, done.duration_ms, done.reason);
    const auto next = planner_.record(
        {task.id, task.attempt, done.succeeded, done.split_count, done.retryable, done.reason});
    for (const auto& task_ready : next) {
      if (task_ready.id == task.id) {
        display_->task_retrying(task.id, task_ready.attempt, task_ready.delay_seconds);
      }
      enqueue(task_ready);
    }
    record_dirty_ = true;
    maybe_save_record();
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
    record_dirty_ = false;
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
  StepCaps caps_;  // each step's parallelism and running tasks
  datastore::Datastore& store_;
  std::map<std::string, std::string> parameters_;
  fs::path flow_dir_;
  std::optional<ClusterTarget> cluster_;
  std::vector<bool> on_cluster_;  // by graph node: the step runs on the cluster
  std::set<std::size_t> announced_;
  fs::path scratch_;
  RunRecord record_;
  std::optional<ProgressDisplay> display_;
  std::unique_ptr<ProcessExecutor> processes_;
  std::unique_ptr<PodExecutor> pods_;
  std::deque<WaitingTask> waiting_;
  bool stopping_ = false;
  bool record_dirty_ = false;  // changed since it was last written
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

int run_flow(const RunOptions& options, const flow::FlowSpec& flow, const std::string& flow_text) {
  std::map<std::string, std::string> parameters;
  bool usable = check_run_options(flow, options, parameters);
  // Metaflow's @resources "does not produce the resources magically" locally: a step larger
  // than this machine is refused, unless the user asks to run it anyway. A step that runs on the
  // cluster is never checked against this machine.
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
  // The Kubernetes client's threads (and the datastore's) must never take a SIGINT meant for the
  // loop: its default action would end podflow without deleting a pod. The loop's signals are
  // blocked before the first thread exists; a Ctrl-C meanwhile is taken by the loop at once.
  const bool cluster_steps = has_cluster_steps(flow, options.overrides);
  std::optional<BlockedSignals> blocked;
  if (cluster_steps) blocked.emplace();
  try {
    auto store = datastore::open_datastore(options.datastore);
    std::optional<ClusterTarget> cluster;
    if (cluster_steps) {
      // Checked before anything runs: a run that would fail at its first cluster step after an
      // hour of local work is worse than no run.
      ClusterTarget target;
      target.settings = cluster_settings_from_environment();
      const auto report = [](const std::vector<std::string>& problems) {
        for (const auto& problem : problems) std::cerr << "podflow: " << problem << "\n";
        return problems.empty();
      };
      if (!report(check_cluster_steps(flow, options.overrides, store->url(), target.settings))) {
        return 1;
      }
      try {
        target.client = std::make_unique<kube::Client>(kube::load_default_config());
      } catch (const std::exception& error) {
        std::cerr << "podflow: some steps run on Kubernetes (runOn: Kubernetes), but the "
                     "kubeconfig cannot be used: "
                  << error.what() << " (set KUBECONFIG, or kubectl config use-context)\n";
        return 1;
      }
      if (!report(check_cluster_rights(flow, options.overrides, target.settings, *target.client))) {
        return 1;
      }
      cluster = std::move(target);
    }
    LocalRun run(options, flow, flow_text, parameters, *store, std::move(cluster));
    return run.execute();
  } catch (const datastore::StoreError& error) {
    std::cerr << "podflow: datastore: " << error.what() << "\n";
    return 1;
  } catch (const std::exception& error) {
    std::cerr << "podflow: " << error.what() << "\n";
    return 1;
  }
}

}  // namespace podflow::runner
