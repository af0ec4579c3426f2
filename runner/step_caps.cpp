#include "runner/step_caps.hpp"

#include <utility>

namespace podflow::runner {

StepCaps::StepCaps(std::vector<std::optional<std::int64_t>> parallelism)
    : parallelism_(std::move(parallelism)), running_(parallelism_.size(), 0) {}

StepCaps::StepCaps(const flow::FlowSpec& flow, const flow::FlowGraph& graph,
                   const flow::StepSettings& overrides) {
  for (const auto& node : graph.nodes()) {
    parallelism_.push_back(flow::effective_settings(flow, *node.step, overrides).parallelism);
  }
  running_.assign(parallelism_.size(), 0);
}

bool StepCaps::can_start(std::size_t step) const {
  if (step >= parallelism_.size() || !parallelism_[step]) return true;
  return static_cast<std::int64_t>(running_[step]) < *parallelism_[step];
}

void StepCaps::started(std::size_t step) {
  if (step < running_.size()) ++running_[step];
}

void StepCaps::finished(std::size_t step) {
  if (step < running_.size() && running_[step] > 0) --running_[step];
}

std::size_t StepCaps::running(std::size_t step) const {
  return step < running_.size() ? running_[step] : 0;
}

}  // namespace podflow::runner
