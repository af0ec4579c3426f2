#include <doctest/doctest.h>

#include <deque>

#include "flow/graph.hpp"
#include "runner/step_caps.hpp"
#include "test_flows.hpp"

using podflow::runner::first_startable;
using podflow::runner::StepCaps;

namespace {

struct Ready {
  std::size_t step;
  bool due = true;
};

const auto kStepOf = [](const Ready& task) { return task.step; };
const auto kDue = [](const Ready& task) { return task.due; };

// What the run's loop does with a queue: start tasks in order while workers are free.
std::vector<std::size_t> start_all(std::deque<Ready>& queue, StepCaps& caps, std::size_t workers) {
  std::vector<std::size_t> started;
  auto entry = queue.begin();
  while (started.size() < workers) {
    entry = first_startable(entry, queue.end(), caps, kStepOf, kDue);
    if (entry == queue.end()) break;
    caps.started(entry->step);
    started.push_back(entry->step);
    entry = queue.erase(entry);
  }
  return started;
}

}  // namespace

TEST_CASE("step caps: a step at its parallelism waits, a step without one never does") {
  StepCaps caps({2, std::nullopt});
  CHECK(caps.can_start(0));
  caps.started(0);
  caps.started(0);
  CHECK_FALSE(caps.can_start(0));
  CHECK(caps.running(0) == 2);
  for (int i = 0; i < 100; ++i) caps.started(1);
  CHECK(caps.can_start(1));
  caps.finished(0);
  CHECK(caps.can_start(0));
  caps.finished(0);
  caps.finished(0);  // never below zero
  CHECK(caps.running(0) == 0);
}

TEST_CASE("step caps: a capped task at the head of the queue does not block other steps") {
  // Steps: 0 = a foreach body with parallelism 2, 1 = a branch without a cap.
  StepCaps caps({2, std::nullopt});
  std::deque<Ready> queue{{0}, {0}, {0}, {0}, {1}, {0}, {1}};
  const auto started = start_all(queue, caps, 8);
  CHECK(started == std::vector<std::size_t>{0, 0, 1, 1});
  REQUIRE(queue.size() == 3);
  for (const auto& task : queue) CHECK(task.step == 0);
  // One finishes: exactly one more of step 0 starts, the first in the queue.
  caps.finished(0);
  CHECK(start_all(queue, caps, 8) == std::vector<std::size_t>{0});
  CHECK(queue.size() == 2);
}

TEST_CASE("step caps: max-workers still limits, and tasks not yet due are skipped") {
  StepCaps caps({std::nullopt, 1});
  std::deque<Ready> queue{{0, false}, {1}, {1}, {0}, {0}};
  CHECK(start_all(queue, caps, 2) == std::vector<std::size_t>{1, 0});
  REQUIRE(queue.size() == 3);
  CHECK_FALSE(queue[0].due);
  CHECK(queue[1].step == 1);
}

TEST_CASE("step caps: read from the flow's effective settings, by graph node") {
  const auto flow = podflow::test::valid_flow(
      podflow::test::flow_yaml({{"start", {"end"}, "parallelism: 1"}, {"end", {}, ""}},
                               "  defaults:\n    parallelism: 3\n"));
  const podflow::flow::FlowGraph graph(flow);
  StepCaps caps(flow, graph, {});
  std::size_t start = 0;
  std::size_t end = 0;
  for (std::size_t i = 0; i < graph.nodes().size(); ++i) {
    (graph.node(i).step->name == "start" ? start : end) = i;
  }
  caps.started(start);
  CHECK_FALSE(caps.can_start(start));
  for (int i = 0; i < 3; ++i) {
    CHECK(caps.can_start(end));
    caps.started(end);
  }
  CHECK_FALSE(caps.can_start(end));
}
