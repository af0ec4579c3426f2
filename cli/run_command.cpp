#include <unistd.h>

#include <iostream>

#include "cli/commands.hpp"
#include "cli/flow_file.hpp"
#include "cli/kubernetes_run.hpp"
#include "cli/with_option.hpp"

namespace podflow::cli {

int run_here(const RunOptions& options) {
  const LoadedFlow loaded = load_flow_file(options.flow_path);
  if (!loaded.flow) {
    for (const auto& message : loaded.messages) std::cerr << message << "\n";
    return kExitFailed;
  }
  return runner::run_flow(options, *loaded.flow, loaded.text);
}

void add_run_options(CLI::App& command, RunOptions& options) {
  command.add_option("--param", options.parameters, "A parameter value, name=value (repeatable)");
  command.add_option("--max-workers", options.max_workers,
                     "How many tasks may run at once (default 16)");
  command.add_option("--max-num-splits", options.max_num_splits,
                     "How many splits one foreach may make (default 100)");
  command.add_option("--datastore", options.datastore,
                     "Where artifacts and logs go: a directory (default $PODFLOW_DATASTORE or "
                     "./.podflow)");
  command.add_flag("--skip-machine-check", options.skip_machine_check,
                   "Run locally even when a step asks for more cpu, memory or gpu than this "
                   "machine has (resources are not enforced locally; the check warns only)");
}

void add_run_command(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand("run", "Run a flow on this machine, each task a process");
  auto options = std::make_shared<RunOptions>();
  auto with = std::make_shared<std::vector<std::string>>();
  auto detach = std::make_shared<bool>(false);
  options->datastore = default_datastore();
  command->add_option("flow", options->flow_path, "Flow document (YAML or JSON)")->required();
  add_run_options(*command, *options);
  command->add_option("--with", *with,
                      "kubernetes[:cpu=4,memory=10000,disk=..,gpu=..,gpu_vendor=..,namespace=..,"
                      "image=..,service_account=..,secrets=a;b,node_selector=k=v;..,"
                      "tolerations=key[=value][:Effect];..,labels=k=v;..,annotations=k=v;..,qos=..,"
                      "port=..,shared_memory=..,use_tmpfs=..,tmpfs_size=..,tmpfs_path=..,"
                      "persistent_volume_claims=claim:/path;..,priority_class_name=..]: run on the "
                      "cluster of the current kubeconfig, with these run-wide settings");
  command->add_flag("--detach", *detach,
                    "with --with kubernetes: print the FlowRun's name and return at once");
  command->callback([options, with, detach, &exit_code] {
    if (!with->empty()) {
      const WithParse parsed = parse_with(*with);
      for (const auto& problem : parsed.problems) std::cerr << "podflow: " << problem << "\n";
      if (!parsed.problems.empty()) {
        exit_code = kExitUsage;
        return;
      }
      exit_code = run_on_kubernetes(*options, parsed.options, *detach);
      return;
    }
    options->live_progress = isatty(STDERR_FILENO) != 0;
    exit_code = run_here(*options);
  });
}

}  // namespace podflow::cli
