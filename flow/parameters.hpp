// The values of a flow's parameters for one run: `--param name=value` checked against the flow's
// declarations (unknown names, names given twice, missing required ones, values of the wrong type
// or out of range, values too large to reach a step).
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "flow/flow_spec.hpp"

namespace podflow::flow {

struct ResolvedParameters {
  std::map<std::string, std::string> values;  // every declared parameter, by name
  std::vector<std::string> problems;          // one message each; empty when usable
};

// `assignments` are "name=value" strings as typed after --param. Used by `podflow run` and by
// the operator for a FlowRun, so both refuse the same values.
ResolvedParameters resolve_parameters(const flow::FlowSpec& flow,
                                      const std::vector<std::string>& assignments);

// Why `value` is not a valid value of a parameter of `type`, or "" when it is: "'1e3' is not an
// integer value; ..." or, for a value too large, "is 40000 bytes ..." (the caller names it). Checks
// the type's grammar and range, NUL bytes and the per-value size limit
// (defaults::kMaxParameterValueBytes).
std::string parameter_value_problem(std::string_view type, std::string_view value);

// The size of `value` as the text of a JSON string (without the quotes), as it travels in the
// task spec: control characters, '"' and '\' take more than one byte.
std::size_t json_escaped_size(std::string_view value);

}  // namespace podflow::flow
