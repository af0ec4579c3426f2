#include "flow/parameters.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <regex>

#include <nlohmann/json.hpp>

#include "flow/defaults.hpp"
#include "flow/suggestion.hpp"

namespace podflow::flow {
namespace {

// A value as messages show it: control bytes escaped (a NUL would cut the message short), long
// values cut (a 30 KiB value would bury it).
std::string shown(std::string_view value) {
  std::size_t cut = std::min<std::size_t>(value.size(), 60);
  // Not inside a UTF-8 sequence: the message must stay valid text.
  while (cut < value.size() && cut > 0 && (static_cast<unsigned char>(value[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  std::string text;
  for (const char c : value.substr(0, cut)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      text += "\\x";
      text += "0123456789abcdef"[byte >> 4];
      text += "0123456789abcdef"[byte & 15];
    } else {
      text += c;
    }
  }
  if (value.size() > cut) text += "... (" + std::to_string(value.size()) + " bytes)";
  return text;
}

std::string ordinal(std::size_t n) {
  const std::size_t tens = n % 100;
  const char* suffix = (tens >= 11 && tens <= 13) ? "th"
                       : n % 10 == 1              ? "st"
                       : n % 10 == 2              ? "nd"
                       : n % 10 == 3              ? "rd"
                                                  : "th";
  return std::to_string(n) + suffix;
}

}  // namespace

std::size_t json_escaped_size(std::string_view value) {
  std::size_t size = 0;
  for (const char c : value) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\' || c == '\n' || c == '\r' || c == '\t' || c == '\b' || c == '\f') {
      size += 2;
    } else if (byte < 0x20) {
      size += 6;  // \u00XX
    } else {
      ++size;
    }
  }
  return size;
}

std::string parameter_value_problem(std::string_view type, std::string_view value) {
  const std::string text(value);
  const std::string quoted = "'" + shown(value) + "'";
  if (text.find('\0') != std::string::npos) {
    return quoted +
           " contains a NUL byte (\\0), which an environment variable cannot carry; remove it";
  }
  if (json_escaped_size(value) > defaults::kMaxParameterValueBytes) {
    return "is " + std::to_string(json_escaped_size(value)) +
           " bytes (JSON-escaped); a parameter value may be at most " +
           std::to_string(defaults::kMaxParameterValueBytes) +
           " bytes (32 KiB), since each reaches every step as an environment variable. Pass "
           "large data as a path (s3://... or a file) or produce it as an artifact instead";
  }
  if (type == "integer") {
    static const std::regex kInteger("[-+]?[0-9]+");
    if (!std::regex_match(text, kInteger)) {
      return quoted +
             " is not an integer value; write decimal digits with an optional sign, e.g. 42 or "
             "-7 (no spaces, exponent, fraction or 0x prefix)";
    }
    errno = 0;
    (void)std::strtoll(text.c_str(), nullptr, 10);
    if (errno == ERANGE) {
      return quoted +
             " is out of range: an integer parameter is between -9223372036854775808 and "
             "9223372036854775807 (64 bits); use type: string for larger numbers";
    }
    return "";
  }
  if (type == "number") {
    static const std::regex kNumber("[-+]?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][-+]?[0-9]+)?");
    if (!std::regex_match(text, kNumber)) {
      return quoted +
             " is not a number value; write a decimal number, e.g. 0.5, -3 or 1e-4 (no spaces, "
             "nan or inf)";
    }
    errno = 0;
    const double number = std::strtod(text.c_str(), nullptr);
    if (!std::isfinite(number)) {
      return quoted +
             " is out of range: a number parameter is a 64-bit floating-point number, at most "
             "about 1.8e308 in magnitude";
    }
    return "";
  }
  if (type == "boolean") {
    if (text == "true" || text == "false") return "";
    return quoted + " is not a boolean value; write true or false";
  }
  if (type == "json") {
    if (nlohmann::json::accept(text)) return "";
    return quoted + " is not a json value; write a JSON document, e.g. {\"a\": 1} or \"text\"";
  }
  return "";
}

ResolvedParameters resolve_parameters(const flow::FlowSpec& flow,
                                      const std::vector<std::string>& assignments) {
  ResolvedParameters result;
  std::vector<std::string> names;
  for (const auto& parameter : flow.parameters) names.push_back(parameter.name);
  struct Given {
    std::string value;
    std::size_t position;  // 1-based, among the --param options
  };
  std::map<std::string, Given> given;
  std::size_t position = 0;
  for (const auto& assignment : assignments) {
    ++position;
    const auto equals = assignment.find('=');
    if (equals == std::string::npos || equals == 0) {
      result.problems.push_back("--param " + shown(assignment) + ": write it as name=value");
      continue;
    }
    const std::string name = assignment.substr(0, equals);
    if (!flow.parameters.empty() &&
        std::none_of(flow.parameters.begin(), flow.parameters.end(),
                     [&](const auto& parameter) { return parameter.name == name; })) {
      std::string message =
          "--param " + shown(name) + ": the flow has no parameter '" + shown(name) + "'";
      const std::string suggestion = flow::closest_match(name, names);
      if (!suggestion.empty()) message += "; did you mean '" + suggestion + "'?";
      result.problems.push_back(message);
      continue;
    }
    if (flow.parameters.empty()) {
      result.problems.push_back("--param " + shown(name) + ": the flow declares no parameters");
      continue;
    }
    const std::string value = assignment.substr(equals + 1);
    const auto [earlier, inserted] = given.emplace(name, Given{value, position});
    if (!inserted) {
      // Keeping the last silently would run with a value the user may not have meant.
      result.problems.push_back(
          "--param " + name + " is given twice: " + name + "=" + shown(earlier->second.value) +
          " (the " + ordinal(earlier->second.position) + " --param) and " + name + "=" +
          shown(value) + " (the " + ordinal(position) + " --param); give it once");
    }
  }
  std::size_t total = 0;
  for (const auto& parameter : flow.parameters) {
    const auto found = given.find(parameter.name);
    auto value = found != given.end() ? std::optional<std::string>(found->second.value)
                                      : parameter.defaultValue;
    if (!value) {
      result.problems.push_back("parameter '" + parameter.name + "' is required: add --param " +
                                parameter.name + "=VALUE" +
                                (parameter.help.empty() ? "" : " (" + parameter.help + ")"));
      continue;
    }
    const std::string problem = parameter_value_problem(parameter.type, *value);
    if (!problem.empty()) {
      result.problems.push_back("--param " + parameter.name + "=" + shown(*value) + ": " +
                                (problem.starts_with("is ") ? "the value " : "") + problem);
      continue;
    }
    // Names count too: each is in the environment variable's name and in PODFLOW_TASK, and
    // declaring many parameters is as sure a way past the limit as one large value.
    total += parameter.name.size() + json_escaped_size(*value);
    result.values[parameter.name] = *value;
  }
  if (total > defaults::kMaxParameterTotalBytes) {
    result.problems.push_back(
        "the parameters' names and values add up to " + std::to_string(total) +
        " bytes (values JSON-escaped); together they may be at most " +
        std::to_string(defaults::kMaxParameterTotalBytes) +
        " bytes (64 KiB), since every step receives them all in its environment. Pass large data "
        "as a path (s3://... or a file) or produce it as an artifact instead");
  }
  return result;
}

}  // namespace podflow::flow
