// One task attempt from start to finish: prepare the inputs, run the step, commit the outputs.
// Every failure becomes a result (never an exception), and the manifest is written only when
// everything else succeeded, as the very last write.
#pragma once

#include "runtime/task_result.hpp"
#include "runtime/task_spec.hpp"
#include "runtime/termination_signals.hpp"

namespace podflow::runtime {

TaskResult run_task(const TaskSpec& spec, TerminationSignals& signals);

}  // namespace podflow::runtime
