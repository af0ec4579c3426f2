// The podflow subcommands. Each adds itself to the CLI11 app; its callback sets the exit code.
#pragma once

#include <CLI/CLI.hpp>

namespace podflow::cli {

// Exit codes shared by every command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // the flow is invalid, or the run failed
inline constexpr int kExitUsage = 2;   // the command line is wrong

void add_validate_command(CLI::App& app, int& exit_code);
void add_show_command(CLI::App& app, int& exit_code);

}  // namespace podflow::cli
