#include "cli/kube_session.hpp"

#include <algorithm>

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

namespace {

// "train.1.10" -> ("train", [1, 10]) for ordering.
std::pair<std::string, std::vector<long long>> task_order(const std::string& id) {
  std::pair<std::string, std::vector<long long>> key;
  std::size_t start = 0;
  bool first = true;
  while (start <= id.size()) {
    const auto dot = id.find('.', start);
    const std::string part = id.substr(start, dot == std::string::npos ? dot : dot - start);
    if (first) {
      key.first = part;
      first = false;
    } else {
      try {
        key.second.push_back(std::stoll(part));
      } catch (const std::exception&) {
        key.second.push_back(-1);
      }
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return key;
}

}  // namespace

std::vector<json> run_tasks(kube::Client& client, const std::string& namespace_,
                            const std::string& run) {
  kube::ListOptions options;
  options.label_selector = "podflow.dev/run=" + pod::label_value(run);
  auto tasks = client.list_all(tasks_resource(), namespace_, options).items;
  std::erase_if(tasks, [&](const json& task) { return task["spec"].value("flowRun", "") != run; });
  std::sort(tasks.begin(), tasks.end(), [](const json& a, const json& b) {
    return task_order(a["spec"].value("taskId", "")) < task_order(b["spec"].value("taskId", ""));
  });
  return tasks;
}

}  // namespace podflow::cli
