// The linter: Metaflow's graph rules and podflow's own, as a table of small checks, each
// message naming the step and saying how to fix it.
#pragma once

#include <string_view>

#include "flow/diagnostic.hpp"
#include "flow/flow_spec.hpp"

namespace podflow::flow {

// Problems with a decoded flow's steps and graph. Empty means the flow is valid.
Diagnostics lint_flow(const FlowSpec& flow);

struct ValidationResult {
  std::optional<FlowSpec> flow;  // present only when the document is valid
  Diagnostics diagnostics;       // sorted by position in the document
};

// Decode and lint in one call: what `podflow validate` and `podflow run` use.
ValidationResult validate_flow(std::string_view text);

}  // namespace podflow::flow
