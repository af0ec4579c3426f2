// `podflow resume RUN --with kubernetes[:...]`: a new FlowRun with spec.resumeFrom, so the
// operator reuses every task RUN committed and runs the rest (docs/kubernetes.md).
#pragma once

#include <string>

#include "cli/commands.hpp"
#include "cli/with_option.hpp"

namespace podflow::cli {

struct KubernetesResume {
  std::string run;        // the earlier FlowRun's name or its run id (status.runId)
  std::string flow_path;  // --flow: the flow file to run now; empty: the earlier run's snapshot
  RunOptions options;     // --param values given again; the limits when given
  bool max_workers_given = false;
  bool max_num_splits_given = false;
  WithOptions with;
  bool detach = false;
};

// The exit codes of run_on_kubernetes.
int resume_on_kubernetes(const KubernetesResume& resume);

}  // namespace podflow::cli
