#include <iostream>

#include "cli/cluster_runs.hpp"
#include "cli/commands.hpp"

namespace podflow::cli {

void add_kill_command(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand(
      "kill", "Stop cluster runs (delete their FlowRuns; their tasks are killed)");
  struct Options {
    std::vector<std::string> runs;
    ClusterScope scope;
    RunFilter filter;
  };
  auto options = std::make_shared<Options>();
  command->add_option("runs", options->runs, "FlowRun names (podflow list --kubernetes)");
  command->add_option("-n,--namespace", options->scope.namespace_,
                      "The namespace (default: the kubeconfig's)");
  command->add_flag("-A,--all-namespaces", options->scope.all_namespaces,
                    "With --my-runs or --user: in every namespace");
  command->add_flag("--my-runs", options->filter.my_runs,
                    "Every unfinished run of the kubeconfig's user");
  command->add_option("--user", options->filter.user, "Every unfinished run of this user");
  command->callback([options, &exit_code] {
    const bool by_filter = options->filter.my_runs || !options->filter.user.empty();
    if (options->runs.empty() == !by_filter) {
      std::cerr << "podflow kill: name runs, or select them with --my-runs or --user NAME "
                   "(not both)\n";
      exit_code = kExitUsage;
      return;
    }
    for (const auto& run : options->runs) {
      if (!is_cluster_run_id(run)) {
        std::cerr << "podflow kill: '" << run
                  << "' is a local run id; a local run stops with Ctrl-C in its terminal\n";
        exit_code = kExitUsage;
        return;
      }
    }
    try {
      exit_code = cluster_kill(options->scope, options->runs, options->filter);
    } catch (const std::exception& error) {
      std::cerr << "podflow kill: " << error.what() << "\n";
      exit_code = kExitFailed;
    }
  });
}

}  // namespace podflow::cli
