// The task spec: everything podflow-runtime needs to run one task attempt. The local runner and
// the Kubernetes operator write it (as the JSON below, in $PODFLOW_TASK or a file); the runtime
// reads it strictly: an unknown or malformed field is an error naming the field.
//
// {"datastore": "/abs/.podflow", "flow": "fanout", "run": "15", "step": "square",
//  "task": "square.3", "attempt": 0, "splitPath": [3],
//  "command": ["python3", "steps.py", "square"], "workingDir": "/abs/dir",
//  "env": [{"name": "MODE", "value": "fast"}], "parameters": [{"name": "count", "value": "1000"}],
//  "cpu": 2, "timeoutSeconds": 432000, "graceSeconds": 10, "join": false,
//  "parents": [{"step": "start", "prefix": [], "attempts": {"start": 1}}],
//  "foreachInput": {"task": "start", "step": "start", "attempt": 1, "index": 3},
//  "foreach": {"artifact": "items", "maxNumSplits": 100},
//  "workDir": "/abs/.podflow/_work/15/square.3/0"}
//
// Required: datastore, flow, run, step, task, attempt, command, workDir. See
// docs/step-contract.md for what each field means to the step.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "flow/planner.hpp"

namespace podflow::runtime {

struct NamedValue {
  std::string name;
  std::string value;

  bool operator==(const NamedValue&) const = default;
};

struct ForeachSpec {
  std::string artifact;             // the artifact that must hold the JSON array
  std::int64_t maxNumSplits = 100;  // more elements than this fails the step
};

struct TaskSpec {
  std::string datastore;  // a directory, or s3://bucket/prefix
  std::string flow;
  std::string run;
  std::string step;
  std::string task;
  std::int64_t attempt = 0;
  flow::SplitPath splitPath;  // indices of the enclosing foreach splits, outermost first
  std::vector<std::string> command;
  std::optional<std::string> workingDir;  // cwd of the command; the runtime's own when absent
  std::vector<NamedValue> env;
  std::vector<NamedValue> parameters;
  // each parameter's declared type (string, integer, number, boolean, json), written as the
  // parameters' "type" and exported as PODFLOW_PARAMETER_TYPES; absent: string
  std::map<std::string, std::string> parameterTypes;
  double cpu = 1;                        // effective cores, exported as PODFLOW_CPU
  std::int64_t timeoutSeconds = 432000;  // then SIGTERM to the step's process group
  std::int64_t graceSeconds = 10;        // then SIGKILL
  bool join = false;                     // one inputs sub-directory per parent task
  std::vector<flow::ParentGroup> parents;
  std::optional<flow::ForeachInput> foreachInput;  // this task is split `index` of that foreach
  std::optional<ForeachSpec> foreach;              // this step is a foreach
  std::string workDir;  // inputs/, outputs/, logs and scratch files; removed at the end
};

// One parent task, with the attempt that committed.
struct ParentTask {
  std::string step;
  std::string task;
  std::int64_t attempt = 0;
};

class TaskSpecError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Where and how a run executes its tasks: what an executor (the local runner, the operator) adds
// to the planner's decision to make a task spec.
struct RunContext {
  std::string datastore;  // a directory, or s3://bucket/prefix
  std::string run;
  std::optional<std::string> workingDir;  // local runs: the flow file's directory
  std::vector<NamedValue> parameters;     // every declared parameter with its value
  flow::StepSettings overrides;           // run-wide step settings
  std::int64_t graceSeconds = 10;
  std::int64_t maxNumSplits = 100;
};

// The task spec for one planned task of `flow` (which must be valid). The executor sets workDir.
TaskSpec make_task_spec(const flow::FlowSpec& flow, const flow::FlowGraph& graph,
                        const flow::PlannedTask& task, const RunContext& context);

// Throws TaskSpecError: "task spec: field 'parents[0].splits' must be a positive integer".
TaskSpec task_spec_from_json(std::string_view text);
std::string task_spec_to_json(const TaskSpec& spec);

// Every parent task, group by group, in order: split order within a foreach group.
std::vector<ParentTask> parent_tasks(const TaskSpec& spec);

}  // namespace podflow::runtime
