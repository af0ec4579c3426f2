// The FlowRun reconciler: snapshot and validate the flow, ask the planner which tasks are ready,
// and run them as pods (docs/api.md): one Task object per step and split prefix records what its
// members did, in compact index sets written at most about once a second; each member's pod is
// created here, named after the member and owned by its Task. The run's status holds counts and
// conditions only: neither grows with the width of a foreach.
//
// The API server is the only truth: after a restart the state is rebuilt from the run's Tasks and
// one paginated list of its pods (a pod that ended is kept until its Task records it, so no
// outcome is lost). No attempt ever has two pods: a member's pods share its name, and the next
// attempt's pod is created only after the write recording that attempt and once the last pod is
// gone.
//
// Per member, the operator spends the pod's create and nothing else when it succeeds: the pod
// cache does not keep pods that ended (their outcome is read once, from the watch event, with the
// runtime's result in the termination message), so memory follows the unfinished members.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "flow/planner.hpp"
#include "kube/controller.hpp"
#include "operator/reconcile/operator_context.hpp"
#include "operator/reconcile/task_group.hpp"
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

  // A pod's change, before the controller wakes its run: the pod (or, deleted, its last state) is
  // kept until the run's reconcile takes it, since the cache does not keep pods that ended.
  // Subscribe it to the pod cache before the controller's mapping.
  void pod_changed(const kube::CacheEvent& event);
  // The FlowRun key a pod's change wakes (none for a pod of no run this operator runs).
  std::vector<std::string> run_of_pod(const kube::CacheEvent& event) const;

  // Whether the pod cache keeps a pod: not once it ended.
  static bool keep_pod(const nlohmann::json& pod);

 private:
  struct MemberRef {
    std::string group;
    std::int64_t index = 0;
  };
  struct PodChange {
    kube::ObjectPtr pod;
    bool deleted = false;
  };

  struct RunState {
    std::string uid, name, namespace_;
    flow::FlowSpec flow;  // the snapshot; the planner points into it
    std::unique_ptr<flow::Planner> planner;
    runtime::RunContext run_context;
    std::int64_t max_workers = 16;
    std::map<std::string, TaskGroup> groups;                       // by Task name
    std::unordered_map<std::string, std::string> group_of;         // Task uid -> name
    std::unordered_map<std::string, std::int64_t> foreach_splits;  // foreach task id -> width
    // Members waiting for room, by step, with the order they became ready in.
    std::map<flow::StepIndex, std::deque<std::pair<std::uint64_t, MemberRef>>> ready;
    std::uint64_t next_ready = 0;
    std::set<std::pair<std::string, std::int64_t>> retrying;  // members in State::Retrying
    // Over the unfinished members, kept as their states change.
    std::int64_t creating = 0, pending = 0, running = 0, waiting = 0;
    std::map<flow::StepIndex, std::int64_t> active_by_step;  // creating + pending + running
    std::int64_t succeeded = 0, failed = 0;
    std::int64_t cloned = 0;  // tasks of spec.resumeFrom's run this run reuses (no pod)
    std::string failure;      // a member that could not be created
    std::optional<std::chrono::system_clock::time_point> wake_at;
    // Pods to look at again when the run wakes (a pod of a lost node, until its grace period is
    // over): no event of theirs will come.
    std::map<std::string, nlohmann::json> look_again;  // by pod key, as last seen
    std::chrono::steady_clock::time_point last_status_write{};
  };

  // A change of counts only is written at most this often, for the run and for each Task.
  static constexpr std::chrono::milliseconds kStatusWriteInterval{1000};

  std::optional<nlohmann::json> start_run(const nlohmann::json& run);
  std::shared_ptr<RunState> existing_state(const std::string& key, const std::string& uid);
  std::shared_ptr<RunState> new_state(const nlohmann::json& run);
  void forget_run(const std::string& key);

  // Planned tasks into their groups' members, ready to run.
  void add_ready(RunState& state, std::vector<flow::PlannedTask> tasks);
  void set_state(RunState& state, TaskGroup& group, Member& member, Member::State next);
  void wake(RunState& state, std::chrono::system_clock::time_point when);
  // One pod's latest state, or its end.
  void observe_pod(RunState& state, const nlohmann::json& pod, bool deleted);
  void member_succeeded(RunState& state, TaskGroup& group, std::int64_t index,
                        std::optional<std::int64_t> split_count);
  // An attempt that ended without success. `counted`: against retry.times (a step's own failure);
  // not counted: the pod was evicted, preempted or lost with its node. `pod_left`: its pod (name,
  // uid) is still there, to delete once the retry is recorded.
  void attempt_failed(RunState& state, TaskGroup& group, std::int64_t index,
                      const std::string& reason, const std::string& message, bool counted,
                      bool retryable,
                      const std::optional<std::pair<std::string, std::string>>& pod_left);
  void finish_member(RunState& state, TaskGroup& group, std::int64_t index);

  nlohmann::json group_object(const nlohmann::json& run, const RunState& state,
                              const TaskGroup& group, const flow::PlannedTask& first) const;
  nlohmann::json member_task(const RunState& state, const TaskGroup& group,
                             const flow::PlannedTask& task) const;
  // Creates the Task objects of groups with members to start; false when one must wait.
  void create_groups(const nlohmann::json& run, RunState& state);
  // Starts pods while there is room (maxWorkers, --max-starting-tasks, each step's parallelism).
  // Returns true when it stopped at its per-reconcile bound with more to start.
  bool start_pods(RunState& state);
  // Writes the Tasks whose changes are due (all of them when `all`); deletes the pods the writes
  // allowed. Returns when the next write is due, if any.
  std::optional<std::chrono::steady_clock::time_point> write_groups(RunState& state, bool all);
  void stop_unfinished_pods(const std::vector<std::string>& task_uids);

  void note_changes_of(const std::string& uid, const std::string& key);
  void stop_noting_changes_of(const std::string& uid);
  void register_group(const std::string& run_uid, const std::string& task_uid);
  std::map<std::string, PodChange> take_changes_of(const std::string& uid);
  void write_status(const nlohmann::json& run, const nlohmann::json& status);

  OperatorContext& context_;
  WriteTracker writes_;
  std::mutex mutex_;  // guards states_ (one key is never reconciled by two workers at once)
  std::unordered_map<std::string, std::shared_ptr<RunState>> states_;  // by FlowRun key

  mutable std::mutex changes_mutex_;  // guards the three maps below (the pod caches' threads)
  // By FlowRun uid, for the runs with a state: their pods' changes since the last reconcile.
  std::unordered_map<std::string, std::map<std::string, PodChange>> changes_;
  std::unordered_map<std::string, std::string> run_keys_;   // FlowRun uid -> key
  std::unordered_map<std::string, std::string> task_runs_;  // Task uid -> FlowRun uid
};

}  // namespace podflow::reconcile
