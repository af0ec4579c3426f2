#include "flow/lint.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "flow/defaults.hpp"
#include "flow/flow_decoder.hpp"
#include "flow/graph.hpp"
#include "flow/names.hpp"
#include "flow/suggestion.hpp"

namespace podflow::flow {
namespace {

// Metaflow's reserved step names (attributes of every flow); keeping them out keeps a flow's steps
// nameable in both systems.
const std::set<std::string> kReservedStepNames{"name", "next", "input", "index", "cmd"};
constexpr std::size_t kMaxStepNameLength = 40;

struct LintContext {
  const FlowSpec& flow;
  FlowGraph& graph;
  Diagnostics& out;

  void report(const Step& step, SourceMark mark, std::string message) const {
    out.push_back(Diagnostic{mark.line ? mark : step.mark, step.name, std::move(message)});
  }
  void report(const Step& step, std::string message) const {
    report(step, step.mark, std::move(message));
  }
};

bool check_step_names(const LintContext& context) {
  for (const auto& step : context.flow.steps) {
    if (step.name.empty()) continue;  // the decoder reported the missing name
    if (!is_identifier(step.name)) {
      context.report(step,
                     "the step name must be lowercase letters, digits and underscores, "
                     "starting with a letter (e.g. train_model)");
    } else if (kReservedStepNames.count(step.name)) {
      context.report(step, "'" + step.name +
                               "' is a reserved word and cannot name a step; "
                               "rename the step");
    } else if (step.name.back() == '_') {
      // A task's pod is `<flowrun>.<step>.<split path>` with '_' written '-' (docs/api.md), and
      // Kubernetes refuses a part of a name that ends with '-'.
      context.report(step,
                     "the step name ends with '_', which its pods' names cannot (they are "
                     "<flowrun>.<step> with '_' written '-', and Kubernetes refuses a name "
                     "or a part between dots that ends with '-'); remove the trailing '_' (e.g. " +
                         step.name.substr(0, step.name.find_last_not_of('_') + 1) + ")");
    } else if (step.name.size() > kMaxStepNameLength) {
      context.report(step, "the step name is " + std::to_string(step.name.size()) +
                               " characters; at most " + std::to_string(kMaxStepNameLength) +
                               " fit in the names of its tasks and pods. Shorten it");
    }
  }
  return true;
}

// The decoder checks each annotations map alone; a step's pods get spec.defaults' and its own
// together. A step without annotations of its own has the defaults', which the decoder checked.
bool check_annotation_size(const LintContext& context) {
  for (const auto& step : context.flow.steps) {
    if (step.settings.annotations.empty() || context.flow.defaults.annotations.empty()) continue;
    std::size_t bytes = 0;
    for (const auto& [key, value] : effective_settings(context.flow, step).annotations) {
      bytes += key.size() + value.size();
    }
    if (bytes > defaults::kMaxAnnotationBytes) {
      context.report(step, "the step's annotations and spec.defaults.annotations together hold " +
                               describe_bytes(static_cast<double>(bytes)) +
                               "; Kubernetes allows at most 256 KiB of annotations on a pod. "
                               "Keep data out of annotations: pass it as a parameter or an "
                               "artifact");
    }
  }
  return true;
}

bool check_duplicate_steps(const LintContext& context) {
  std::set<std::string> seen;
  bool ok = true;
  for (const auto& step : context.flow.steps) {
    if (step.name.empty()) continue;
    if (!seen.insert(step.name).second) {
      context.report(step, "there is already a step named '" + step.name + "'; rename one of them");
      ok = false;
    }
  }
  return ok;
}

bool check_start_and_end(const LintContext& context) {
  bool ok = true;
  if (!context.graph.start()) {
    context.out.push_back({{},
                           "",
                           "the flow has no step named 'start'; every flow begins with a "
                           "start step"});
    ok = false;
  }
  if (!context.graph.end()) {
    context.out.push_back({{},
                           "",
                           "the flow has no step named 'end'; every flow finishes with an "
                           "end step"});
    ok = false;
  }
  return ok;
}

bool check_end_is_end(const LintContext& context) {
  const Step* end = context.flow.find_step("end");
  if (!end) return true;
  bool ok = true;
  if (!end->next.empty()) {
    context.report(*end, end->nextMark, "the end step must not have next; remove it");
    ok = false;
  }
  if (end->foreach) {
    context.report(*end, end->foreachMark, "the end step cannot be a foreach; remove foreach");
    ok = false;
  }
  if (end->join) {
    context.report(*end,
                   "the end step cannot be a join; add a join step before end and point "
                   "it at end");
    ok = false;
  }
  return ok;
}

bool check_start_is_start(const LintContext& context) {
  const Step* start = context.flow.find_step("start");
  if (!start) return true;
  if (start->join) {
    context.report(*start,
                   "the start step cannot be a join: nothing comes before it; remove "
                   "join: true");
    return false;
  }
  return true;
}

bool check_transitions(const LintContext& context) {
  std::vector<std::string> names;
  for (const auto& step : context.flow.steps) names.push_back(step.name);
  bool ok = true;
  for (const auto& step : context.flow.steps) {
    if (step.name == "end") continue;
    if (step.next.empty()) {
      if (step.nextMark.line != 0) {  // next is there but malformed: the decoder said so
        ok = false;
        continue;
      }
      context.report(step, step.nextMark,
                     "the step has no next; add next: [<step>] (only the end step has none)");
      ok = false;
      continue;
    }
    std::set<std::string> seen;
    for (const auto& target : step.next) {
      if (!seen.insert(target).second) {
        context.report(step, step.nextMark, "next names '" + target + "' twice; keep one");
        ok = false;
      } else if (!context.flow.find_step(target)) {
        std::string message = "next names '" + target + "', which is not a step";
        const std::string suggestion = closest_match(target, names);
        if (!suggestion.empty())
          message += "; did you mean '" + suggestion + "'?";
        else
          message += "; add a step named '" + target + "' or fix the name";
        context.report(step, step.nextMark, message);
        ok = false;
      } else if (target == "start") {
        context.report(step, step.nextMark,
                       "next names start; the start step begins the flow and cannot be a target");
        ok = false;
      }
    }
  }
  return ok;
}

bool check_foreach_has_one_next(const LintContext& context) {
  bool ok = true;
  for (const auto& step : context.flow.steps) {
    if (step.foreach && step.next.size() != 1 && step.name != "end") {
      context.report(step, step.foreachMark,
                     "a foreach step must have exactly one next step (the step that runs once per "
                     "item), but it has " +
                         std::to_string(step.next.size()));
      ok = false;
    }
  }
  return ok;
}

bool check_acyclic(const LintContext& context) {
  const auto cycle = context.graph.find_cycle();
  if (cycle.empty()) return true;
  std::string loop;
  for (std::size_t i = 0; i < cycle.size(); ++i) {
    loop += (i ? " -> " : "") + context.graph.node(cycle[i]).step->name;
  }
  const Step& first = *context.graph.node(cycle.front()).step;
  context.report(first, first.nextMark,
                 "the steps form a loop: " + loop +
                     "; a flow is a graph without cycles. Break the "
                     "loop (use foreach to repeat work)");
  return false;
}

bool check_reachable(const LintContext& context) {
  for (const auto& node : context.graph.nodes()) {
    if (!node.reachable) {
      context.report(*node.step,
                     "the step is unreachable from the start step; add it to another "
                     "step's next, or remove it");
    }
  }
  return true;  // the balance rule looks at reachable steps only
}

bool check_split_join_balance(const LintContext& context) {
  const auto problems = context.graph.analyse_splits();
  for (const auto& problem : problems) {
    context.report(*context.graph.node(problem.step).step, problem.message);
  }
  return problems.empty();
}

struct Rule {
  // Returns false when the graph is too broken for the rules that need a sound one.
  bool (*check)(const LintContext&);
  // Loops and split/join balance mean nothing on a graph with broken edges; reporting them
  // would bury the real problem.
  bool needs_sound_graph;
};

const Rule kRules[] = {
    {check_step_names, false},
    {check_duplicate_steps, false},
    {check_annotation_size, false},
    {check_start_and_end, false},
    {check_end_is_end, false},
    {check_start_is_start, false},
    {check_transitions, false},
    {check_foreach_has_one_next, false},
    {check_acyclic, true},
    {check_reachable, true},
    {check_split_join_balance, true},
};

}  // namespace

Diagnostics lint_flow(const FlowSpec& flow) {
  Diagnostics diagnostics;
  FlowGraph graph(flow);
  const LintContext context{flow, graph, diagnostics};
  bool sound = true;
  for (const auto& rule : kRules) {
    if (rule.needs_sound_graph && !sound) continue;
    if (!rule.check(context)) sound = false;
  }
  return diagnostics;
}

ValidationResult validate_flow(std::string_view text) {
  ValidationResult result;
  DecodeResult decoded = decode_flow(text);
  result.diagnostics = std::move(decoded.diagnostics);
  // A document whose steps could not be read at all would only add "no start step" noise.
  const bool lintable =
      decoded.flow && (result.diagnostics.empty() || !decoded.flow->steps.empty());
  if (lintable) {
    Diagnostics lint = lint_flow(*decoded.flow);
    result.diagnostics.insert(result.diagnostics.end(), lint.begin(), lint.end());
  }
  std::stable_sort(result.diagnostics.begin(), result.diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::tie(a.mark.line, a.mark.column) <
                            std::tie(b.mark.line, b.mark.column);
                   });
  if (result.diagnostics.empty()) result.flow = std::move(decoded.flow);
  return result;
}

}  // namespace podflow::flow
