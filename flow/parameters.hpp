// The values of a flow's parameters for one run: `--param name=value` checked against the flow's
// declarations (unknown names, missing required ones, values of the wrong type).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "flow/flow_spec.hpp"

namespace podflow::flow {

struct ResolvedParameters {
  std::map<std::string, std::string> values;  // every declared parameter, by name
  std::vector<std::string> problems;          // one message each; empty when usable
};

// `assignments` are "name=value" strings as typed after --param.
ResolvedParameters resolve_parameters(const flow::FlowSpec& flow,
                                      const std::vector<std::string>& assignments);

}  // namespace podflow::flow
