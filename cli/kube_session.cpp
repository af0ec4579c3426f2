#include "cli/kube_session.hpp"

#include <algorithm>
#include <map>

#include "pod/index_set.hpp"
#include "pod/task_names.hpp"

namespace podflow::cli {

using nlohmann::json;

kube::ResourceRef flows_resource() {
  return {"podflow.dev", "v1alpha1", "flows", true, "Flow"};
}
kube::ResourceRef flowruns_resource() {
  return {"podflow.dev", "v1alpha1", "flowruns", true, "FlowRun"};
}
kube::ResourceRef tasks_resource() {
  return {"podflow.dev", "v1alpha1", "tasks", true, "Task"};
}

std::string current_kube_user(kube::Client& client) {
  try {
    const json review = client.request(
        "POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", {},
        json{{"apiVersion", "authentication.k8s.io/v1"}, {"kind", "SelfSubjectReview"}});
    return review.value("status", json::object())
        .value("userInfo", json::object())
        .value("username", "unknown");
  } catch (const std::exception&) {
    return "unknown";  // an old server, or no right to ask
  }
}

std::string namespace_or_default(const kube::Client& client, const std::string& namespace_) {
  return namespace_.empty() ? client.config().default_namespace : namespace_;
}

std::vector<json> run_tasks(kube::Client& client, const std::string& namespace_,
                            const std::string& run) {
  kube::ListOptions options;
  options.label_selector = "podflow.dev/run=" + pod::label_value(run);
  auto tasks = client.list_all(tasks_resource(), namespace_, options).items;
  std::erase_if(tasks, [&](const json& task) { return task["spec"].value("flowRun", "") != run; });
  // The operator creates a step's Task when its first member is ready: creation is plan order.
  std::sort(tasks.begin(), tasks.end(), [](const json& a, const json& b) {
    return std::pair(a["metadata"].value("creationTimestamp", ""), kube::name_of(a)) <
           std::pair(b["metadata"].value("creationTimestamp", ""), kube::name_of(b));
  });
  return tasks;
}

std::vector<TaskMember> task_members(const json& task) {
  const json spec = task.value("spec", json::object());
  const json status = task.value("status", json::object());
  std::string prefix;
  for (const auto& index : spec.value("splitPrefix", json::array())) {
    if (index.is_number_integer()) prefix += "." + std::to_string(index.get<std::int64_t>());
  }
  const bool indexed = spec.value("indexed", false);
  std::map<std::int64_t, std::int64_t> attempts;
  for (const auto& entry : status.value("retried", json::array())) {
    attempts[entry.value("index", std::int64_t{0})] = entry.value("attempt", std::int64_t{0});
  }
  std::map<std::int64_t, TaskMember> members;
  for (const auto& [field, phase] :
       {std::pair{"succeededIndexes", "Succeeded"}, std::pair{"failedIndexes", "Failed"},
        std::pair{"runningIndexes", "Running"}}) {
    const auto indexes = pod::IndexSet::parse(status.value(field, ""));
    if (!indexes) continue;
    indexes->for_each([&](std::int64_t index) {
      const auto attempt = attempts.find(index);
      members[index] = {
          spec.value("step", "") + prefix + (indexed ? "." + std::to_string(index) : ""), phase,
          attempt == attempts.end() ? 0 : attempt->second};
    });
  }
  std::vector<TaskMember> result;
  for (auto& [index, member] : members) result.push_back(std::move(member));
  return result;
}

}  // namespace podflow::cli
