// The planner on every graph shape, driven by a pretend executor: no process runs.
#include <doctest/doctest.h>

#include <algorithm>
#include <deque>
#include <map>

#include "flow/planner.hpp"
#include "test_flows.hpp"

using podflow::flow::PlannedTask;
using podflow::flow::Planner;
using podflow::flow::RunPhase;
using podflow::flow::TaskOutcome;

namespace {

// Runs the flow to the end: every task succeeds at its first attempt unless `fail` says how many
// times it fails first; a foreach step reports `splits` splits.
struct Simulation {
  std::vector<std::string> order;            // task ids in the order they ran
  std::map<std::string, PlannedTask> tasks;  // last attempt of each task
  std::map<std::string, int> fail;           // task id -> failures before success
  std::int64_t splits = 3;
  RunPhase phase = RunPhase::Running;
  std::string failure;

  void run(Planner& planner, std::vector<PlannedTask> ready) {
    std::deque<PlannedTask> queue(ready.begin(), ready.end());
    while (!queue.empty()) {
      PlannedTask task = queue.front();
      queue.pop_front();
      order.push_back(task.id + "#" + std::to_string(task.attempt));
      tasks[task.id] = task;
      TaskOutcome outcome{task.id, task.attempt, true, std::nullopt, true, ""};
      if (fail[task.id] > 0) {
        --fail[task.id];
        outcome.succeeded = false;
        outcome.reason = "exit code 1";
      }
      if (planner.graph().node(task.step).is_foreach()) outcome.split_count = splits;
      for (auto& next : planner.record(outcome)) queue.push_back(next);
    }
    phase = planner.phase();
    failure = planner.failure();
  }

  bool ran(const std::string& id) const { return tasks.count(id) > 0; }
  std::size_t count_of(const std::string& step) const {
    return static_cast<std::size_t>(
        std::count_if(tasks.begin(), tasks.end(), [&](const auto& entry) {
          return entry.first == step || entry.first.rfind(step + ".", 0) == 0;
        }));
  }
};

podflow::flow::FlowSpec shape(const std::vector<podflow::test::StepLine>& steps,
                              const std::string& spec_extra = "") {
  return podflow::test::valid_flow(podflow::test::flow_yaml(steps, spec_extra));
}

}  // namespace

TEST_CASE("planner: a linear flow runs each step once, in order") {
  const auto flow =
      shape({{"start", {"a"}, ""}, {"a", {"b"}, ""}, {"b", {"end"}, ""}, {"end", {}, ""}});
  Planner planner(flow);
  Simulation simulation;
  simulation.run(planner, planner.start());
  CHECK(simulation.order == std::vector<std::string>{"start#0", "a#0", "b#0", "end#0"});
  CHECK(simulation.phase == RunPhase::Succeeded);
  REQUIRE(simulation.tasks["a"].parents.size() == 1);
  CHECK(simulation.tasks["a"].parents[0].task_ids() == std::vector<std::string>{"start"});
}

TEST_CASE("planner: a static branch joins only after both branches") {
  const auto flow = shape({{"start", {"a", "b"}, ""},
                           {"a", {"join"}, ""},
                           {"b", {"b2"}, ""},
                           {"b2", {"join"}, ""},
                           {"join", {"end"}, "join: true"},
                           {"end", {}, ""}});
  Planner planner(flow);
  Simulation simulation;
  simulation.run(planner, planner.start());
  CHECK(simulation.phase == RunPhase::Succeeded);
  const auto position = [&](const std::string& id) {
    return std::find(simulation.order.begin(), simulation.order.end(), id) -
           simulation.order.begin();
  };
  CHECK(position("join#0") > position("a#0"));
  CHECK(position("join#0") > position("b2#0"));
  CHECK(simulation.count_of("join") == 1);
  const auto& parents = simulation.tasks["join"].parents;
  REQUIRE(parents.size() == 2);
  CHECK(parents[0].task_ids() == std::vector<std::string>{"a"});
  CHECK(parents[1].task_ids() == std::vector<std::string>{"b2"});
}

