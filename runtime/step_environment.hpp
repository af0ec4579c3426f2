// The step's environment (docs/step-contract.md): the runtime's own, minus any PODFLOW_*
// variable, plus the spec's env, plus the contract's PODFLOW_* variables.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "runtime/task_spec.hpp"

namespace podflow::runtime {

struct StepPaths {
  std::filesystem::path inputs;
  std::filesystem::path input_tasks;
  std::filesystem::path outputs;
  std::optional<std::filesystem::path> foreach_item;
};

// "NAME=value" entries; `inherited` is a NULL-terminated environ-style array.
std::vector<std::string> step_environment(const TaskSpec& spec, const StepPaths& paths,
                                          char** inherited);

// "PODFLOW_PARAM_" + the name in upper case.
std::string parameter_variable(const std::string& name);

// "2", "0.5", "1.5": the shortest text of an effective cpu count.
std::string cpu_text(double cpu);

// The step's PATH: its environment's, else the default execvp searches.
std::string search_path(const std::vector<std::string>& environment);

// The absolute program argv[0] names, searched on the step's PATH as execvp would; argv[0]
// itself when it holds a '/' or is found nowhere (exec then reports why).
std::string resolve_program(const std::string& program,
                            const std::vector<std::string>& environment);

}  // namespace podflow::runtime
