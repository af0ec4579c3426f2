// The operator's side of spec.resumeFrom (operator/reconcile/run_resume.hpp) against a local
// directory datastore: what is cloned, what is not, and what the run's status says.
#include <doctest/doctest.h>

#include <algorithm>

#include "datastore/datastore.hpp"
#include "datastore/local_object_store.hpp"
#include "flow/lint.hpp"
#include "operator/reconcile/conditions.hpp"
#include "operator/reconcile/run_resume.hpp"
#include "tests/unit/datastore/scratch_directory.hpp"

using nlohmann::json;
using podflow::datastore::Datastore;
using podflow::datastore::LocalObjectStore;
using podflow::datastore::Manifest;
using podflow::reconcile::ResumeError;
using podflow::testing::ScratchDirectory;

namespace {

podflow::flow::FlowSpec fan_flow() {
  auto result = podflow::flow::validate_flow(R"(apiVersion: podflow.dev/v1alpha1
kind: Flow
metadata: {name: fan}
spec:
  steps:
    - {name: start, command: ["true"], foreach: items, next: [each]}
    - {name: each, command: ["true"], next: [join]}
    - {name: join, join: true, command: ["true"], next: [end]}
    - {name: end, command: ["true"]}
)");
  REQUIRE(result.flow.has_value());
  return *result.flow;
}

void commit(Datastore& store, const std::string& run, const std::string& step,
            const std::string& task, std::int64_t attempt, std::uint64_t splits = 0) {
  Manifest manifest;
  manifest.id = {"fan", run, step, task, attempt};
  manifest.startedAt = manifest.finishedAt = "2026-11-21T16:25:47.120Z";
  // The index blob exists: resume re-runs, instead of reusing, a task whose blobs are gone.
  if (splits > 0) {
    const auto index = store.store_artifact_bytes("fan", "the foreach index");
    manifest.foreach = podflow::datastore::ForeachIndex{"items", splits, index.sha256};
  }
  store.write_manifest(manifest);
}

json resumed_run(const std::filesystem::path& datastore, const std::string& from) {
  return {{"metadata", {{"name", "fan-b"}, {"namespace", "team-a"}}},
          {"spec", {{"flowRef", {{"name", "fan"}}}, {"resumeFrom", from}}},
          {"status",
           {{"runId", "fan-b-1a2b3c4d"},
            {"flowName", "fan"},
            {"datastore", datastore.string()},
            {"phase", "Running"}}}};
}

}  // namespace

TEST_CASE("resume: the origin run's commits become the planner's successes") {
  ScratchDirectory scratch;
  Datastore store(std::make_unique<LocalObjectStore>(scratch / "store"));
  commit(store, "fan-a-00000000", "start", "start", 0, 3);
  commit(store, "fan-a-00000000", "each", "each.0", 0);
  commit(store, "fan-a-00000000", "each", "each.2", 1);
  commit(store, "fan-a-00000000", "gone", "gone", 0);  // a step the flow no longer has
  const auto flow = fan_flow();
  const json run = resumed_run(scratch / "store", "fan-a-00000000");

  // each.2 is the run's own (a pod of it exists: an operator restart after it started): not cloned.
  const auto successes = podflow::reconcile::clone_resumed_tasks(run, flow, {"each.2"});
  REQUIRE(successes.size() == 2);
  CHECK(successes[0].id == "each.0");
  CHECK(successes[1].id == "start");
  CHECK(successes[1].split_count == 3);
  CHECK(successes[1].succeeded);
  CHECK(successes[1].final_attempt);
  CHECK(store.find_committed_attempt("fan", "fan-b-1a2b3c4d", "each", "each.0") == 0);
  CHECK_FALSE(store.find_committed_attempt("fan", "fan-b-1a2b3c4d", "each", "each.2"));
  CHECK_FALSE(store.find_committed_attempt("fan", "fan-b-1a2b3c4d", "gone", "gone"));

  // The planner gets exactly what is left: each.1 and each.2 (each.2's Task exists already).
  podflow::flow::Planner planner(flow);
  std::vector<std::string> ready;
  for (const auto& task : planner.restore(successes)) ready.push_back(task.id);
  std::sort(ready.begin(), ready.end());
  CHECK(ready == std::vector<std::string>{"each.1", "each.2"});

  // Again, as after an operator restart: the same successes.
  CHECK(podflow::reconcile::clone_resumed_tasks(run, flow, {"each.2"}).size() == 2);
}

