// What the local run's loop asks of the places a task can run: this machine's processes
// (ProcessExecutor) and the current kubeconfig's cluster (PodExecutor). The loop keeps the
// planner, the record and the display; an executor only starts, watches and stops tasks.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "flow/planner.hpp"

namespace podflow::runner {

// What a task printed, for the display: its first lines and how many more there were.
struct TaskOutput {
  std::vector<std::string> lines;
  std::int64_t hidden_lines = 0;
  bool cut = false;  // more than the executor read (hidden_lines is then a lower bound)
};

inline constexpr std::size_t kMaxShownLines = 200;

// A task attempt that ended (or could not start): what the planner needs, and what to show.
struct FinishedTask {
  flow::PlannedTask task;
  bool succeeded = false;
  std::optional<std::int64_t> split_count;
  bool retryable = true;
  std::string reason;  // why it failed
  std::string stderr_tail;
  std::int64_t duration_ms = 0;
  TaskOutput output;
};

class Executor {
 public:
  virtual ~Executor() = default;
  // Starts one attempt. A task that cannot start comes back, failed, from the next collect().
  virtual void launch(const flow::PlannedTask& task) = 0;
  virtual std::size_t running() const = 0;
  // The attempts that ended since the last call; never blocks on a task. `notes` receives
  // what the user should see meanwhile (a pod the scheduler cannot place, and why).
  virtual std::vector<FinishedTask> collect(std::vector<std::string>& notes) = 0;
  // The run failed: ask every running task to stop; they come back from collect().
  virtual void stop_all() = 0;
  // Ctrl-C: stop every task, wait at most the grace period, then kill what is left; returns
  // when nothing of the run runs any more.
  virtual void kill_everything() = 0;
  // The run is over: remove whatever is left of it (a killed runtime's orphans, pods).
  virtual void clean_up() = 0;
};

// Appends one line (or each of `text`'s lines) to `output`, keeping at most kMaxShownLines and
// counting the rest.
void add_output_line(TaskOutput& output, std::string line);
void add_output_lines(TaskOutput& output, const std::string& text);

}  // namespace podflow::runner
