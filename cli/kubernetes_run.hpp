// `podflow run FLOW --with kubernetes[:...]`: applies the Flow and creates a FlowRun through the
// current kubeconfig, then follows it until it ends (Ctrl-C deletes it, so its tasks are killed)
// unless detached. The operator does the running (docs/operations.md).
#pragma once

#include "cli/local_runner.hpp"
#include "cli/with_option.hpp"

namespace podflow::cli {

// 0: the run succeeded (or was submitted, with detach); 1: it failed or could not start;
// 130: interrupted (the FlowRun was deleted).
int run_on_kubernetes(const RunOptions& options, const WithOptions& with, bool detach);

}  // namespace podflow::cli
