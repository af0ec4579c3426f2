#include "flow/graph_render.hpp"

#include <algorithm>
#include <sstream>

#include "flow/graph.hpp"

namespace podflow::flow {
namespace {

std::string kind_of(const GraphNode& node) {
  std::string kind;
  if (node.is_join()) kind = "join";
  if (node.is_foreach())
    kind += std::string(kind.empty() ? "" : ", ") + "foreach " + *node.step->foreach;
  else if (node.is_static_split())
    kind += std::string(kind.empty() ? "" : ", ") + "split";
  return kind;
}

std::string quoted(const std::string& text) {
  std::string result = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') result += '\\';
    result += c;
  }
  return result + "\"";
}

// Reachable steps in topological order, then any others in document order.
std::vector<StepIndex> display_order(const FlowGraph& graph) {
  std::vector<StepIndex> order =
      graph.find_cycle().empty() ? graph.topological_order() : std::vector<StepIndex>{};
  for (StepIndex i = 0; i < graph.nodes().size(); ++i) {
    if (std::find(order.begin(), order.end(), i) == order.end()) order.push_back(i);
  }
  return order;
}

}  // namespace

std::string render_text(const FlowSpec& flow) {
  FlowGraph graph(flow);
  std::size_t width = 0;
  for (const auto& node : graph.nodes()) width = std::max(width, node.step->name.size());
  std::ostringstream out;
  out << "Flow " << flow.name << " (" << flow.steps.size() << " steps)\n";
  for (const auto& parameter : flow.parameters) {
    out << "  parameter " << parameter.name << " = "
        << parameter.defaultValue.value_or("(required)") << "\n";
  }
  for (StepIndex index : display_order(graph)) {
    const GraphNode& node = graph.node(index);
    const EffectiveSettings settings = effective_settings(flow, *node.step);
    std::string name = node.step->name;
    name.resize(width, ' ');
    out << "  " << name << "  cpu " << settings.cpu.text << ", memory " << settings.memory.text;
    if (settings.gpu > 0) out << ", gpu " << settings.gpu;
    out << "  -> ";
    if (node.step->next.empty()) out << "(done)";
    for (std::size_t i = 0; i < node.step->next.size(); ++i) {
      out << (i ? ", " : "") << node.step->next[i];
    }
    const std::string kind = kind_of(node);
    if (!kind.empty()) out << "  (" << kind << ")";
    out << "\n";
  }
  return out.str();
}

std::string render_dot(const FlowSpec& flow) {
  FlowGraph graph(flow);
  std::ostringstream out;
  out << "digraph " << quoted(flow.name) << " {\n  rankdir=TB;\n  node [shape=box];\n";
  for (StepIndex index : display_order(graph)) {
    const GraphNode& node = graph.node(index);
    const std::string kind = kind_of(node);
    out << "  " << quoted(node.step->name)
        << " [label=" << quoted(node.step->name + (kind.empty() ? "" : "\\n(" + kind + ")"))
        << "];\n";
  }
  for (const auto& node : graph.nodes()) {
    for (StepIndex target : node.next) {
      out << "  " << quoted(node.step->name) << " -> " << quoted(graph.node(target).step->name);
      if (node.is_foreach())
        out << " [style=dashed, label=" << quoted("foreach " + *node.step->foreach) << "]";
      out << ";\n";
    }
  }
  out << "}\n";
  return out.str();
}

}  // namespace podflow::flow
