#include <doctest/doctest.h>

#include "datastore/datastore.hpp"
#include "datastore/local_object_store.hpp"
#include "datastore/task_attempts.hpp"
#include "tests/unit/datastore/scratch_directory.hpp"

using podflow::datastore::AttemptId;
using podflow::datastore::Datastore;
using podflow::datastore::LocalObjectStore;
using podflow::datastore::LogStream;
using podflow::datastore::Manifest;
using podflow::testing::ScratchDirectory;

namespace {

Manifest manifest_of(const AttemptId& id, const std::string& artifact = "x") {
  Manifest manifest;
  manifest.id = id;
  manifest.artifacts[artifact] = {std::string(64, 'a'), 1};
  manifest.startedAt = "2026-11-21T16:25:47.120Z";
  manifest.finishedAt = "2026-11-21T16:25:48.120Z";
  return manifest;
}

// The earlier run "5" of flow "fan": start (a foreach of 3) committed; each.0 committed on its
// second attempt; each.1 failed (logs, no manifest); each.10 committed; join never ran.
void write_earlier_run(Datastore& store) {
  // The blobs the manifests name (resume reuses only tasks whose blobs are intact).
  store.objects().put_bytes(Datastore::blob_key("fan", std::string(64, 'a')), "x");
  store.objects().put_bytes(Datastore::blob_key("fan", std::string(64, 'b')), std::string(48, 0));
  Manifest start = manifest_of({"fan", "5", "start", "start", 0}, "items");
  start.foreach = podflow::datastore::ForeachIndex{"items", 3, std::string(64, 'b')};
  store.write_manifest(start);
  store.put_log({"fan", "5", "each", "each.0", 0}, LogStream::standard_error, "boom");
  store.write_manifest(manifest_of({"fan", "5", "each", "each.0", 1}));
  store.put_log({"fan", "5", "each", "each.1", 0}, LogStream::standard_error, "boom");
  store.write_manifest(manifest_of({"fan", "5", "each", "each.10", 0}));
  store.write_manifest(manifest_of({"fan", "5", "old_step", "old_step", 0}));
  // Another run and another flow with the same prefix must not leak in.
  store.write_manifest(manifest_of({"fan", "50", "each", "each.2", 0}));
  store.write_manifest(manifest_of({"fanout", "5", "each", "each.3", 0}));
}

}  // namespace

TEST_CASE("task attempts: every task of a run, split paths ordered as numbers") {
  ScratchDirectory scratch;
  Datastore store(std::make_unique<LocalObjectStore>(scratch / "store"));
  write_earlier_run(store);
  const auto tasks = podflow::datastore::list_task_attempts(store, "fan", "5");
  REQUIRE(tasks.size() == 5);
  CHECK(tasks[0].task == "each.0");
  CHECK(tasks[0].attempts == std::vector<std::int64_t>{0, 1});
  CHECK(tasks[1].task == "each.1");
  CHECK(tasks[2].task == "each.10");
  CHECK(tasks[3].task == "old_step");
  CHECK(tasks[4].task == "start");
  CHECK(podflow::datastore::list_task_attempts(store, "fan", "5", "each").size() == 3);
  CHECK(podflow::datastore::list_task_attempts(store, "fan", "6").empty());
}

TEST_CASE("resume: each committed task's latest manifest is copied to the new run") {
  ScratchDirectory scratch;
  Datastore store(std::make_unique<LocalObjectStore>(scratch / "store"));
  write_earlier_run(store);
  auto keep = [](const std::string& step, const std::string&) { return step != "old_step"; };
  const auto result =
      podflow::datastore::clone_committed_tasks(store, "fan", "5", "fan-1a2b", keep);
  CHECK(result.found);
  REQUIRE(result.cloned.size() == 3);  // start, each.0 and each.10; not each.1, not old_step
  CHECK(result.cloned[0].task == "each.0");
  CHECK(result.cloned[0].attempt == 1);
  CHECK_FALSE(result.cloned[0].split_count.has_value());
  CHECK(result.cloned[1].task == "each.10");
  CHECK(result.cloned[2].task == "start");
  CHECK(result.cloned[2].split_count == 3);

  const auto copied = store.read_manifest({"fan", "fan-1a2b", "each", "each.0", 1});
  REQUIRE(copied.has_value());
  Manifest expected = *store.read_manifest({"fan", "5", "each", "each.0", 1});
  expected.id.run = "fan-1a2b";
  CHECK(*copied == expected);
  CHECK(store.find_committed_attempt("fan", "fan-1a2b", "start", "start") == 0);
  CHECK_FALSE(store.find_committed_attempt("fan", "fan-1a2b", "each", "each.1").has_value());
  CHECK_FALSE(store.find_committed_attempt("fan", "fan-1a2b", "old_step", "old_step").has_value());
  CHECK_FALSE(store.get_log({"fan", "fan-1a2b", "each", "each.0", 0}, LogStream::standard_error));

  SUBCASE("again (an operator restart): the same answer, the same manifests") {
    const auto again =
        podflow::datastore::clone_committed_tasks(store, "fan", "5", "fan-1a2b", keep, 1);
    REQUIRE(again.cloned.size() == 3);
    CHECK(again.cloned[0].task == "each.0");
    CHECK(*store.read_manifest({"fan", "fan-1a2b", "each", "each.0", 1}) == expected);
  }
  SUBCASE("tasks the new run ran itself are left out") {
    const auto mine = podflow::datastore::clone_committed_tasks(
        store, "fan", "5", "fan-9",
        [](const std::string&, const std::string& task) { return task != "each.10"; });
    CHECK(mine.cloned.size() == 3);  // start, each.0, old_step
    CHECK_FALSE(store.find_committed_attempt("fan", "fan-9", "each", "each.10").has_value());
  }
}

TEST_CASE("resume: a run that left nothing is not found") {
  ScratchDirectory scratch;
  Datastore store(std::make_unique<LocalObjectStore>(scratch / "store"));
  write_earlier_run(store);
  const auto result = podflow::datastore::clone_committed_tasks(
      store, "fan", "7", "fan-x", [](const std::string&, const std::string&) { return true; });
  CHECK_FALSE(result.found);
  CHECK(result.cloned.empty());
}
