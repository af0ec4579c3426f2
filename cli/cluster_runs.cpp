#include "cli/cluster_runs.hpp"

#include <algorithm>
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

// The FlowRun `run`, or nullopt after saying on stderr that `podflow <command>` found none there.
std::optional<json> find_flowrun(kube::Client& client, const std::string& namespace_,
                                 const std::string& run, const std::string& command) {
  auto flowrun = client.get(flowruns_resource(), namespace_, run);
  if (!flowrun) {
    std::cerr << "podflow " << command << ": no FlowRun '" << run << "' in namespace '"
              << namespace_
              << "' (podflow list --kubernetes shows the runs; -n picks the namespace)\n";
  }
  return flowrun;
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
  const auto flowrun = find_flowrun(client, namespace_, run, "logs");
  if (!flowrun) return kExitFailed;
  std::vector<TaskMember> members;
  for (const auto& entry : run_tasks(client, namespace_, run)) {
    if (entry["spec"].value("step", "") != step) continue;
    for (auto& member : task_members(entry)) {
      if (task.empty() || member.id == task) members.push_back(std::move(member));
    }
  }
  if (members.empty()) {
    std::cerr << "podflow logs: run " << run << " has no task of "
              << (task.empty() ? "step '" + step + "'" : "task '" + task + "'")
              << " that ran (yet); podflow list " << run << " shows its steps\n";
    return kExitFailed;
  }
  const json status = flowrun->value("status", json::object());
  std::unique_ptr<datastore::Datastore> store;
  for (const auto& member : members) {
    const std::int64_t current = member.attempt;
    const std::int64_t chosen = attempt.value_or(current);
    const std::string& id = member.id;
    const std::string pod_name = pod::task_object_name(run, id);
    if (members.size() > 1) {
      std::cout << "--- " << run << "/" << step << "/" << id << " attempt " << chosen << " ---\n";
    }
    const bool live = chosen == current && member.phase == "Running";
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
        const auto pod = client.get(kube::resources::pods(), namespace_, pod_name);
        const bool same_attempt =
            pod &&
            (*pod)["metadata"].value("labels", json::object()).value("podflow.dev/attempt", "") ==
                std::to_string(chosen);
        if (same_attempt) {
          std::cout << client.pod_log(namespace_, pod_name);
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
  if (!find_flowrun(client, namespace_, run, "list")) return kExitFailed;
  // A row per Task (a step and split prefix), not per member: readable at 100,000 splits.
  const auto tasks = run_tasks(client, namespace_, run);
  std::printf("%-40s %-20s %-14s %-8s %-7s %-10s %s\n", "TASK", "STEP", "DONE", "RUNNING", "FAILED",
              "STATE", "REASON");
  for (const auto& task : tasks) {
    const json spec = task.value("spec", json::object());
    const json status = task.value("status", json::object());
    const std::string done =
        status.value("progress", "0/" + std::to_string(spec.value("count", std::int64_t{1})));
    std::printf("%-40s %-20s %-14s %-8lld %-7lld %-10s %s\n", kube::name_of(task).c_str(),
                spec.value("step", "-").c_str(), done.c_str(),
                static_cast<long long>(status.value("running", 0)),
                static_cast<long long>(status.value("failed", 0)),
                status.value("phase", "Pending").c_str(), status.value("reason", "").c_str());
  }
  if (tasks.empty()) std::printf("(no tasks yet)\n");
  return kExitOk;
}

int cluster_status(const ClusterScope& scope, const std::string& run) {
  kube::Client client(kube::load_default_config());
  const std::string namespace_ = namespace_or_default(client, scope.namespace_);
  const auto flowrun = find_flowrun(client, namespace_, run, "status");
  if (!flowrun) return kExitFailed;
  const json status = flowrun->value("status", json::object());
  const json counts = status.value("tasks", json::object());
  std::printf("run %s of flow %s: %s (namespace %s, run id %s)\n", run.c_str(),
              flow_of_run(*flowrun).c_str(), status.value("phase", "Pending").c_str(),
              namespace_.c_str(), status.value("runId", "-").c_str());
  std::printf("started %s, finished %s, by %s\n", status.value("startTime", "-").c_str(),
              status.value("completionTime", "-").c_str(), user_of(*flowrun).c_str());
  std::printf("tasks: %lld succeeded of %lld, %lld running, %lld pending, %lld failed",
              static_cast<long long>(counts.value("succeeded", 0)),
              static_cast<long long>(counts.value("total", 0)),
              static_cast<long long>(counts.value("running", 0)),
              static_cast<long long>(counts.value("pending", 0)),
              static_cast<long long>(counts.value("failed", 0)));
  if (counts.contains("cloned")) {
    std::printf(", %lld reused from run %s", static_cast<long long>(counts.value("cloned", 0)),
                flowrun->value("spec", json::object()).value("resumeFrom", "").c_str());
  }
  std::printf("\n");
  // Per step: the sum over its Tasks (a nested foreach has one per outer split).
  struct StepProgress {
    std::int64_t count = 0, succeeded = 0, running = 0, pending = 0, failed = 0, retried = 0;
  };
  std::vector<std::pair<std::string, StepProgress>> steps;
  std::vector<std::string> problems;
  for (const auto& task : run_tasks(client, namespace_, run)) {
    const json spec = task.value("spec", json::object());
    const json task_status = task.value("status", json::object());
    const std::string step = spec.value("step", "");
    auto found = std::find_if(steps.begin(), steps.end(),
                              [&](const auto& entry) { return entry.first == step; });
    if (found == steps.end()) found = steps.insert(steps.end(), {step, StepProgress{}});
    StepProgress& progress = found->second;
    progress.count += spec.value("count", std::int64_t{1});
    progress.succeeded += task_status.value("succeeded", std::int64_t{0});
    progress.running += task_status.value("running", std::int64_t{0});
    progress.pending += task_status.value("pending", std::int64_t{0});
    progress.failed += task_status.value("failed", std::int64_t{0});
    const json retried = task_status.value("retried", json::array());
    progress.retried += static_cast<std::int64_t>(retried.size());
    if (task_status.value("failed", 0) > 0 || (!task_status.value("reason", "").empty() &&
                                               task_status.value("phase", "") != "Succeeded")) {
      problems.push_back(kube::name_of(task) + ": " + task_status.value("reason", "") + ": " +
                         task_status.value("message", ""));
    }
    for (const auto& entry : retried) {
      if (problems.size() >= 20) break;
      problems.push_back(
          kube::name_of(task) + " member " + std::to_string(entry.value("index", 0)) + " attempt " +
          std::to_string(entry.value("attempt", 0)) + ": " + entry.value("message", ""));
    }
  }
  std::printf("\n%-24s %14s %8s %8s %7s %8s\n", "STEP", "SUCCEEDED", "RUNNING", "PENDING", "FAILED",
              "RETRIED");
  for (const auto& [step, progress] : steps) {
    const std::string done =
        std::to_string(progress.succeeded) + "/" + std::to_string(progress.count);
    std::printf("%-24s %14s %8lld %8lld %7lld %8lld\n", step.c_str(), done.c_str(),
                static_cast<long long>(progress.running), static_cast<long long>(progress.pending),
                static_cast<long long>(progress.failed), static_cast<long long>(progress.retried));
  }
  if (steps.empty()) std::printf("(no tasks yet)\n");
  if (!problems.empty()) {
    std::printf("\nfailures and waits:\n");
    for (const auto& problem : problems) std::printf("  %s\n", problem.c_str());
  }
  for (const auto& condition : status.value("conditions", json::array())) {
    if (condition.value("type", "") == "Failed" && condition.value("status", "") == "True") {
      std::printf("\n%s\n", condition.value("message", "").c_str());
    }
  }
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
