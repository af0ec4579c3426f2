// podflow: validate, show and run flows locally; submit them to Kubernetes.
#include <iostream>

#include "cli/commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{"podflow: Metaflow-style flows, on your machine or on any Kubernetes cluster"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("podflow ") + PODFLOW_VERSION);
  int exit_code = podflow::cli::kExitOk;
  podflow::cli::add_validate_command(app, exit_code);
  podflow::cli::add_show_command(app, exit_code);
  podflow::cli::add_run_command(app, exit_code);
  podflow::cli::add_resume_command(app, exit_code);
  podflow::cli::add_logs_command(app, exit_code);
  podflow::cli::add_list_command(app, exit_code);
  podflow::cli::add_status_command(app, exit_code);
  podflow::cli::add_kill_command(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return podflow::cli::kExitUsage;
  }
  return exit_code;
}