TEST_CASE("planner: a foreach fans out with deterministic ids and joins once") {
  const auto flow = shape({{"start", {"each"}, "foreach: items"},
                           {"each", {"join"}, ""},
                           {"join", {"end"}, "join: true"},
                           {"end", {}, ""}});
  Planner planner(flow);
  Simulation simulation;
  simulation.splits = 1000;
  simulation.run(planner, planner.start());
  CHECK(simulation.phase == RunPhase::Succeeded);
  CHECK(simulation.count_of("each") == 1000);
  CHECK(simulation.ran("each.0"));
  CHECK(simulation.ran("each.999"));
  CHECK(simulation.tasks["each.17"].foreach_input->index == 17);
  CHECK(simulation.tasks["each.17"].foreach_input->task == "start");
  const auto& parents = simulation.tasks["join"].parents;
  REQUIRE(parents.size() == 1);
  CHECK(parents[0].splits == 1000);
  CHECK(parents[0].task_ids().size() == 1000);
  CHECK(parents[0].task_ids()[999] == "each.999");
}

TEST_CASE("planner: nested foreach joins each inner fan-out separately") {
  const auto flow = shape({{"start", {"outer"}, "foreach: xs"},
                           {"outer", {"inner"}, "foreach: ys"},
                           {"inner", {"join_inner"}, ""},
                           {"join_inner", {"join_outer"}, "join: true"},
                           {"join_outer", {"end"}, "join: true"},
                           {"end", {}, ""}});
  Planner planner(flow);
  Simulation simulation;
  simulation.run(planner, planner.start());
  CHECK(simulation.phase == RunPhase::Succeeded);
  CHECK(simulation.count_of("outer") == 3);
  CHECK(simulation.count_of("inner") == 9);
  CHECK(simulation.ran("inner.2.1"));
  CHECK(simulation.count_of("join_inner") == 3);
  CHECK(simulation.tasks["join_inner.1"].parents[0].task_ids() ==
        std::vector<std::string>{"inner.1.0", "inner.1.1", "inner.1.2"});
  CHECK(simulation.count_of("join_outer") == 1);
  CHECK(simulation.tasks["join_outer"].parents[0].task_ids() ==
        std::vector<std::string>{"join_inner.0", "join_inner.1", "join_inner.2"});
  CHECK(simulation.tasks["inner.2.1"].foreach_input->task == "outer.2");
}

TEST_CASE("planner: a branch inside a foreach and a foreach inside a branch") {
  SUBCASE("branch inside foreach") {
    const auto flow = shape({{"start", {"each"}, "foreach: items"},
                             {"each", {"a", "b"}, ""},
                             {"a", {"join_ab"}, ""},
                             {"b", {"join_ab"}, ""},
                             {"join_ab", {"join_each"}, "join: true"},
                             {"join_each", {"end"}, "join: true"},
                             {"end", {}, ""}});
    Planner planner(flow);
    Simulation simulation;
    simulation.run(planner, planner.start());
    CHECK(simulation.phase == RunPhase::Succeeded);
    CHECK(simulation.count_of("join_ab") == 3);
    CHECK(simulation.tasks["join_ab.2"].parents[0].task_ids() == std::vector<std::string>{"a.2"});
    CHECK(simulation.tasks["join_ab.2"].parents[1].task_ids() == std::vector<std::string>{"b.2"});
    CHECK(simulation.count_of("join_each") == 1);
  }
  SUBCASE("foreach inside branch") {
    const auto flow = shape({{"start", {"a", "b"}, ""},
                             {"a", {"each"}, "foreach: items"},
                             {"each", {"join_each"}, ""},
                             {"join_each", {"join"}, "join: true"},
                             {"b", {"join"}, ""},
                             {"join", {"end"}, "join: true"},
                             {"end", {}, ""}});
    Planner planner(flow);
    Simulation simulation;
    simulation.run(planner, planner.start());
    CHECK(simulation.phase == RunPhase::Succeeded);
    CHECK(simulation.count_of("each") == 3);
    CHECK(simulation.count_of("join") == 1);
    CHECK(simulation.tasks["join"].parents[0].task_ids() == std::vector<std::string>{"join_each"});
  }
}

TEST_CASE("planner: retries make new attempts, then the run fails with the reason") {
  const auto flow = shape({{"start", {"a"}, ""},
                           {"a", {"end"}, "retry: {times: 2, delaySeconds: 7}"},
                           {"end", {}, ""}});
  SUBCASE("succeeds on the third attempt") {
    Planner planner(flow);
    Simulation simulation;
    simulation.fail["a"] = 2;
    simulation.run(planner, planner.start());
    CHECK(simulation.order == std::vector<std::string>{"start#0", "a#0", "a#1", "a#2", "end#0"});
    CHECK(simulation.tasks["a"].delay_seconds == 7);
    CHECK(simulation.phase == RunPhase::Succeeded);
    CHECK(simulation.tasks["end"].parents[0].attempts.at("a") == 2);
  }
  SUBCASE("fails for good after the last retry") {
    Planner planner(flow);
    Simulation simulation;
    simulation.fail["a"] = 3;
    simulation.run(planner, planner.start());
    CHECK(simulation.phase == RunPhase::Failed);
    CHECK(simulation.failure == "task a (step 'a') failed after 3 attempts: exit code 1");
    CHECK_FALSE(simulation.ran("end"));
  }
  SUBCASE("a failure no retry can fix is final at once") {
    Planner planner(flow);
    planner.start();
    planner.record({"start", 0, true, std::nullopt, true, ""});
    CHECK(planner.record({"a", 0, false, std::nullopt, false, "bad foreach"}).empty());
    CHECK(planner.phase() == RunPhase::Failed);
  }
}

