// The Task object of the redesigned operator (docs/api.md, "Task"): one per step and split prefix,
// holding what its members (the step's tasks with that prefix: a foreach's splits, or the one task
// of a step outside any foreach) did, as compact index sets, like the Indexed Job's
// completedIndexes. A member has no object of its own; its pod is named after it and owned by the
// Task. The FlowRun reconciler keeps a TaskGroup per Task in memory and writes its status at most
// about once a second.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flow/planner.hpp"
#include "pod/index_set.hpp"

namespace podflow::reconcile {

// A member that needed more than one attempt (status.retried[]); the others ran attempt 0.
struct RetriedMember {
  std::int64_t attempt = 0;      // the current (or last) attempt
  std::int64_t failures = 0;     // failed attempts that count against retry.times
  std::int64_t disruptions = 0;  // attempts lost to eviction, preemption or a lost node
  std::string reason, message;   // of the last lost attempt
};

// One unfinished member, in memory only.
struct Member {
  enum class State : std::uint8_t {
    Ready,     // planned; its pod is not created yet (waiting for room)
    Creating,  // pod created, not seen yet
    Pending,   // pod seen, not running
    Running,
    Retrying,  // an attempt failed; the next one's pod comes after the status write and delay
  };
  State state = State::Ready;
  std::int64_t attempt = 0;
  std::int64_t failures = 0;
  std::int64_t disruptions = 0;
  bool needs_person = false;  // Pending for a reason a person must fix (Unschedulable, ...)
  std::string reason, message;
  std::uint64_t fence = 0;  // Retrying: the group's change that recorded the retry
  std::chrono::system_clock::time_point retry_after{};
  flow::PlannedTask task;  // builds its pods
};

struct TaskGroup {
  std::string name;  // the Task's name: <flowrun>.<step>[.<prefix>]
  std::string step;
  flow::StepIndex step_index = 0;
  flow::SplitPath prefix;
  bool indexed = false;    // the step runs inside a foreach: members are its splits
  std::int64_t count = 1;  // members: the foreach's width, or 1
  std::int64_t retry_times = 0, retry_delay_seconds = 0;  // the step's retry policy
  std::optional<std::int64_t> parallelism;                // the step's cap on its running tasks
  // The pod of one member, which the others' are made from (pod::member_pod); or why none can be.
  nlohmann::json pod_template;
  std::string pod_problem;
  nlohmann::json object;  // the Task as the API server last returned it; null until created
  std::string uid;

  pod::IndexSet succeeded, failed;
  std::map<std::int64_t, Member> members;  // unfinished
  std::map<std::int64_t, RetriedMember> retried;
  std::map<std::int64_t, std::int64_t> split_counts;  // a foreach step's succeeded members
  std::string reason, message;                        // what the Task waits for, or why it failed
  std::string start_time, completion_time;

  // Status writes: every change bumps `changes`; a write records the `changes` it carried.
  std::uint64_t changes = 0, written = 0;
  std::chrono::steady_clock::time_point first_unwritten{}, last_write{};
  // Pods to delete once the write recording their member's next attempt has succeeded.
  struct PodToDelete {
    std::string name, uid;
    std::uint64_t after;
  };
  std::vector<PodToDelete> delete_after_write;

  bool dirty() const { return changes != written; }
  void changed(std::chrono::steady_clock::time_point now) {
    if (!dirty()) first_unwritten = now;
    ++changes;
  }
  std::int64_t index_of(const flow::SplitPath& path) const {
    return indexed && !path.empty() ? path.back() : 0;
  }
  flow::SplitPath member_path(std::int64_t index) const;
  std::string member_task_id(std::int64_t index) const;
};

// The Task name of a step and prefix: FlowRun `bigsum`, step `train`, prefix [1] ->
// `bigsum.train.1`; throws what pod::task_object_name throws.
std::string group_name(const std::string& flowrun, const std::string& step,
                       const flow::SplitPath& prefix);

// The Task's status from the group (docs/api.md).
nlohmann::json group_status(const TaskGroup& group, std::int64_t running, std::int64_t pending);

// Reads back what an earlier life wrote: succeeded, failed, retried and split counts, the
// spec's step, prefix and count. Throws std::runtime_error naming the Task when its status is not
// what the operator writes.
TaskGroup restore_group(const nlohmann::json& task);

// The member's id for a task spec's `taskId`: "train" or "train.1.3".
std::string member_id(const std::string& step, const flow::SplitPath& path);

}  // namespace podflow::reconcile
