// Small flows for unit tests, built from a compact "name -> next" description.
#pragma once

#include <string>
#include <vector>

#include "flow/lint.hpp"

namespace podflow::test {

struct StepLine {
  std::string name;
  std::vector<std::string> next;
  std::string extra;  // more YAML for the step, e.g. "foreach: items" or "join: true"
};

inline std::string flow_yaml(const std::vector<StepLine>& steps,
                             const std::string& spec_extra = "") {
  std::string text =
      "apiVersion: podflow.dev/v1alpha1\nkind: Flow\nmetadata:\n  name: test\nspec:\n" +
      spec_extra + "  steps:\n";
  for (const auto& step : steps) {
    text += "    - name: " + step.name + "\n      command: [echo]\n";
    if (!step.next.empty()) {
      text += "      next: [";
      for (std::size_t i = 0; i < step.next.size(); ++i) text += (i ? ", " : "") + step.next[i];
      text += "]\n";
    }
    if (!step.extra.empty()) text += "      " + step.extra + "\n";
  }
  return text;
}

// The valid flow, or a failed check listing the diagnostics.
inline flow::FlowSpec valid_flow(const std::string& yaml) {
  auto result = flow::validate_flow(yaml);
  std::string problems;
  for (const auto& diagnostic : result.diagnostics) {
    problems += flow::format_diagnostic("test", diagnostic) + "\n";
  }
  INFO(problems);
  REQUIRE(result.flow.has_value());
  return *result.flow;
}

}  // namespace podflow::test
