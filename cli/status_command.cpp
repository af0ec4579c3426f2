#include <cstdio>
#include <iostream>

#include "cli/cluster_runs.hpp"
#include "cli/commands.hpp"
#include "cli/run_history.hpp"

namespace podflow::cli {

void add_status_command(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand("status", "Per-step counts, durations and failures of a run");
  struct Options {
    std::string run;
    std::string datastore = default_datastore();
    ClusterScope scope;
  };
  auto options = std::make_shared<Options>();
  command->add_option("run", options->run, "The run id")->required();
  command->add_option("--datastore", options->datastore, "The datastore (default ./.podflow)");
  command->add_option("-n,--namespace", options->scope.namespace_,
                      "A run on the cluster (a FlowRun's name): its namespace (default: the "
                      "kubeconfig's)");
  command->callback([options, &exit_code] {
    try {
      if (is_cluster_run_id(options->run)) {
        exit_code = cluster_status(options->scope, options->run);
        return;
      }
      auto store = datastore::open_datastore(options->datastore);
      const RunRecord run = load_run(*store, options->run);
      std::printf("run %s of flow %s: %s\n", run.run.c_str(), run.flow.c_str(),
                  run.shown_state().c_str());
      if (const std::string lost = run.lost_reason(); !lost.empty()) {
        std::printf("%s\n", lost.c_str());
      }
      std::printf("started %s, finished %s, by %s\n", run.started_at.c_str(),
                  run.finished_at.empty() ? "-" : run.finished_at.c_str(), run.user.c_str());
      if (!run.resumed_from.empty()) std::printf("resumed from run %s\n", run.resumed_from.c_str());
      for (const auto& [name, value] : run.parameters) {
        std::printf("parameter %s = %s\n", name.c_str(), value.c_str());
      }
      std::printf("\n%-24s %9s %8s %7s %10s %10s %10s\n", "STEP", "SUCCEEDED", "RUNNING", "FAILED",
                  "MIN", "MEDIAN", "MAX");
      for (const auto& step : run.steps) {
        std::printf("%-24s %9lld %8lld %7lld %9.2fs %9.2fs %9.2fs\n", step.name.c_str(),
                    static_cast<long long>(step.succeeded), static_cast<long long>(step.running),
                    static_cast<long long>(step.failed), step.min_ms / 1000.0,
                    step.median_ms / 1000.0, step.max_ms / 1000.0);
      }
      if (!run.failures.empty()) {
        std::printf("\nfailures:\n");
        for (const auto& failure : run.failures) {
          std::printf("  %s/%s attempt %lld: %s\n", run.run.c_str(), failure.task.c_str(),
                      static_cast<long long>(failure.attempt), failure.reason.c_str());
        }
      }
      if (!run.failure.empty()) std::printf("\n%s\n", run.failure.c_str());
      exit_code = kExitOk;
    } catch (const std::exception& error) {
      std::cerr << "podflow status: " << error.what() << "\n";
      exit_code = kExitFailed;
    }
  });
}

}  // namespace podflow::cli
