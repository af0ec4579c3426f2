#include "runtime/step_environment.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

namespace podflow::runtime {

std::string parameter_variable(const std::string& name) {
  std::string variable = "PODFLOW_PARAM_";
  for (const char c : name) variable.push_back(static_cast<char>(std::toupper(c)));
  return variable;
}

std::string cpu_text(double cpu) {
  std::ostringstream text;
  text << cpu;
  return text.str();
}

std::vector<std::string> step_environment(const TaskSpec& spec, const StepPaths& paths,
                                          char** inherited) {
  // Ordered by name so the result is deterministic; later assignments win.
  std::map<std::string, std::string> variables;
  for (char** entry = inherited; entry != nullptr && *entry != nullptr; ++entry) {
    const std::string text(*entry);
    const auto equals = text.find('=');
    if (equals == std::string::npos || equals == 0) continue;
    const std::string name = text.substr(0, equals);
    if (name.starts_with("PODFLOW_")) continue;  // the runtime's own ($PODFLOW_TASK, ...)
    variables[name] = text.substr(equals + 1);
  }
  for (const auto& variable : spec.env) variables[variable.name] = variable.value;

  std::string split_path;
  for (const auto index : spec.splitPath) {
    if (!split_path.empty()) split_path += ".";
    split_path += std::to_string(index);
  }
  variables["PODFLOW_FLOW"] = spec.flow;
  variables["PODFLOW_RUN_ID"] = spec.run;
  variables["PODFLOW_STEP"] = spec.step;
  variables["PODFLOW_TASK_ID"] = spec.task;
  variables["PODFLOW_ATTEMPT"] = std::to_string(spec.attempt);
  variables["PODFLOW_SPLIT_PATH"] = split_path;
  variables["PODFLOW_CPU"] = cpu_text(spec.cpu);
  variables["PODFLOW_INPUTS"] = paths.inputs.string();
  variables["PODFLOW_INPUT_TASKS"] = paths.input_tasks.string();
  variables["PODFLOW_OUTPUTS"] = paths.outputs.string();
  if (spec.foreachInput) {
    variables["PODFLOW_SPLIT_INDEX"] = std::to_string(spec.foreachInput->index);
  }
  if (paths.foreach_item) variables["PODFLOW_FOREACH_ITEM"] = paths.foreach_item->string();
  for (const auto& parameter : spec.parameters) {
    variables[parameter_variable(parameter.name)] = parameter.value;
  }
  // The declared types, so that a step's library can type the values without being told twice.
  if (!spec.parameterTypes.empty()) {
    variables["PODFLOW_PARAMETER_TYPES"] = nlohmann::json(spec.parameterTypes).dump();
  }

  std::vector<std::string> environment;
  environment.reserve(variables.size());
  for (const auto& [name, value] : variables) environment.push_back(name + "=" + value);
  return environment;
}

std::string search_path(const std::vector<std::string>& environment) {
  std::string path = "/usr/local/bin:/usr/bin:/bin";
  for (const auto& entry : environment) {
    if (entry.starts_with("PATH=")) path = entry.substr(5);
  }
  return path;
}

std::string resolve_program(const std::string& program,
                            const std::vector<std::string>& environment) {
  if (program.find('/') != std::string::npos) return program;
  const std::string path = search_path(environment);
  std::size_t start = 0;
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find(':', start), path.size());
    const std::string directory = end == start ? "." : path.substr(start, end - start);
    const std::string candidate = directory + "/" + program;
    struct stat status {};
    if (::stat(candidate.c_str(), &status) == 0 && S_ISREG(status.st_mode) &&
        ::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    start = end + 1;
  }
  return program;
}

}  // namespace podflow::runtime
