// Finding earlier runs in the datastore by id (their tasks and attempts:
// datastore/task_attempts.hpp).
#pragma once

#include <string>

#include "cli/run_record.hpp"
#include "datastore/datastore.hpp"

namespace podflow::cli {

// The run's record; std::runtime_error with a message naming the run when there is none.
RunRecord load_run(datastore::Datastore& store, const std::string& run);

}  // namespace podflow::cli
