// What the cluster commands share: the podflow resources, the kubeconfig's user, a run's Tasks.
#pragma once

#include <cstdint>
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

// The FlowRun's Tasks (one per step and split prefix), in the order the operator created them.
std::vector<nlohmann::json> run_tasks(kube::Client& client, const std::string& namespace_,
                                      const std::string& run);

// A member of a Task that its status names: "train.1.3", Succeeded | Failed | Running, attempt.
struct TaskMember {
  std::string id;
  std::string phase;
  std::int64_t attempt = 0;
};
// The members a Task's status lists as succeeded, failed or running, by index.
std::vector<TaskMember> task_members(const nlohmann::json& task);

}  // namespace podflow::cli
