// A Flow spec as the API server holds it (JSON) -> the validated FlowSpec the planner runs, or the
// linter's messages. The same decoder and linter as `podflow validate`, so a cluster and a laptop
// agree on what a valid flow is.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flow/flow_spec.hpp"

namespace podflow::reconcile {

struct DecodedFlow {
  std::optional<flow::FlowSpec> flow;  // present only when valid
  std::vector<std::string> problems;   // "step 'join': ..." one per problem
};

DecodedFlow decode_flow_spec(const std::string& name, const nlohmann::json& spec);

// The problems joined for a condition message (bounded: the first ones and how many more).
std::string join_problems(const std::vector<std::string>& problems);

}  // namespace podflow::reconcile
