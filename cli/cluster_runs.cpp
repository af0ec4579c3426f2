#include "cli/cluster_runs.hpp"

#include <chrono>
#include <cstdio>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/kube_session.hpp"
#include "datastore/datastore.hpp"
#include "kube/kube_config.hpp"
#include "kube/kube_time.hpp"
#include "pod/task_names.hpp"

namespace podflow::cli {
namespace {

using nlohmann::json;

std::string age_of(const json& object) {
  const auto created =
      kube::parse_time(object["metadata"].value("creationTimestamp", std::string()));
  if (!created) return "-";
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - *created)
          .count();
  if (seconds < 120) return std::to_string(seconds) + "s";
  if (seconds < 7200) return std::to_string(seconds / 60) + "m";
  if (seconds < 172800) return std::to_string(seconds / 3600) + "h";
  return std::to_string(seconds / 86400) + "d";
}

std::string user_of(const json& run) {
  return run["metadata"].value("annotations", json::object()).value("podflow.dev/user", "-");
}

// The label selector for a filter, or "" for every run.
std::string user_selector(kube::Client& client, const RunFilter& filter) {
  std::string user = filter.user;
  if (filter.my_runs) user = current_kube_user(client);
  return user.empty() ? "" : "podflow.dev/user=" + pod::label_value(user);
}

bool finished(const json& run) {
  const std::string phase = run.value("status", json::object()).value("phase", "");
  return phase == "Succeeded" || phase == "Failed";
}

// The runs of the namespace (or every namespace) the filter selects, newest first.
std::vector<json> selected_runs(kube::Client& client, const std::string& namespace_,
                                const RunFilter& filter) {
  kube::ListOptions options;
  options.label_selector = user_selector(client, filter);
  std::vector<json> runs;
  for (auto& run : client.list_all(flowruns_resource(), namespace_, options).items) {
    if (filter.flow.empty() || flow_of_run(run) == filter.flow) runs.push_back(std::move(run));
  }
  std::sort(runs.begin(), runs.end(), [](const json& a, const json& b) {
    return a["metadata"].value("creationTimestamp", "") >
           b["metadata"].value("creationTimestamp", "");
  });
  return runs;
}

}  // namespace

std::string flow_of_run(const json& run) {
  const json status = run.value("status", json::object());
  if (const std::string name = status.value("flowName", ""); !name.empty()) return name;
  const json labels = run["metadata"].value("labels", json::object());
  if (const std::string name = labels.value("podflow.dev/flow", ""); !name.empty()) return name;
  const json spec = run.value("spec", json::object());
  if (const std::string name = spec.value("flowName", ""); !name.empty()) return name;
  if (const std::string name = spec.value("flowRef", json::object()).value("name", "");
      !name.empty()) {
    return name;
  }
  return kube::name_of(run);
}

bool is_cluster_run_id(const std::string& run_id) {
  return !run_id.empty() && run_id.find_first_not_of("0123456789") != std::string::npos;
}

int cluster_logs(const ClusterScope& scope, const std::string& run, const std::string& step,
                 const std::string& task, std::optional<std::int64_t> attempt, bool stdout_only,
                 bool stderr_only) {
  kube::Client client(kube::load_default_config());
  const std::string namespace_ = namespace_or_default(client, scope.namespace_);
  const auto flowrun = client.get(flowruns_resource(), namespace_, run);
  if (!flowrun) {
    std::cerr << "podflow logs: no FlowRun '" << run << "' in namespace '" << namespace_
              << "' (podflow list --kubernetes shows the runs; -n picks the namespace)\n";
    return kExitFailed;
  }
  auto tasks = run_tasks(client, namespace_, run);
  std::erase_if(tasks, [&](const json& entry) {
    return entry["spec"].value("step", "") != step ||
           (!task.empty() && entry["spec"].value("taskId", "") != task);
  });
  if (tasks.empty()) {
    std::cerr << "podflow logs: run " << run << " has no task of "
              << (task.empty() ? "step '" + step + "'" : "task '" + task + "'")
              << " (yet); kubectl get tasks -l podflow.dev/run=" << run << " lists them\n";
    return kExitFailed;
  }
  const json status = flowrun->value("status", json::object());
  std::unique_ptr<datastore::Datastore> store;
  for (const auto& entry : tasks) {
    const json task_status = entry.value("status", json::object());
    const std::int64_t current = task_status.value("attempt", std::int64_t{0});
    const std::int64_t chosen = attempt.value_or(current);
    const std::string id = entry["spec"].value("taskId", "");
    if (tasks.size() > 1) {
      std::cout << "--- " << run << "/" << step << "/" << id << " attempt " << chosen << " ---\n";
    }
    const std::string phase = task_status.value("phase", "");
    const bool live = chosen == current && (phase == "Running" || phase == "Pending");
    bool shown = false;
    if (!live) {
      // A finished attempt: the datastore keeps stdout and stderr apart, and outlives the pod.
      try {
        if (!store) store = datastore::open_datastore(status.value("datastore", ""));
        const datastore::AttemptId attempt_id{status.value("flowName", ""),
                                              status.value("runId", ""), step, id, chosen};
        if (!stderr_only) {
          if (auto text = store->get_log(attempt_id, datastore::LogStream::standard_output)) {
            std::cout << *text;
            shown = true;
          }
        }
        if (!stdout_only) {
          if (auto text = store->get_log(attempt_id, datastore::LogStream::standard_error)) {
            std::cerr << *text;
            shown = true;
          }
        }
      } catch (const std::exception& error) {
        std::cerr << "podflow logs: the datastore " << status.value("datastore", "")
                  << " cannot be read here (" << error.what() << "); trying the pod\n";
      }
    }
    if (!shown) {
      // Live, or the datastore had nothing: the pod's log (stdout and stderr together).
      try {
        const auto pod = client.get(kube::resources::pods(), namespace_, kube::name_of(entry));
        const bool same_attempt =
            pod &&
            (*pod)["metadata"].value("labels", json::object()).value("podflow.dev/attempt", "") ==
                std::to_string(chosen);
        if (same_attempt) {
          std::cout << client.pod_log(namespace_, kube::name_of(entry));
          shown = true;
        }
      } catch (const kube::KubeError& error) {
        std::cerr << "podflow logs: " << error.what() << "\n";
      }
    }
    if (!shown) {
      std::cerr << "podflow logs: no log for " << id << " attempt " << chosen
                << " (neither in the datastore nor in a pod)\n";
    }
  }
  std::cout.flush();
  return kExitOk;
}

