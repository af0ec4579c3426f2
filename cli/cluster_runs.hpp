// The cluster side of `podflow logs`, `list` and `kill`: runs are FlowRuns in a namespace of the
// current kubeconfig's cluster (run ids that are not plain numbers; local run ids are numbers).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace podflow::cli {

// A run id that names a FlowRun rather than a local run ("15" is local, "fanout-x7k2p" is not).
bool is_cluster_run_id(const std::string& run_id);

struct ClusterScope {
  std::string namespace_;  // empty: the kubeconfig's namespace
  bool all_namespaces = false;
};

struct RunFilter {
  bool my_runs = false;  // runs labelled with the kubeconfig's user
  std::string user;      // runs of this user
  std::string flow;      // runs of this flow (the flow's name)
};

// The flow a FlowRun runs: status.flowName once the operator read it, else the label the CLI
// sets, spec.flowName, spec.flowRef.name, or the FlowRun's own name (an inline flow's default).
std::string flow_of_run(const nlohmann::json& run);

// `podflow logs RUN/STEP[/TASK]` of a FlowRun: live from the pod while the attempt runs, from the
// datastore (S3) once it has ended or its pod is gone.
int cluster_logs(const ClusterScope& scope, const std::string& run, const std::string& step,
                 const std::string& task, std::optional<std::int64_t> attempt, bool stdout_only,
                 bool stderr_only);

int cluster_list(const ClusterScope& scope, const RunFilter& filter, std::size_t limit);

// The Tasks of one FlowRun, a row per step and split prefix: members done of count, running,
// failed, phase, reason.
int cluster_list_tasks(const ClusterScope& scope, const std::string& run);

// `podflow status RUN` of a FlowRun: the run's counts, per-step progress (summed over the step's
// Tasks), the failures and retries its Tasks record, and the run's failure.
int cluster_status(const ClusterScope& scope, const std::string& run);

// Deletes the named FlowRuns, or those the filter selects (unfinished ones only), so their tasks
// are killed; with `latest_only`, only the newest unfinished run the filter selects (`podflow
// kill flow.yaml`). Returns 1 when a named run does not exist, or is not of filter.flow.
int cluster_kill(const ClusterScope& scope, const std::vector<std::string>& runs,
                 const RunFilter& filter, bool latest_only = false);

}  // namespace podflow::cli
