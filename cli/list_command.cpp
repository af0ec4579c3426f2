#include <cstdio>
#include <iostream>

#include "cli/cluster_runs.hpp"
#include "cli/commands.hpp"
#include "cli/local_runner.hpp"
#include "cli/run_record.hpp"
#include "datastore/datastore.hpp"

namespace podflow::cli {

void add_list_command(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand("list", "List recent runs and their state");
  struct Options {
    std::string datastore = default_datastore();
    std::size_t limit = 20;
    std::string flow;
    bool kubernetes = false;
    ClusterScope scope;
    RunFilter filter;
  };
  auto options = std::make_shared<Options>();
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
  command->add_option("--flow", options->flow, "Only runs of this flow");
  command->callback([options, &exit_code] {
    try {
      if (options->kubernetes || options->filter.my_runs || !options->filter.user.empty()) {
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
