// The planner: the one brain shared by the local runner and the Kubernetes operator. Given the
// graph and what has finished, it decides which tasks become ready and whether the run is over.
// Deterministic and free of I/O and clocks: the executors feed it results and carry out its
// decisions; a restarted executor rebuilds the same state with `Planner::restore`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "flow/graph.hpp"

namespace podflow::flow {

using SplitPath = std::vector<std::int64_t>;

// "train" for path [], "train.1.3" for path [1, 3]: the same names on every restart.
std::string task_id(const std::string& step, const SplitPath& path);

// Parent tasks of a planned task, compactly: a foreach join of 100,000 splits is one group.
struct ParentGroup {
  std::string step;
  SplitPath prefix;
  std::optional<std::int64_t> splits;            // absent: the single task `step` + prefix
  std::map<std::string, std::int64_t> attempts;  // parents whose committed attempt is not 0

  std::vector<std::string> task_ids() const;
};

// Set when the task is one split of a foreach: which task produced the list, which element.
struct ForeachInput {
  std::string task;
  std::string step;
  std::int64_t attempt = 0;
  std::int64_t index = 0;
};

struct PlannedTask {
  std::string id;
  StepIndex step = 0;
  SplitPath path;
  std::int64_t attempt = 0;
  std::int64_t delay_seconds = 0;  // a retry waits this long before it starts
  std::vector<ParentGroup> parents;
  std::optional<ForeachInput> foreach_input;
};

enum class RunPhase { Running, Succeeded, Failed };

// What the executor reports about a finished task attempt.
struct TaskOutcome {
  std::string id;
  std::int64_t attempt = 0;
  bool succeeded = false;
  std::optional<std::int64_t> split_count;  // a successful foreach step
  bool retryable = true;                    // false: a failure no retry can fix
  std::string reason;                       // why it failed, for the run's message
  // The executor retried the task itself (the operator's Task objects do): this is the last
  // attempt, whatever its number, and a failure is never retried by the planner.
  bool final_attempt = false;
};

class Planner {
 public:
  // `flow` must be valid (linted) and outlive the planner. The overrides are the run-wide step
  // settings (they can change retry policies).
  explicit Planner(const FlowSpec& flow, const StepSettings& run_overrides = {});

  // The first task (start). Call once for a new run.
  std::vector<PlannedTask> start();

  // Records an outcome and returns the tasks it makes ready: children of a success, or the next
  // attempt of a retryable failure. A final failure fails the run; outcomes after the run has
  // ended return nothing.
  std::vector<PlannedTask> record(const TaskOutcome& outcome);

  // Rebuilds the state from the successes of an earlier life (a restarted controller, or the run
  // being resumed): returns every task that is ready but not among `succeeded`. The executor
  // skips those it already started.
  std::vector<PlannedTask> restore(const std::vector<TaskOutcome>& succeeded);

  RunPhase phase() const { return phase_; }
  // "step 'train' task train.3 failed: exit code 1" once the run has failed.
  const std::string& failure() const { return failure_; }
  // Tasks known to be ready or running (planned, not yet finished).
  std::size_t outstanding() const { return outstanding_.size(); }

  const FlowGraph& graph() const { return graph_; }

 private:
  struct RetryPolicy {
    std::int64_t times = 0;
    std::int64_t delay_seconds = 0;
  };

  std::vector<PlannedTask> children_of(const PlannedTask& task, const TaskOutcome& outcome);
  PlannedTask& plan(StepIndex step, SplitPath path, std::vector<ParentGroup> parents);
  ParentGroup single_parent(StepIndex step, const SplitPath& path) const;

  FlowGraph graph_;
  std::vector<RetryPolicy> retry_;  // per step
  RunPhase phase_ = RunPhase::Running;
  std::string failure_;
  // Planned and not yet succeeded, by task id.
  std::unordered_map<std::string, PlannedTask> outstanding_;
  std::unordered_map<std::string, std::int64_t> nonzero_attempts_;  // successes at attempt > 0
  std::unordered_map<std::string, std::int64_t> split_counts_;      // successful foreach tasks
  // Joins waiting for their inputs: task id of the join -> inputs still to come.
  std::unordered_map<std::string, std::int64_t> join_waiting_;
  std::unordered_set<std::string> succeeded_;
};

}  // namespace podflow::flow
