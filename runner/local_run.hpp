// Runs a flow from this machine: every task a podflow-runtime process here, or, for a step with
// runOn: Kubernetes, a pod in the current kubeconfig's cluster; at most max-workers at once in
// all, decisions from one planner. Ctrl-C (SIGINT) or SIGTERM stops every task (processes and
// pods) and marks the run killed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "flow/flow_spec.hpp"

namespace podflow::runner {

struct RunOptions {
  std::string flow_path;
  std::vector<std::string> parameters;  // "name=value"
  std::int64_t max_workers = 16;
  std::int64_t max_num_splits = 100;
  std::string datastore;  // a directory or s3://bucket/prefix
  flow::StepSettings overrides;
  std::optional<std::string> resume_from;  // reuse the successful tasks of this run
  bool live_progress = false;              // redraw a progress block (a terminal)
  std::int64_t grace_seconds = 10;         // SIGTERM -> SIGKILL, for timeouts and Ctrl-C
  bool skip_machine_check = false;         // steps larger than this machine: warn, run anyway
};

// Runs `flow` (its document `flow_text`, read from options.flow_path) and returns the process
// exit code: 0 when the run succeeded, 1 when it failed or could not start (with messages on
// stderr), 130 when it was interrupted.
int run_flow(const RunOptions& options, const flow::FlowSpec& flow, const std::string& flow_text);

// The checks every `podflow run` makes before anything starts, each problem printed on stderr:
// the parameters against the flow's declarations, --max-workers and --max-num-splits. Fills the
// value of every declared parameter; false when the run cannot start.
bool check_run_options(const flow::FlowSpec& flow, const RunOptions& options,
                       std::map<std::string, std::string>& parameter_values);

// The datastore directory when --datastore is not given: $PODFLOW_DATASTORE, else ./.podflow
// (Metaflow keeps its local datastore in ./.metaflow).
std::string default_datastore();

}  // namespace podflow::runner
