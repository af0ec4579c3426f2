// Pictures of a flow's graph for `podflow show`: indented text and Graphviz DOT.
#pragma once

#include <string>

#include "flow/flow_spec.hpp"

namespace podflow::flow {

// One line per step in topological order, with its kind, resources and where it goes:
//   start            cpu 1, memory 4096M   -> a, b (split)
std::string render_text(const FlowSpec& flow);

// A `digraph` for `dot -Tpng`; foreach edges are dashed and labelled with the artifact.
std::string render_dot(const FlowSpec& flow);

}  // namespace podflow::flow
