// What the cluster commands share: the podflow resources, the kubeconfig's user, a run's Tasks.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/kube_client.hpp"

namespace podflow::cli {

kube::ResourceRef flows_resource();
kube::ResourceRef flowruns_resource();
kube::ResourceRef tasks_resource();

// Who the API server says we are (SelfSubjectReview); "unknown" when it will not say.
std::string current_kube_user(kube::Client& client);

// The namespace to use: the explicit one, else the kubeconfig's.
std::string namespace_or_default(const kube::Client& client, const std::string& namespace_);

// The FlowRun's Tasks, in task order (split indices compared as numbers: train.2 < train.10).
std::vector<nlohmann::json> run_tasks(kube::Client& client, const std::string& namespace_,
                                      const std::string& run);

}  // namespace podflow::cli