TEST_CASE("planner: an executor that retries by itself reports only final attempts") {
  const auto flow = shape({{"start", {"a"}, ""},
                           {"a", {"end"}, "retry: {times: 2, delaySeconds: 7}"},
                           {"end", {}, ""}});
  SUBCASE("a success at attempt 2 releases the children with that attempt") {
    Planner planner(flow);
    planner.start();
    planner.record({"start", 0, true, std::nullopt, true, "", true});
    TaskOutcome a{"a", 2, true, std::nullopt, true, "", true};
    const auto next = planner.record(a);
    REQUIRE(next.size() == 1);
    CHECK(next[0].id == "end");
    CHECK(next[0].parents[0].attempts.at("a") == 2);
  }
  SUBCASE("a failure is final even with retries left and a retryable reason") {
    Planner planner(flow);
    planner.start();
    planner.record({"start", 0, true, std::nullopt, true, "", true});
    CHECK(planner.record({"a", 0, false, std::nullopt, true, "OOMKilled", true}).empty());
    CHECK(planner.phase() == RunPhase::Failed);
    CHECK(planner.failure() == "task a (step 'a') failed: OOMKilled");
  }
}

TEST_CASE("planner: repeated and stale reports change nothing") {
  const auto flow =
      shape({{"start", {"a"}, ""}, {"a", {"end"}, "retry: {times: 1}"}, {"end", {}, ""}});
  Planner planner(flow);
  planner.start();
  CHECK(planner.record({"start", 0, true, std::nullopt, true, ""}).size() == 1);
  CHECK(planner.record({"start", 0, true, std::nullopt, true, ""}).empty());
  CHECK(planner.record({"a", 0, false, std::nullopt, true, "x"}).size() == 1);
  CHECK(planner.record({"a", 0, false, std::nullopt, true, "x"}).empty());  // attempt 0 is stale
  CHECK(planner.phase() == RunPhase::Running);
  CHECK(planner.record({"a", 1, true, std::nullopt, true, ""}).size() == 1);
}

TEST_CASE("planner: restore re-derives exactly the pending tasks") {
  const auto flow = shape({{"start", {"each"}, "foreach: items"},
                           {"each", {"join"}, ""},
                           {"join", {"end"}, "join: true"},
                           {"end", {}, ""}});
  Planner planner(flow);
  const std::vector<TaskOutcome> done{{"start", 0, true, 4, true, ""},
                                      {"each.0", 0, true, std::nullopt, true, ""},
                                      {"each.2", 1, true, std::nullopt, true, ""}};
  const auto ready = planner.restore(done);
  std::vector<std::string> ids;
  for (const auto& task : ready) ids.push_back(task.id);
  std::sort(ids.begin(), ids.end());
  CHECK(ids == std::vector<std::string>{"each.1", "each.3"});
  // Finishing them releases the join, whose parents remember each.2's second attempt.
  planner.record({"each.1", 0, true, std::nullopt, true, ""});
  const auto join = planner.record({"each.3", 0, true, std::nullopt, true, ""});
  REQUIRE(join.size() == 1);
  CHECK(join[0].id == "join");
  CHECK(join[0].parents[0].attempts == std::map<std::string, std::int64_t>{{"each.2", 1}});
}

TEST_CASE("planner: a 100,000-way foreach plans in one pass") {
  const auto flow = shape({{"start", {"each"}, "foreach: items"},
                           {"each", {"join"}, ""},
                           {"join", {"end"}, "join: true"},
                           {"end", {}, ""}});
  Planner planner(flow);
  Simulation simulation;
  simulation.splits = 100000;
  simulation.run(planner, planner.start());
  CHECK(simulation.phase == RunPhase::Succeeded);
  CHECK(simulation.count_of("each") == 100000);
  CHECK(planner.outstanding() == 0);
}
