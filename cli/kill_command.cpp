#include <filesystem>
#include <iostream>

#include "cli/cluster_runs.hpp"
#include "cli/commands.hpp"
#include "cli/flow_file.hpp"

namespace podflow::cli {
namespace {

// A flow file rather than a run name: run names have no '.yaml' and are no file here.
bool looks_like_flow_file(const std::string& argument) {
  return argument.ends_with(".yaml") || argument.ends_with(".yml") || argument.ends_with(".json") ||
         std::filesystem::is_regular_file(argument);
}

}  // namespace

void add_kill_command(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand(
      "kill", "Stop cluster runs (delete their FlowRuns; their tasks are killed)");
  struct Options {
    std::vector<std::string> runs;
    std::string run_id;
    ClusterScope scope;
    RunFilter filter;
  };
  auto options = std::make_shared<Options>();
  command->add_option("runs", options->runs,
                      "A flow file (its latest unfinished run, as the seeds' `batch kill`), or "
                      "FlowRun names (podflow list --kubernetes)");
  command->add_option("--run-id", options->run_id, "The run to kill (a FlowRun's name)");
  command->add_option("-n,--namespace", options->scope.namespace_,
                      "The namespace (default: the kubeconfig's)");
  command->add_flag("-A,--all-namespaces", options->scope.all_namespaces,
                    "With --my-runs or --user: in every namespace");
  command->add_flag("--my-runs", options->filter.my_runs,
                    "Every unfinished run of the kubeconfig's user");
  command->add_option("--user", options->filter.user, "Every unfinished run of this user");
  command->callback([options, &exit_code] {
    // `podflow kill flow.yaml [--run-id ID | --my-runs | --user U]`: the flow in the file
    // restricts every selection to its runs; alone, it names its latest unfinished run.
    bool latest_only = false;
    if (options->runs.size() == 1 && looks_like_flow_file(options->runs[0])) {
      const LoadedFlow loaded = load_flow_file(options->runs[0]);
      if (!loaded.flow) {
        for (const auto& message : loaded.messages) std::cerr << message << "\n";
        std::cerr << "podflow kill: " << options->runs[0]
                  << " is not a valid flow, so its runs cannot be found\n";
        exit_code = kExitUsage;
        return;
      }
      options->filter.flow = loaded.flow->name;
      options->runs.clear();
      latest_only =
          !options->filter.my_runs && options->filter.user.empty() && options->run_id.empty();
    }
    if (!options->run_id.empty()) options->runs.push_back(options->run_id);
    const bool by_filter = options->filter.my_runs || !options->filter.user.empty();
    if (!latest_only && options->runs.empty() == !by_filter) {
      std::cerr << "podflow kill: name runs (or a flow file, or --run-id ID), or select them with "
                   "--my-runs or --user NAME (not both)\n";
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
      exit_code = cluster_kill(options->scope, options->runs, options->filter, latest_only);
    } catch (const std::exception& error) {
      std::cerr << "podflow kill: " << error.what() << "\n";
      exit_code = kExitFailed;
    }
  });
}

}  // namespace podflow::cli
