// The step graph of a flow: edges, the kind of each step, and which splits are open where. Built
// from a FlowSpec; the linter checks it and the planner walks it.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "flow/flow_spec.hpp"

namespace podflow::flow {

using StepIndex = std::size_t;

struct GraphNode {
  const Step* step = nullptr;
  std::vector<StepIndex> next;      // known targets only, in the order written
  std::vector<StepIndex> previous;  // steps whose next names this one
  bool reachable = false;           // from start
  // Splits (static or foreach) open when this step runs, outermost first. A join has already
  // closed the split it joins. Set by FlowGraph::analyse_splits for a well-formed graph.
  std::vector<StepIndex> open_splits;
  std::optional<StepIndex> joins;  // for a join: the split it closes

  bool is_foreach() const { return step->foreach.has_value(); }
  bool is_join() const { return step->join; }
  // A static split: several next steps that all run once each.
  bool is_static_split() const { return !is_foreach() && next.size() > 1; }
  bool opens_split() const { return is_foreach() || is_static_split(); }
};

class FlowGraph {
 public:
  // Tolerates broken flows (unknown targets, duplicates): the linter reports those.
  explicit FlowGraph(const FlowSpec& flow);

  const std::vector<GraphNode>& nodes() const { return nodes_; }
  const GraphNode& node(StepIndex index) const { return nodes_[index]; }
  std::optional<StepIndex> find(const std::string& name) const;
  std::optional<StepIndex> start() const { return find("start"); }
  std::optional<StepIndex> end() const { return find("end"); }

  // A cycle among reachable steps as "a -> b -> a", or empty when there is none.
  std::vector<StepIndex> find_cycle() const;
  // Reachable steps with every step after all of its predecessors; requires no cycle.
  std::vector<StepIndex> topological_order() const;

  // Fills open_splits and joins when the split/join structure is sound; otherwise returns the
  // problems (the linter's balance rule) and leaves the graph unannotated.
  struct BalanceProblem {
    StepIndex step;
    std::string message;
  };
  std::vector<BalanceProblem> analyse_splits();

 private:
  std::vector<GraphNode> nodes_;
};

}  // namespace podflow::flow
