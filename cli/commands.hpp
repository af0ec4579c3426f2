// The podflow subcommands. Each adds itself to the CLI11 app; its callback sets the exit code.
#pragma once

#include <CLI/CLI.hpp>

#include "runner/local_run.hpp"

namespace podflow::cli {

// Exit codes shared by every command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the flow is invalid, or the run failed
inline constexpr int kExitUsage = 2;   // the command line is wrong

using runner::check_run_options;
using runner::default_datastore;
using runner::RunOptions;

// `podflow run FLOW` without --with: reads the flow file and runs it from here (runner/).
int run_here(const RunOptions& options);

void add_validate_command(CLI::App& app, int& exit_code);
void add_show_command(CLI::App& app, int& exit_code);
void add_run_command(CLI::App& app, int& exit_code);
void add_resume_command(CLI::App& app, int& exit_code);
void add_logs_command(CLI::App& app, int& exit_code);
void add_list_command(CLI::App& app, int& exit_code);
void add_status_command(CLI::App& app, int& exit_code);
void add_kill_command(CLI::App& app, int& exit_code);

// --param, --max-workers, --max-num-splits, --datastore: shared by run and resume.
void add_run_options(CLI::App& command, RunOptions& options);

}  // namespace podflow::cli
