#include "runner/machine_check.hpp"

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>

namespace podflow::runner {

MachineCapacity this_machine() {
  MachineCapacity machine;
  machine.cores = static_cast<double>(sysconf(_SC_NPROCESSORS_ONLN));
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  long long kilobytes = 0;
  std::string unit;
  while (meminfo >> key >> kilobytes >> unit) {
    if (key == "MemTotal:") {
      machine.memory_bytes = static_cast<double>(kilobytes) * 1024;
      break;
    }
  }
  static const std::regex kGpuDevice("nvidia[0-9]+");
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/dev", error)) {
    if (std::regex_match(entry.path().filename().string(), kGpuDevice)) ++machine.gpus;
  }
  return machine;
}

std::vector<std::string> check_fits(const flow::FlowSpec& flow, const flow::StepSettings& overrides,
                                    const MachineCapacity& machine, const std::string& flow_path) {
  std::vector<std::string> problems;
  const std::string remedy = "; run it on Kubernetes (podflow run " + flow_path +
                             " --with kubernetes, or runOn: Kubernetes on that step) or lower its "
                             "resources";
  for (const auto& step : flow.steps) {
    const auto settings = flow::effective_settings(flow, step, overrides);
    if (settings.runOn == "Kubernetes") continue;  // its pod gets the cluster's resources
    if (settings.memory.value > machine.memory_bytes) {
      problems.push_back("step '" + step.name + "' asks for " + settings.memory.text +
                         " of memory (" + flow::describe_bytes(settings.memory.value) +
                         ") but this machine has " + flow::describe_bytes(machine.memory_bytes) +
                         remedy);
    }
    if (settings.cpu.value > machine.cores) {
      char cores[32];
      std::snprintf(cores, sizeof cores, "%g", machine.cores);
      problems.push_back("step '" + step.name + "' asks for " + settings.cpu.text +
                         " cpu but this machine has " + cores + " cores" + remedy);
    }
    if (settings.gpu > machine.gpus) {
      problems.push_back("step '" + step.name + "' asks for " + std::to_string(settings.gpu) +
                         " gpu but this machine has " + std::to_string(machine.gpus) + remedy);
    }
  }
  return problems;
}

}  // namespace podflow::runner