TEST_CASE("resume: a run without spec.resumeFrom clones nothing") {
  json run = resumed_run("/nonexistent", "x");
  run["spec"].erase("resumeFrom");
  CHECK(podflow::reconcile::clone_resumed_tasks(run, fan_flow(), {}).empty());
  json status = run["status"];
  podflow::reconcile::set_resume_status(run, status, 0, 1, "2026-11-21T19:00:00Z");
  CHECK(status == run["status"]);
}

TEST_CASE("resume: an origin run that left nothing fails the run, naming it") {
  ScratchDirectory scratch;
  Datastore store(std::make_unique<LocalObjectStore>(scratch / "store"));
  commit(store, "fan-a-00000000", "start", "start", 0, 3);
  const json run = resumed_run(scratch / "store", "fan-zz-00000000");
  try {
    podflow::reconcile::clone_resumed_tasks(run, fan_flow(), {});
    FAIL("no ResumeError");
  } catch (const ResumeError& error) {
    CHECK(error.permanent());
    CHECK(error.reason() == "ResumeFromNotFound");
    CHECK(std::string(error.what()).find("run fan-zz-00000000 of flow fan") != std::string::npos);
    CHECK(std::string(error.what()).find("status.runId") != std::string::npos);
    const json status =
        podflow::reconcile::resume_failure_status(run["status"], error, 1, "2026-11-21T19:00:00Z");
    CHECK(status["phase"] == "Failed");
    const json* failed = podflow::reconcile::find_condition(status["conditions"], "Failed");
    REQUIRE(failed != nullptr);
    CHECK((*failed)["status"] == "True");
    CHECK((*failed)["reason"] == "ResumeFromNotFound");
    CHECK((*failed)["message"] == error.what());
    const json* resumed = podflow::reconcile::find_condition(status["conditions"], "Resumed");
    REQUIRE(resumed != nullptr);
    CHECK((*resumed)["status"] == "False");
  }
}

TEST_CASE("resume: an unreachable datastore makes the run wait, not fail") {
  const json run = resumed_run("ftp://nowhere/runs", "fan-a-00000000");
  try {
    podflow::reconcile::clone_resumed_tasks(run, fan_flow(), {});
    FAIL("no ResumeError");
  } catch (const ResumeError& error) {
    CHECK_FALSE(error.permanent());
    CHECK(error.reason() == "DatastoreUnavailable");
    CHECK(std::string(error.what()).find("fan-a-00000000") != std::string::npos);
    const json status =
        podflow::reconcile::resume_failure_status(run["status"], error, 1, "2026-11-21T19:00:00Z");
    CHECK(status["phase"] == "Running");
    CHECK(podflow::reconcile::find_condition(status["conditions"], "Failed") == nullptr);
    const json* running = podflow::reconcile::find_condition(status["conditions"], "Running");
    REQUIRE(running != nullptr);
    CHECK((*running)["reason"] == "DatastoreUnavailable");
  }
}

TEST_CASE("resume: the status counts the cloned tasks and says where they came from") {
  const json run = resumed_run("/nonexistent", "fan-a-00000000");
  json status = run["status"];
  status["tasks"] = {{"total", 9}, {"succeeded", 7}};
  podflow::reconcile::set_resume_status(run, status, 5, 1, "2026-11-21T19:00:00Z");
  CHECK(status["tasks"]["cloned"] == 5);
  const json* resumed = podflow::reconcile::find_condition(status["conditions"], "Resumed");
  REQUIRE(resumed != nullptr);
  CHECK((*resumed)["status"] == "True");
  CHECK((*resumed)["message"] == "reused 5 successful task(s) of run fan-a-00000000");
}
