#include <unistd.h>

#include "cli/commands.hpp"
#include "cli/local_runner.hpp"

namespace podflow::cli {

void add_run_options(CLI::App& command, RunOptions& options) {
  command.add_option("--param", options.parameters, "A parameter value, name=value (repeatable)");
  command.add_option("--max-workers", options.max_workers,
                     "How many tasks may run at once (default 16)");
  command.add_option("--max-num-splits", options.max_num_splits,
                     "How many splits one foreach may make (default 100)");
  command.add_option("--datastore", options.datastore,
                     "Where artifacts and logs go: a directory (default $PODFLOW_DATASTORE or "
                     "./.podflow)");
}

void add_run_command(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand("run", "Run a flow on this machine, each task a process");
  auto options = std::make_shared<RunOptions>();
  options->datastore = default_datastore();
  command->add_option("flow", options->flow_path, "Flow document (YAML or JSON)")->required();
  add_run_options(*command, *options);
  command->callback([options, &exit_code] {
    options->live_progress = isatty(STDERR_FILENO) != 0;
    exit_code = run_locally(*options);
  });
}

}  // namespace podflow::cli
