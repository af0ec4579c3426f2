#include <iostream>
#include <memory>

#include "cli/cluster_runs.hpp"
#include "cli/commands.hpp"
#include "cli/run_history.hpp"
#include "datastore/store_error.hpp"
#include "datastore/task_attempts.hpp"
#include "kube/kube_client.hpp"
#include "kube/kube_config.hpp"
#include "pod/pod_builder.hpp"

namespace podflow::cli {
namespace {

int show_logs(const std::string& datastore_root, const std::string& namespace_,
              const std::string& address, std::optional<std::int64_t> attempt, bool stdout_only,
              bool stderr_only) {
  // RUN/STEP or RUN/STEP/TASK, as Metaflow's `logs 15/end`.
  const auto first = address.find('/');
  if (first == std::string::npos || first == 0 || first + 1 == address.size()) {
    std::cerr << "podflow logs: '" << address
              << "' is not RUN/STEP or RUN/STEP/TASK (e.g. 15/end)\n";
    return kExitUsage;
  }
  const std::string run_id = address.substr(0, first);
  std::string step = address.substr(first + 1);
  std::string task;
  if (const auto second = step.find('/'); second != std::string::npos) {
    task = step.substr(second + 1);
    step = step.substr(0, second);
  }
  if (is_cluster_run_id(run_id)) {
    ClusterScope scope;
    scope.namespace_ = namespace_;
    return cluster_logs(scope, run_id, step, task, attempt, stdout_only, stderr_only);
  }
  auto store = datastore::open_datastore(datastore_root);
  const RunRecord run = load_run(*store, run_id);
  auto tasks = datastore::list_task_attempts(*store, run.flow, run.run, step);
  if (!task.empty()) {
    std::erase_if(tasks, [&](const datastore::TaskAttempts& entry) { return entry.task != task; });
  }
  // A cluster step's task that is running now: its pod's log, live (the datastore has its output
  // once it ends). An explicit --attempt is the datastore's.
  std::map<std::string, std::string> live;
  if (!attempt) {
    for (const auto& [id, pod] : run.running_pods) {
      if (id.substr(0, id.find('.')) == step && (task.empty() || id == task)) live[id] = pod;
    }
    std::erase_if(tasks,
                  [&](const datastore::TaskAttempts& entry) { return live.contains(entry.task); });
  }
  if (tasks.empty() && live.empty()) {
    std::cerr << "podflow logs: run " << run_id << " has no logs for "
              << (task.empty() ? "step '" + step + "'" : "task '" + task + "'")
              << "; `podflow status " << run_id << "` shows its steps\n";
    return 1;
  }
  for (const auto& entry : tasks) {
    const std::int64_t chosen = attempt.value_or(entry.attempts.back());
    const datastore::AttemptId id{run.flow, run.run, entry.step, entry.task, chosen};
    if (tasks.size() > 1) {
      std::cout << "--- " << run.run << "/" << entry.step << "/" << entry.task << " attempt "
                << chosen << " ---\n";
    }
    bool any = false;
    if (!stderr_only) {
      if (auto text = store->get_log(id, datastore::LogStream::standard_output)) {
        std::cout << *text;
        any = true;
      }
    }
    if (!stdout_only) {
      if (auto text = store->get_log(id, datastore::LogStream::standard_error)) {
        std::cerr << *text;
        any = true;
      }
    }
    if (!any && attempt) {
      std::cerr << "podflow logs: task " << entry.task << " has no attempt " << chosen
                << " (it has attempts";
      for (auto a : entry.attempts) std::cerr << " " << a;
      std::cerr << ")\n";
      return 1;
    }
  }
  std::unique_ptr<kube::Client> client;  // one for every live task, made when first needed
  for (const auto& [id, where] : live) {
    const auto slash = where.find('/');
    if (tasks.size() + live.size() > 1) {
      std::cout << "--- " << run.run << "/" << step << "/" << id << " running: pod " << where
                << " ---\n";
    }
    try {
      if (!client) client = std::make_unique<kube::Client>(kube::load_default_config());
      kube::PodLogOptions options;
      options.container = pod::kContainerName;
      std::cout << client->pod_log(where.substr(0, slash), where.substr(slash + 1), options);
    } catch (const std::exception& error) {
      std::cerr << "podflow logs: " << id << " runs in pod " << where
                << ", whose log cannot be read: " << error.what() << "\n";
      return 1;
    }
  }
  std::cout.flush();
  return 0;
}

}  // namespace

void add_logs_command(CLI::App& app, int& exit_code) {
  auto* command =
      app.add_subcommand("logs", "Print what a step's tasks wrote: podflow logs RUN/STEP[/TASK]");
  struct Options {
    std::string address;
    std::optional<std::int64_t> attempt;
    std::string datastore = default_datastore();
    bool stdout_only = false;
    bool stderr_only = false;
    std::string namespace_;
  };
  auto options = std::make_shared<Options>();
  command->add_option("address", options->address, "RUN/STEP or RUN/STEP/TASK, e.g. 15/end")
      ->required();
  command->add_option("--attempt", options->attempt, "Which attempt (default: the latest)");
  command->add_flag("--stdout", options->stdout_only, "Only standard output");
  command->add_flag("--stderr", options->stderr_only, "Only standard error");
  command->add_option("--datastore", options->datastore, "The datastore (default ./.podflow)");
  command->add_option("-n,--namespace", options->namespace_,
                      "A cluster run's namespace (default: the kubeconfig's); cluster runs are "
                      "FlowRun names, local runs numbers");
  command->callback([options, &exit_code] {
    try {
      exit_code = show_logs(options->datastore, options->namespace_, options->address,
                            options->attempt, options->stdout_only, options->stderr_only);
    } catch (const std::exception& error) {
      std::cerr << "podflow logs: " << error.what() << "\n";
      exit_code = kExitFailed;
    }
  });
}

}  // namespace podflow::cli
