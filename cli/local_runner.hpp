// Runs a flow on this machine: every task a podflow-runtime process, at most max-workers at once,
// decisions from the planner. Ctrl-C (SIGINT) or SIGTERM kills every task's process group and
// marks the run killed.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "flow/flow_spec.hpp"

namespace podflow::cli {

struct RunOptions {
  std::string flow_path;
  std::vector<std::string> parameters;  // "name=value"
  std::int64_t max_workers = 16;
  std::int64_t max_num_splits = 100;
  std::string datastore;  // a directory (s3:// once the S3 store exists)
  flow::StepSettings overrides;
  std::optional<std::string> resume_from;  // reuse the successful tasks of this run
  bool live_progress = false;              // redraw a progress block (a terminal)
  std::int64_t grace_seconds = 10;         // SIGTERM -> SIGKILL, for timeouts and Ctrl-C
  bool skip_machine_check = false;         // steps larger than this machine: warn, run anyway
};

// Runs the flow and returns the process exit code: 0 when the run succeeded, 1 when it failed or
// could not start (with messages on stderr), 130 when it was interrupted.
int run_locally(const RunOptions& options);

// The checks every `podflow run` makes before anything starts, each problem printed on stderr:
// the parameters against the flow's declarations, --max-workers and --max-num-splits. Fills the
// value of every declared parameter; false when the run cannot start.
bool check_run_options(const flow::FlowSpec& flow, const RunOptions& options,
                       std::map<std::string, std::string>& parameter_values);

// The datastore directory when --datastore is not given: $PODFLOW_DATASTORE, else ./.podflow
// (Metaflow keeps its local datastore in ./.metaflow).
std::string default_datastore();

}  // namespace podflow::cli
