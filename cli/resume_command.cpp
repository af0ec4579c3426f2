#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/kubernetes_resume.hpp"
#include "cli/run_history.hpp"
#include "cli/with_option.hpp"

namespace podflow::cli {

void add_resume_command(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand(
      "resume", "Start a new run that reuses every successful task of RUN and re-runs the rest");
  struct Options {
    std::string run;
    std::string flow;
    RunOptions run_options;
    std::vector<std::string> with;
    bool detach = false;
  };
  auto options = std::make_shared<Options>();
  options->run_options.datastore = default_datastore();
  command
      ->add_option("run", options->run,
                   "The run to resume: a local run id, or with --with kubernetes the earlier "
                   "FlowRun's name or run id")
      ->required();
  command->add_option("--flow", options->flow,
                      "The flow file (default: the file the run was started from; on the cluster "
                      "the flow the earlier run executed)");
  add_run_options(*command, options->run_options);
  command->add_option("--with", options->with,
                      "kubernetes[:cpu=4,...]: resume on the cluster of the current kubeconfig "
                      "(the settings as for run --with; the earlier run's are kept otherwise)");
  command->add_flag("--detach", options->detach,
                    "with --with kubernetes: print the new FlowRun's name and return at once");
  command->callback([options, command, &exit_code] {
    if (!options->with.empty()) {
      const WithParse parsed = parse_with(options->with);
      for (const auto& problem : parsed.problems) std::cerr << "podflow: " << problem << "\n";
      if (!parsed.problems.empty()) {
        exit_code = kExitUsage;
        return;
      }
      KubernetesResume resume;
      resume.run = options->run;
      resume.flow_path = options->flow;
      resume.options = options->run_options;
      resume.max_workers_given = command->count("--max-workers") > 0;
      resume.max_num_splits_given = command->count("--max-num-splits") > 0;
      resume.with = parsed.options;
      resume.detach = options->detach;
      exit_code = resume_on_kubernetes(resume);
      return;
    }
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
      keep_earlier_parameters(run.parameters, previous.parameters);
      run.resume_from = previous.run;
      run.live_progress = isatty(STDERR_FILENO) != 0;
      exit_code = run_here(run);
    } catch (const std::exception& error) {
      std::cerr << "podflow resume: " << error.what() << "\n";
      exit_code = kExitFailed;
    }
  });
}

}  // namespace podflow::cli
