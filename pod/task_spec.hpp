// The spec of a Task: what one planned task asks of the cluster (image, resources, settings, the
// runtime's task spec). The operator writes it into a Task object; the local runner keeps it in
// memory for a cluster step's pod. build_pod reads it either way, so a step gets the same pod.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "flow/flow_spec.hpp"
#include "flow/graph.hpp"
#include "flow/planner.hpp"
#include "runtime/task_spec.hpp"

namespace podflow::pod {

struct TaskSpecInputs {
  std::string flow_run;       // spec.flowRun: the run's name on the cluster
  std::string default_image;  // for a step and flow that name no image
  std::string work_dir;       // the runtime's workDir in the pod (PodSettings::work_dir)
};

// Task.spec for `task` (docs/api.md, "Task"). Throws what runtime::make_task_spec throws.
nlohmann::json task_spec(const flow::FlowSpec& flow, const flow::FlowGraph& graph,
                         const flow::PlannedTask& task, const runtime::RunContext& context,
                         const TaskSpecInputs& inputs);

}  // namespace podflow::pod
