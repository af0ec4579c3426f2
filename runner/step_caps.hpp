// A step's `parallelism`: at most that many of its tasks run at once, beside the run's
// max-workers. The local run's loop asks this which ready task may start; a task whose step is at
// its cap waits without holding back the ready tasks of other steps behind it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "flow/flow_spec.hpp"
#include "flow/graph.hpp"

namespace podflow::runner {

class StepCaps {
 public:
  // By graph node: the step's effective `parallelism` (nullopt: no cap but max-workers).
  explicit StepCaps(std::vector<std::optional<std::int64_t>> parallelism);
  // Each step's flow::effective_settings(flow, step, overrides).parallelism, by graph node.
  StepCaps(const flow::FlowSpec& flow, const flow::FlowGraph& graph,
           const flow::StepSettings& overrides);

  // The step has fewer running tasks than its parallelism (always, without one).
  bool can_start(std::size_t step) const;
  void started(std::size_t step);
  void finished(std::size_t step);
  std::size_t running(std::size_t step) const;

 private:
  std::vector<std::optional<std::int64_t>> parallelism_;
  std::vector<std::size_t> running_;
};

// The first task of [begin, end) (ready tasks in queue order) that may start now: `due(task)`,
// and its step, `step_of(task)`, below its cap. Tasks held back by their step's cap are skipped,
// so they never block the tasks of other steps behind them. `end` when none may start.
template <typename Iterator, typename StepOf, typename Due>
Iterator first_startable(Iterator begin, Iterator end, const StepCaps& caps, StepOf step_of,
                         Due due) {
  for (Iterator task = begin; task != end; ++task) {
    if (due(*task) && caps.can_start(step_of(*task))) return task;
  }
  return end;
}

}  // namespace podflow::runner