int cluster_list(const ClusterScope& scope, const RunFilter& filter, std::size_t limit) {
  kube::Client client(kube::load_default_config());
  const std::string namespace_ =
      scope.all_namespaces ? "" : namespace_or_default(client, scope.namespace_);
  const auto runs = selected_runs(client, namespace_, filter);
  std::printf("%-16s %-28s %-16s %-10s %-10s %-20s %s\n", "NAMESPACE", "RUN", "FLOW", "PHASE",
              "DONE", "USER", "AGE");
  std::size_t shown = 0;
  for (const auto& run : runs) {
    if (shown++ >= limit) break;
    const json status = run.value("status", json::object());
    const json tasks = status.value("tasks", json::object());
    const std::string done =
        std::to_string(tasks.value("succeeded", 0)) + "/" + std::to_string(tasks.value("total", 0));
    std::printf("%-16s %-28s %-16s %-10s %-10s %-20s %s\n", kube::namespace_of(run).c_str(),
                kube::name_of(run).c_str(), flow_of_run(run).c_str(),
                status.value("phase", "Pending").c_str(), done.c_str(), user_of(run).c_str(),
                age_of(run).c_str());
  }
  return kExitOk;
}

int cluster_list_tasks(const ClusterScope& scope, const std::string& run) {
  kube::Client client(kube::load_default_config());
  const std::string namespace_ = namespace_or_default(client, scope.namespace_);
  if (!client.get(flowruns_resource(), namespace_, run)) {
    std::cerr << "podflow list: no FlowRun '" << run << "' in namespace '" << namespace_
              << "' (podflow list --kubernetes shows the runs; -n picks the namespace)\n";
    return kExitFailed;
  }
  kube::ListOptions options;
  options.label_selector = "podflow.dev/run=" + pod::label_value(run);
  auto tasks = client.list_all(tasks_resource(), namespace_, options).items;
  std::sort(tasks.begin(), tasks.end(), [](const json& a, const json& b) {
    return a["metadata"].value("creationTimestamp", "") + kube::name_of(a) <
           b["metadata"].value("creationTimestamp", "") + kube::name_of(b);
  });
  std::printf("%-32s %-20s %-10s %-8s %-20s %s\n", "TASK", "STEP", "STATE", "ATTEMPT", "NODE",
              "REASON");
  for (const auto& task : tasks) {
    const json spec = task.value("spec", json::object());
    const json status = task.value("status", json::object());
    std::printf("%-32s %-20s %-10s %-8lld %-20s %s\n", spec.value("taskId", "-").c_str(),
                spec.value("step", "-").c_str(), status.value("phase", "Pending").c_str(),
                static_cast<long long>(status.value("attempt", 0)),
                status.value("nodeName", "-").c_str(), status.value("reason", "").c_str());
  }
  if (tasks.empty()) std::printf("(no tasks yet)\n");
  return kExitOk;
}

int cluster_kill(const ClusterScope& scope, const std::vector<std::string>& runs,
                 const RunFilter& filter, bool latest_only) {
  kube::Client client(kube::load_default_config());
  const std::string namespace_ = namespace_or_default(client, scope.namespace_);
  std::vector<std::pair<std::string, std::string>> targets;  // namespace, name
  int exit_code = kExitOk;
  if (!runs.empty()) {
    for (const auto& run : runs) {
      if (!filter.flow.empty()) {
        const auto found = client.get(flowruns_resource(), namespace_, run);
        if (found && flow_of_run(*found) != filter.flow) {
          std::cerr << "podflow kill: run '" << run << "' is of flow '" << flow_of_run(*found)
                    << "', not of '" << filter.flow << "'; nothing killed\n";
          return kExitFailed;
        }
      }
      targets.emplace_back(namespace_, run);
    }
  } else {
    for (const auto& run : selected_runs(client, scope.all_namespaces ? "" : namespace_, filter)) {
      if (finished(run)) continue;
      targets.emplace_back(kube::namespace_of(run), kube::name_of(run));
      if (latest_only) break;
    }
  }
  kube::DeleteOptions options;
  options.propagation = kube::PropagationPolicy::background;
  for (const auto& [run_namespace, name] : targets) {
    if (client.remove(flowruns_resource(), run_namespace, name, options)) {
      std::cout << "killed " << run_namespace << "/" << name << "\n";
    } else {
      std::cerr << "podflow kill: no FlowRun '" << name << "' in namespace '" << run_namespace
                << "'\n";
      exit_code = kExitFailed;
    }
  }
  if (targets.empty()) std::cout << "no unfinished runs to kill\n";
  return exit_code;
}

}  // namespace podflow::cli
