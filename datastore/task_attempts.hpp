// What a run left in the datastore, task by task, and `resume`'s copy of it: the CLI's `logs`,
// `status` and local `resume` and the operator's resume of a FlowRun (spec.resumeFrom) all read a
// run's tasks through these.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "datastore/datastore.hpp"

namespace podflow::datastore {

struct TaskAttempts {
  std::string step;
  std::string task;
  std::vector<std::int64_t> attempts;  // every attempt that left logs or a manifest, ascending
};

// Every task of `step` (or of every step, when empty) of the run, ordered by step and split path
// ("each.9" before "each.10"). One listing of <flow>/<run>/[<step>/]; empty when the run left
// nothing.
std::vector<TaskAttempts> list_task_attempts(Datastore& store, const std::string& flow,
                                             const std::string& run, const std::string& step = "");

// A task of the earlier run whose commit now belongs to the new run as well.
struct ClonedTask {
  std::string step;
  std::string task;
  std::int64_t attempt = 0;                 // the committed attempt (kept in the new run)
  std::optional<std::int64_t> split_count;  // a foreach step's number of splits
};

// A committed task that resume did NOT reuse because its outputs cannot be read any more.
struct SkippedTask {
  std::string step;
  std::string task;
  std::int64_t attempt = 0;
  std::string reason;  // "artifact 'x': blob <key> is missing (...)": for the person resuming
};

struct CloneResult {
  bool found = false;  // the earlier run left anything at all in the store
  std::vector<ClonedTask> cloned;
  // Tasks whose manifest names a blob that is missing or has the wrong size (a local store
  // only, Datastore::blob_intact): not cloned, so the new run runs them again, and storing
  // their outputs re-creates the blobs. Print them: the person resuming should know why.
  std::vector<SkippedTask> skipped;
};

// `resume`: copies the manifest of every task `from` committed (its latest attempt with a
// manifest) to the same step, task and attempt of run `to`; the blobs are shared, so nothing else
// moves. Tasks for which `keep(step, task)` is false are left out (steps the flow no longer has,
// tasks the new run ran itself), and so are tasks whose blobs are damaged (see `skipped`).
// Idempotent: copying a manifest twice writes the same bytes. Reads and writes up to `threads`
// manifests at once. Throws StoreError.
CloneResult clone_committed_tasks(
    Datastore& store, const std::string& flow, const std::string& from, const std::string& to,
    const std::function<bool(const std::string& step, const std::string& task)>& keep,
    std::size_t threads = 16);

}  // namespace podflow::datastore
