#include "operator/reconcile/flow_document.hpp"

#include "flow/lint.hpp"

namespace podflow::reconcile {

DecodedFlow decode_flow_spec(const std::string& name, const nlohmann::json& spec) {
  // The decoder reads documents; JSON is YAML, so the object goes through it unchanged.
  const nlohmann::json document = {{"apiVersion", "podflow.dev/v1alpha1"},
                                   {"kind", "Flow"},
                                   {"metadata", {{"name", name}}},
                                   {"spec", spec}};
  flow::ValidationResult result = flow::validate_flow(document.dump());
  DecodedFlow decoded;
  decoded.flow = std::move(result.flow);
  for (const auto& diagnostic : result.diagnostics) {
    // Positions would point into the server's JSON, not the user's file: leave them out.
    std::string message = diagnostic.step.empty() ? "" : "step '" + diagnostic.step + "': ";
    decoded.problems.push_back(message + diagnostic.message);
  }
  if (!decoded.flow && decoded.problems.empty()) decoded.problems.push_back("the flow is invalid");
  return decoded;
}

std::string join_problems(const std::vector<std::string>& problems) {
  constexpr std::size_t kShown = 20;
  std::string text;
  for (std::size_t i = 0; i < problems.size() && i < kShown; ++i) {
    if (!text.empty()) text += "\n";
    text += problems[i];
  }
  if (problems.size() > kShown) {
    text += "\n... and " + std::to_string(problems.size() - kShown) +
            " more; run `podflow validate` on the file";
  }
  return text;
}

}  // namespace podflow::reconcile
