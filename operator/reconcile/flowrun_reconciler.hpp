// The FlowRun reconciler: snapshot and validate the flow, ask the planner which tasks are ready,
// create their Task objects while at most maxWorkers are unfinished, and keep the run's status
// (counts and conditions only: it does not grow with the number of tasks).
//
// The planner's state for a run lives in memory and is rebuilt from the run's Tasks after a
// restart (Planner::restore), so the Tasks in the API server are the only truth.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "flow/planner.hpp"
#include "kube/controller.hpp"
#include "operator/reconcile/operator_context.hpp"
#include "operator/reconcile/write_tracker.hpp"
#include "runtime/task_spec.hpp"

namespace podflow::reconcile {

class FlowRunReconciler {
 public:
  explicit FlowRunReconciler(OperatorContext& context) : context_(context) {}

  kube::Action reconcile(const std::string& key);

  // The FlowRuns waiting for (or snapshotting) the Flow `flow_key` ("ns/name"): a Flow's change
  // wakes them.
  std::vector<std::string> runs_referencing(const std::string& flow_key) const;

  // Notes which Tasks of a running run changed, so a reconcile reads those only, not all
  // 100,000. Subscribe it to the Task cache before the FlowRun controller's owns():
  // subscribers run in order, so the change is noted before the event wakes the run.
  void task_changed(const kube::CacheEvent& event);
  // The same for a pod's change (its Task's counts read the pod's phase).
  void pod_changed(const kube::CacheEvent& event);

 private:
  struct RunState {
    std::string uid;
    flow::FlowSpec flow;  // the snapshot; the planner points into it
    std::unique_ptr<flow::Planner> planner;
    runtime::RunContext run_context;
    std::int64_t max_workers = 16;
    std::deque<flow::PlannedTask> ready;       // planned; their Task not created yet
    std::unordered_set<std::string> recorded;  // task ids whose final outcome the planner has
    std::unordered_set<std::string> expected;  // Tasks created, not yet seen in the cache
    // The seen Tasks not Succeeded or Failed by key, sorted (the first waiting one is stable),
    // with what each adds to the counts, kept up to date as they change.
    struct Unfinished {
      bool running = false;   // the Task or its pod says Running
      bool starting = false;  // no pod yet, or a Pending one
      bool waiting = false;   // a reason that needs a person (not the ordinary pod start)
    };
    std::map<std::string, Unfinished> unfinished;
    std::int64_t running = 0, starting = 0, waiting = 0;  // over `unfinished`
    std::int64_t succeeded = 0, failed = 0;  // seen finished; their ids are in `recorded`
    std::int64_t cloned = 0;  // tasks of spec.resumeFrom's run this run reuses (no Task)
    std::chrono::steady_clock::time_point last_status_write{};
  };

  // A change of counts only is written at most this often (a phase or condition change at once):
  // at parallelism 16 every completion changes them.
  static constexpr std::chrono::milliseconds kCountsWriteInterval{1000};

  // Fills status.flow (the snapshot) and the Valid condition; returns the run as stored, or
  // nullopt when it cannot start (yet).
  std::optional<nlohmann::json> start_run(const nlohmann::json& run);
  std::shared_ptr<RunState> existing_state(const std::string& key, const std::string& uid);
  // A new state from the run's Tasks: the planner restored, every Task observed.
  std::shared_ptr<RunState> new_state(const nlohmann::json& run,
                                      const std::vector<kube::ObjectPtr>& tasks);
  // Takes in one Task's latest state (null: deleted) and its pod's: counts it, and once it is
  // final gives the planner its outcome, unless `restored` (Planner::restore replayed it).
  void observe_task(RunState& state, const std::string& task_key, const kube::ObjectPtr& task,
                    bool restored);
  void forget_run(const std::string& key);
  void note_changes_of(const std::string& uid);
  void stop_noting_changes_of(const std::string& uid);
  std::set<std::string> take_changes_of(const std::string& uid);
  void note_change(const std::string& run_uid, const std::string& task_key);
  nlohmann::json task_object(const nlohmann::json& run, const RunState& state,
                             const flow::PlannedTask& task, const std::string& name) const;
  void stop_unfinished_tasks(const std::vector<kube::ObjectPtr>& tasks);
  void write_status(const nlohmann::json& run, const nlohmann::json& status);

  OperatorContext& context_;
  WriteTracker writes_;
  std::mutex mutex_;  // guards states_ (one key is never reconciled by two workers at once)
  std::unordered_map<std::string, std::shared_ptr<RunState>> states_;  // by FlowRun key

  std::mutex changes_mutex_;  // guards changes_ (the Task and pod caches' threads write it)
  // By FlowRun uid, for the runs with a state: the keys of their Tasks changed since the last
  // reconcile took them.
  std::unordered_map<std::string, std::set<std::string>> changes_;
};

}  // namespace podflow::reconcile
