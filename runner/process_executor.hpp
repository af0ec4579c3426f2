// Runs tasks as podflow-runtime processes on this machine, each in a process group of its own
// (docs/architecture.md, "The local runner"). The loop that owns it blocks SIGCHLD and wakes on
// it; collect() reaps.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <filesystem>
#include <unordered_map>
#include <unordered_set>

#include "flow/flow_spec.hpp"
#include "flow/graph.hpp"
#include "runner/executor.hpp"
#include "runtime/task_spec.hpp"

namespace podflow::runner {

class ProcessExecutor : public Executor {
 public:
  // `scratch`: the run's work directory (tasks' work directories, specs, results, output).
  ProcessExecutor(const flow::FlowSpec& flow, const flow::FlowGraph& graph,
                  runtime::RunContext context, std::filesystem::path scratch,
                  std::int64_t grace_seconds);

  void launch(const flow::PlannedTask& task) override;
  std::size_t running() const override { return running_.size(); }
  std::vector<FinishedTask> collect(std::vector<std::string>& notes) override;
  void stop_all() override;
  void kill_everything() override;
  void clean_up() override { kill_stray_processes(); }

 private:
  struct RunningTask {
    flow::PlannedTask task;
    pid_t pid = 0;
    std::filesystem::path work_dir;
    std::filesystem::path result_path;
    std::chrono::steady_clock::time_point started;
  };

  std::filesystem::path output_path(const flow::PlannedTask& task, const std::string& suffix) const;
  FinishedTask report(const RunningTask& running, int wait_status);
  void remove_files(const RunningTask& running);
  void kill_stray_processes();
  void reap_quietly();

  const flow::FlowSpec& flow_;
  const flow::FlowGraph& graph_;
  runtime::RunContext context_;
  std::filesystem::path scratch_;
  std::filesystem::path bin_dir_;
  std::int64_t grace_seconds_;
  std::unordered_map<pid_t, RunningTask> running_;
  std::unordered_set<pid_t> unkillable_;  // strays still there 5 s after SIGKILL
  std::deque<FinishedTask> failed_to_start_;
};

}  // namespace podflow::runner
