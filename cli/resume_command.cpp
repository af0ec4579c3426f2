#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/local_runner.hpp"
#include "cli/run_history.hpp"

namespace podflow::cli {

void add_resume_command(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand(
      "resume", "Start a new run that reuses every successful task of RUN and re-runs the rest");
  struct Options {
    std::string run;
    std::string flow;
    RunOptions run_options;
  };
  auto options = std::make_shared<Options>();
  options->run_options.datastore = default_datastore();
  command->add_option("run", options->run, "The run to resume")->required();
  command->add_option("--flow", options->flow,
                      "The flow file (default: the file the run was started from)");
  add_run_options(*command, options->run_options);
  command->callback([options, &exit_code] {
    try {
      auto store = datastore::open_datastore(options->run_options.datastore);
      const RunRecord previous = load_run(*store, options->run);
      RunOptions run = options->run_options;
      run.flow_path = options->flow.empty() ? previous.flow_file : options->flow;
      if (!std::filesystem::exists(run.flow_path)) {
        std::cerr << "podflow resume: the flow file " << run.flow_path << " of run " << previous.run
                  << " is gone; pass it with --flow FILE\n";
        exit_code = kExitFailed;
        return;
      }
      // The earlier run's parameter values, unless given again.
      for (const auto& [name, value] : previous.parameters) {
        const bool given =
            std::any_of(run.parameters.begin(), run.parameters.end(),
                        [&](const std::string& p) { return p.rfind(name + "=", 0) == 0; });
        if (!given) run.parameters.push_back(name + "=" + value);
      }
      run.resume_from = previous.run;
      run.live_progress = isatty(STDERR_FILENO) != 0;
      exit_code = run_locally(run);
    } catch (const std::exception& error) {
      std::cerr << "podflow resume: " << error.what() << "\n";
      exit_code = kExitFailed;
    }
  });
}

}  // namespace podflow::cli
