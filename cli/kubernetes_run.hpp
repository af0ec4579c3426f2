// `podflow run FLOW --with kubernetes[:...]`: applies the Flow and creates a FlowRun through the
// current kubeconfig, then follows it until it ends (Ctrl-C deletes it, so its tasks are killed)
// unless detached. `podflow resume RUN --with kubernetes` creates a FlowRun with spec.resumeFrom
// the same way (cli/kubernetes_resume.cpp). The operator does the running (docs/operations.md).
#pragma once

#include <signal.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/with_option.hpp"
#include "kube/kube_client.hpp"

namespace podflow::cli {

// 0: the run succeeded (or was submitted, with detach); 1: it failed or could not start;
// 130: interrupted (the FlowRun was deleted).
int run_on_kubernetes(const RunOptions& options, const WithOptions& with, bool detach);

// ---- what run and resume share ----

// Ctrl-C, SIGTERM and SIGHUP: blocked before the client starts its threads, taken by
// create_and_follow.
sigset_t interrupt_signals();

// `--with kubernetes:...` settings checked with the flow's own decoder (they read like
// spec.defaults of `document`, a Flow document as JSON); each problem printed, false if any.
bool check_overrides(const nlohmann::json& document, const nlohmann::json& overrides);

// Applies the Flow document (server-side apply, field manager podflow-cli); false, with a message,
// when the cluster has no podflow CRDs.
bool apply_flow(kube::Client& client, const std::string& namespace_, nlohmann::json document);

// spec.parameters of a FlowRun from "name=value" assignments.
nlohmann::json parameter_list(const std::vector<std::string>& assignments);

// Creates a FlowRun of `flow_name` with `spec` (named <flow>-<random>, labelled with the flow and
// the kubeconfig's user) and, unless detached, follows it with progress lines until it ends;
// Ctrl-C (one of `signals`, blocked by the caller) deletes it. Prints the FlowRun's name on
// stdout. Returns run_on_kubernetes's exit codes.
int create_and_follow(kube::Client& client, const std::string& namespace_,
                      const std::string& flow_name, const nlohmann::json& spec, bool detach,
                      const sigset_t& signals);

}  // namespace podflow::cli
