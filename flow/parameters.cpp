#include "flow/parameters.hpp"

#include <regex>

#include <nlohmann/json.hpp>

#include "flow/suggestion.hpp"

namespace podflow::flow {
namespace {

bool has_type(const std::string& value, const std::string& type) {
  static const std::regex kInteger("[-+]?[0-9]+");
  static const std::regex kNumber("[-+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][-+]?[0-9]+)?");
  if (type == "integer") return std::regex_match(value, kInteger);
  if (type == "number") return std::regex_match(value, kNumber);
  if (type == "boolean") return value == "true" || value == "false";
  if (type == "json") return nlohmann::json::accept(value);
  return true;
}

}  // namespace

ResolvedParameters resolve_parameters(const flow::FlowSpec& flow,
                                      const std::vector<std::string>& assignments) {
  ResolvedParameters result;
  std::vector<std::string> names;
  for (const auto& parameter : flow.parameters) names.push_back(parameter.name);
  std::map<std::string, std::string> given;
  for (const auto& assignment : assignments) {
    const auto equals = assignment.find('=');
    if (equals == std::string::npos || equals == 0) {
      result.problems.push_back("--param " + assignment + ": write it as name=value");
      continue;
    }
    const std::string name = assignment.substr(0, equals);
    if (!flow.parameters.empty() &&
        std::none_of(flow.parameters.begin(), flow.parameters.end(),
                     [&](const auto& parameter) { return parameter.name == name; })) {
      std::string message = "--param " + name + ": the flow has no parameter '" + name + "'";
      const std::string suggestion = flow::closest_match(name, names);
      if (!suggestion.empty()) message += "; did you mean '" + suggestion + "'?";
      result.problems.push_back(message);
      continue;
    }
    if (flow.parameters.empty()) {
      result.problems.push_back("--param " + name + ": the flow declares no parameters");
      continue;
    }
    given[name] = assignment.substr(equals + 1);
  }
  for (const auto& parameter : flow.parameters) {
    auto value = given.count(parameter.name) ? std::optional<std::string>(given[parameter.name])
                                             : parameter.defaultValue;
    if (!value) {
      result.problems.push_back("parameter '" + parameter.name + "' is required: add --param " +
                                parameter.name + "=VALUE" +
                                (parameter.help.empty() ? "" : " (" + parameter.help + ")"));
      continue;
    }
    if (!has_type(*value, parameter.type)) {
      result.problems.push_back("--param " + parameter.name + "=" + *value + ": '" + *value +
                                "' is not " + (parameter.type == "integer" ? "an " : "a ") +
                                parameter.type + " value");
      continue;
    }
    result.values[parameter.name] = *value;
  }
  return result;
}

}  // namespace podflow::flow
