#include <algorithm>
#include <cstdio>
#include <iostream>

#include "cli/cluster_runs.hpp"
#include "cli/commands.hpp"
#include "cli/run_history.hpp"
#include "datastore/datastore.hpp"
#include "datastore/task_attempts.hpp"
#include "flow/lint.hpp"
#include "runner/run_record.hpp"

namespace podflow::cli {
namespace {

// The tasks of a local run: each one's last attempt, and whether it committed, failed, or has
// not finished (a running run) or never will (a run that ended).
int list_local_tasks(const std::string& datastore_url, const std::string& run_id) {
  auto store = datastore::open_datastore(datastore_url);
  const RunRecord run = load_run(*store, run_id);
  std::printf("%-32s %-20s %-10s %-8s %s\n", "TASK", "STEP", "STATE", "ATTEMPT", "REASON");
  auto tasks = datastore::list_task_attempts(*store, run.flow, run.run);
  // In the flow's order of steps (the document as it was run), split order within a step.
  const auto flow = flow::validate_flow(run.flow_text).flow;
  auto position = [&](const std::string& step) {
    if (flow) {
      for (std::size_t i = 0; i < flow->steps.size(); ++i) {
        if (flow->steps[i].name == step) return i;
      }
    }
    return std::size_t{0};
  };
  std::stable_sort(tasks.begin(), tasks.end(), [&](const auto& a, const auto& b) {
    return position(a.step) < position(b.step);
  });
  for (const auto& task : tasks) {
    const std::int64_t attempt = task.attempts.empty() ? 0 : task.attempts.back();
    std::string state = run.state == "running" ? "Running" : "Unfinished";
    std::string reason;
    if (store->read_manifest({run.flow, run.run, task.step, task.task, attempt})) {
      state = "Succeeded";
    } else {
      for (const auto& failure : run.failures) {
        if (failure.task == task.task && failure.attempt == attempt) {
          state = "Failed";
          reason = failure.reason;
        }
      }
    }
    std::printf("%-32s %-20s %-10s %-8lld %s\n", task.task.c_str(), task.step.c_str(),
                state.c_str(), static_cast<long long>(attempt), reason.c_str());
  }
  if (tasks.empty()) std::printf("(no tasks yet)\n");
  return kExitOk;
}

}  // namespace

void add_list_command(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand("list", "List recent runs and their state");
  struct Options {
    std::string run;
    std::string datastore = default_datastore();
    std::size_t limit = 20;
    std::string flow;
    bool kubernetes = false;
    ClusterScope scope;
    RunFilter filter;
  };
  auto options = std::make_shared<Options>();
  command->add_option("run", options->run,
                      "A run id: list its tasks and their states instead (a FlowRun's name, or a "
                      "local run's number)");
  command->add_flag("--kubernetes", options->kubernetes,
                    "List the FlowRuns of the current kubeconfig's cluster instead");
  command->add_option("-n,--namespace", options->scope.namespace_,
                      "With --kubernetes: the namespace (default: the kubeconfig's)");
  command->add_flag("-A,--all-namespaces", options->scope.all_namespaces,
                    "With --kubernetes: every namespace");
  command->add_flag("--my-runs", options->filter.my_runs,
                    "Only the runs of the kubeconfig's user (implies --kubernetes)");
  command->add_option("--user", options->filter.user,
                      "Only the runs of this user (implies --kubernetes)");
  command->add_option("--datastore", options->datastore, "The datastore (default ./.podflow)");
  command->add_option("--limit", options->limit, "How many runs, newest first (default 20)");
  command->add_option("--flow", options->flow, "Only runs of this flow (also with --kubernetes)");
  command->callback([options, &exit_code] {
    try {
      if (!options->run.empty()) {
        exit_code = is_cluster_run_id(options->run)
                        ? cluster_list_tasks(options->scope, options->run)
                        : list_local_tasks(options->datastore, options->run);
        return;
      }
      if (options->kubernetes || options->filter.my_runs || !options->filter.user.empty()) {
        options->filter.flow = options->flow;
        exit_code = cluster_list(options->scope, options->filter, options->limit);
        return;
      }
      auto store = datastore::open_datastore(options->datastore);
      auto records = store->list_run_records();
      std::printf("%-6s %-20s %-10s %-21s %-21s %s\n", "RUN", "FLOW", "STATE", "STARTED",
                  "FINISHED", "TASKS");
      std::size_t shown = 0;
      for (auto entry = records.rbegin(); entry != records.rend() && shown < options->limit;
           ++entry) {
        if (!entry->record.contains("flow")) continue;  // an id being allocated
        RunRecord run;
        try {
          run = RunRecord::from_json(entry->record);
        } catch (const std::exception& error) {
          // One damaged record must not hide every other run.
          std::cerr << "podflow list: skipping " << store->url() << "/"
                    << datastore::Datastore::run_record_key(entry->run) << ": " << error.what()
                    << " (move it out of the datastore, or delete it)\n";
          continue;
        }
        if (!options->flow.empty() && run.flow != options->flow) continue;
        std::int64_t done = 0, failed = 0;
        for (const auto& step : run.steps) {
          done += step.succeeded;
          failed += step.failed;
        }
        std::printf("%-6s %-20s %-10s %-21s %-21s %lld done, %lld failed\n", run.run.c_str(),
                    run.flow.c_str(), run.shown_state().c_str(), run.started_at.c_str(),
                    run.finished_at.empty() ? "-" : run.finished_at.c_str(),
                    static_cast<long long>(done), static_cast<long long>(failed));
        ++shown;
      }
      exit_code = kExitOk;
    } catch (const std::exception& error) {
      std::cerr << "podflow list: " << error.what() << "\n";
      exit_code = kExitFailed;
    }
  });
}

}  // namespace podflow::cli
