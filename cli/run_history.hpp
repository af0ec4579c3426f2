// Finding earlier runs in the datastore: by id, and the tasks and attempts a run left behind.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/run_record.hpp"
#include "datastore/datastore.hpp"

namespace podflow::cli {

// The run's record; std::runtime_error with a message naming the run when there is none.
RunRecord load_run(datastore::Datastore& store, const std::string& run);

struct TaskAttempts {
  std::string step;
  std::string task;
  std::vector<std::int64_t> attempts;  // every attempt that left logs or a manifest, ascending
};

// Every task of `step` (or of every step, when empty) in the run, ordered by step and split path.
std::vector<TaskAttempts> list_task_attempts(datastore::Datastore& store, const RunRecord& run,
                                             const std::string& step = "");

}  // namespace podflow::cli
