// Finding earlier runs in the datastore by id (their tasks and attempts:
// datastore/task_attempts.hpp).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "datastore/datastore.hpp"
#include "runner/run_record.hpp"

namespace podflow::cli {

using runner::RunRecord;
using runner::StepSummary;

// The run's record; std::runtime_error with a message naming the run when there is none.
RunRecord load_run(datastore::Datastore& store, const std::string& run);

// `resume`: the earlier run's parameter values are added to `given` ("name=value"), except those
// given again.
void keep_earlier_parameters(std::vector<std::string>& given,
                             const std::map<std::string, std::string>& earlier);

}  // namespace podflow::cli
