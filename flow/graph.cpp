#include "flow/graph.hpp"

#include <algorithm>
#include <map>

namespace podflow::flow {
namespace {

std::string join_names(const std::vector<GraphNode>& nodes, const std::vector<StepIndex>& indices,
                       const std::string& separator = ", ") {
  std::string text;
  for (std::size_t i = 0; i < indices.size(); ++i) {
    if (i) text += separator;
    text += nodes[indices[i]].step->name;
  }
  return text;
}

}  // namespace

FlowGraph::FlowGraph(const FlowSpec& flow) {
  std::map<std::string, StepIndex> index_of;
  for (const auto& step : flow.steps) {
    if (index_of.count(step.name)) continue;  // duplicates are the linter's to report
    index_of[step.name] = nodes_.size();
    nodes_.push_back(GraphNode{&step, {}, {}, false, {}, std::nullopt});
  }
  for (auto& node : nodes_) {
    for (const auto& target : node.step->next) {
      auto found = index_of.find(target);
      if (found == index_of.end()) continue;
      if (std::find(node.next.begin(), node.next.end(), found->second) != node.next.end()) continue;
      node.next.push_back(found->second);
    }
  }
  for (StepIndex i = 0; i < nodes_.size(); ++i) {
    for (StepIndex target : nodes_[i].next) nodes_[target].previous.push_back(i);
  }
  if (auto first = start()) {
    std::vector<StepIndex> stack{*first};
    nodes_[*first].reachable = true;
    while (!stack.empty()) {
      const StepIndex current = stack.back();
      stack.pop_back();
      for (StepIndex target : nodes_[current].next) {
        if (!nodes_[target].reachable) {
          nodes_[target].reachable = true;
          stack.push_back(target);
        }
      }
    }
  }
}

std::optional<StepIndex> FlowGraph::find(const std::string& name) const {
  for (StepIndex i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].step->name == name) return i;
  }
  return std::nullopt;
}

std::vector<StepIndex> FlowGraph::find_cycle() const {
  // Iterative depth-first search with colours; the grey path is the cycle when a back edge shows.
  enum class Colour { White, Grey, Black };
  std::vector<Colour> colour(nodes_.size(), Colour::White);
  for (StepIndex root = 0; root < nodes_.size(); ++root) {
    if (colour[root] != Colour::White) continue;
    std::vector<std::pair<StepIndex, std::size_t>> path{{root, 0}};
    colour[root] = Colour::Grey;
    while (!path.empty()) {
      auto& [current, edge] = path.back();
      if (edge == nodes_[current].next.size()) {
        colour[current] = Colour::Black;
        path.pop_back();
        continue;
      }
      const StepIndex target = nodes_[current].next[edge++];
      if (colour[target] == Colour::Grey) {
        std::vector<StepIndex> cycle;
        auto from = std::find_if(path.begin(), path.end(),
                                 [&](const auto& entry) { return entry.first == target; });
        for (; from != path.end(); ++from) cycle.push_back(from->first);
        cycle.push_back(target);
        return cycle;
      }
      if (colour[target] == Colour::White) {
        colour[target] = Colour::Grey;
        path.emplace_back(target, 0);
      }
    }
  }
  return {};
}

std::vector<StepIndex> FlowGraph::topological_order() const {
  std::vector<std::size_t> waiting(nodes_.size(), 0);
  for (const auto& node : nodes_) {
    if (!node.reachable) continue;
    for (StepIndex target : node.next) ++waiting[target];
  }
  std::vector<StepIndex> order;
  std::vector<StepIndex> ready;
  if (auto first = start()) ready.push_back(*first);
  while (!ready.empty()) {
    const StepIndex current = ready.back();
    ready.pop_back();
    order.push_back(current);
    for (StepIndex target : nodes_[current].next) {
      if (--waiting[target] == 0) ready.push_back(target);
    }
  }
  return order;
}

