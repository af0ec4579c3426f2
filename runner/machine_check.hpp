// Resources are suggestions on a laptop, but a step that asks for more than the machine has can
// never run well here: say so before anything runs, and point at Kubernetes (the seeds' 48 GB
// MemoryError, turned into a helpful error).
#pragma once

#include <string>
#include <vector>

#include "flow/flow_spec.hpp"

namespace podflow::runner {

struct MachineCapacity {
  double cores = 0;
  double memory_bytes = 0;
  int gpus = 0;
};

// This machine: online cores, MemTotal from /proc/meminfo, /dev/nvidia<N> devices.
MachineCapacity this_machine();

// One message per step that asks for more than `machine` has.
std::vector<std::string> check_fits(const flow::FlowSpec& flow, const flow::StepSettings& overrides,
                                    const MachineCapacity& machine, const std::string& flow_path);

}  // namespace podflow::runner