std::vector<FlowGraph::BalanceProblem> FlowGraph::analyse_splits() {
  // Every step is visited once, in topological order, so a flow of many diamonds costs linear
  // time (walking every path, as Metaflow's linter does, is exponential in the diamonds).
  std::vector<BalanceProblem> problems;
  std::vector<std::vector<StepIndex>> open(nodes_.size());
  std::vector<std::optional<StepIndex>> joins(nodes_.size());
  std::vector<bool> sound(nodes_.size(), true);
  // The splits open on the edges leaving a step.
  const auto leaving = [&](StepIndex index) {
    std::vector<StepIndex> splits = open[index];
    if (nodes_[index].opens_split()) splits.push_back(index);
    return splits;
  };

  for (StepIndex current : topological_order()) {
    GraphNode& node = nodes_[current];
    std::vector<StepIndex> incoming;
    for (StepIndex parent : node.previous) {
      if (nodes_[parent].reachable) incoming.push_back(parent);
    }
    if (incoming.empty()) continue;  // start
    if (std::any_of(incoming.begin(), incoming.end(), [&](StepIndex p) { return !sound[p]; })) {
      sound[current] = false;  // already reported upstream
      continue;
    }
    const std::vector<StepIndex> context = leaving(incoming.front());
    const bool same_context = std::all_of(incoming.begin(), incoming.end(),
                                          [&](StepIndex p) { return leaving(p) == context; });
    if (!node.is_join()) {
      if (incoming.size() > 1) {
        problems.push_back({current, "the step has " + std::to_string(incoming.size()) +
                                         " incoming steps (" + join_names(nodes_, incoming) +
                                         ") but is not a join; add join: true to it, or give it "
                                         "one incoming step"});
        sound[current] = false;
        continue;
      }
      open[current] = context;
      if (node.step->name == "end" && !context.empty()) {
        problems.push_back({current, "end is reached before the split at step '" +
                                         nodes_[context.back()].step->name +
                                         "' is joined; add a join step (join: true) before end"});
        sound[current] = false;
      }
      continue;
    }
    // A join.
    if (!same_context) {
      // Group the incoming steps by the split they are inside: "c, d are inside the split at 'a'".
      std::vector<std::pair<std::string, std::vector<StepIndex>>> groups;
      for (StepIndex parent : incoming) {
        const auto splits = leaving(parent);
        const std::string where =
            splits.empty() ? std::string("outside any split")
                           : "inside the split at '" + nodes_[splits.back()].step->name + "'";
        auto group = std::find_if(groups.begin(), groups.end(),
                                  [&](const auto& entry) { return entry.first == where; });
        if (group == groups.end())
          groups.push_back({where, {parent}});
        else
          group->second.push_back(parent);
      }
      std::string detail;
      for (const auto& [where, members] : groups) {
        detail += (detail.empty() ? "" : "; ") + join_names(nodes_, members) +
                  (members.size() == 1 ? " is " : " are ") + where;
      }
      problems.push_back({current, "the join joins steps from unrelated splits (" + detail +
                                       "); join each split separately, innermost first"});
      sound[current] = false;
      continue;
    }
    if (context.empty()) {
      problems.push_back({current,
                          "the step is a join (join: true) but no split comes before it; "
                          "remove join: true or add a split (several next steps, or a "
                          "foreach) before it"});
      sound[current] = false;
      continue;
    }
    const StepIndex split = context.back();
    const GraphNode& split_node = nodes_[split];
    const std::size_t expected = split_node.is_foreach() ? 1 : split_node.next.size();
    if (incoming.size() != expected) {
      problems.push_back(
          {current, "the join has " + std::to_string(incoming.size()) + " incoming step" +
                        (incoming.size() == 1 ? "" : "s") + " (" + join_names(nodes_, incoming) +
                        ") but the split at '" + split_node.step->name + "' it closes has " +
                        std::to_string(expected) + " branch" + (expected == 1 ? "" : "es") + " (" +
                        join_names(nodes_, split_node.next) +
                        "); every branch of a split must lead to its join"});
      sound[current] = false;
      continue;
    }
    if (split_node.is_foreach() && incoming.front() == split) {
      problems.push_back({current, "the foreach at '" + split_node.step->name +
                                       "' is followed directly by this join; add at least one "
                                       "step between them to do the work of each split"});
      sound[current] = false;
      continue;
    }
    open[current].assign(context.begin(), context.end() - 1);
    joins[current] = split;
    if (node.step->name == "end" && !open[current].empty()) {
      problems.push_back({current, "end is reached before the split at step '" +
                                       nodes_[open[current].back()].step->name +
                                       "' is joined; add a join step (join: true) before end"});
      sound[current] = false;
    }
  }
  if (problems.empty()) {
    for (StepIndex i = 0; i < nodes_.size(); ++i) {
      nodes_[i].open_splits = open[i];
      nodes_[i].joins = joins[i];
    }
  }
  return problems;
}

}  // namespace podflow::flow
