#include "flow/flow_spec.hpp"

#include <algorithm>

#include "flow/defaults.hpp"

namespace podflow::flow {
namespace {

template <typename T>
std::optional<T> first_of(const std::optional<T>& a, const std::optional<T>& b,
                          const std::optional<T>& c) {
  if (a) return a;
  if (b) return b;
  return c;
}

// Metaflow takes the larger of @resources and `--with kubernetes:...`; so do we.
Quantity larger(const Quantity& chosen, const std::optional<Quantity>& override) {
  return override && override->value > chosen.value ? *override : chosen;
}

void merge_env(std::vector<EnvVar>& into, const std::vector<EnvVar>& from) {
  for (const auto& var : from) {
    auto existing = std::find_if(into.begin(), into.end(),
                                 [&](const EnvVar& other) { return other.name == var.name; });
    if (existing != into.end())
      existing->value = var.value;
    else
      into.push_back(var);
  }
}

void merge_map(std::map<std::string, std::string>& into,
               const std::map<std::string, std::string>& from) {
  for (const auto& [key, value] : from) into[key] = value;
}

}  // namespace

const Step* FlowSpec::find_step(const std::string& step_name) const {
  for (const auto& step : steps) {
    if (step.name == step_name) return &step;
  }
  return nullptr;
}

EffectiveSettings effective_settings(const FlowSpec& flow, const Step& step,
                                     const StepSettings& run_overrides) {
  const StepSettings& own = step.settings;
  const StepSettings& defaults = flow.defaults;
  EffectiveSettings result;

  const auto resource = [&](auto member) {
    return first_of(own.resources.*member, defaults.resources.*member, std::optional<Quantity>{});
  };
  result.cpu =
      larger(resource(&Resources::cpu).value_or(Quantity{"1", defaults::kCpuMillis / 1000.0}),
             run_overrides.resources.cpu);
  result.memory = larger(
      resource(&Resources::memory).value_or(quantity_from_megabytes(defaults::kMemoryMegabytes)),
      run_overrides.resources.memory);
  result.disk =
      larger(resource(&Resources::disk).value_or(quantity_from_megabytes(defaults::kDiskMegabytes)),
             run_overrides.resources.disk);
  result.gpu = std::max(first_of(own.resources.gpu, defaults.resources.gpu,
                                 std::optional<std::int64_t>{defaults::kGpu})
                            .value_or(0),
                        run_overrides.resources.gpu.value_or(0));
  result.gpuVendor = first_of(own.resources.gpuVendor, run_overrides.resources.gpuVendor,
                              defaults.resources.gpuVendor)
                         .value_or(std::string(defaults::kGpuVendor));

  result.image =
      first_of(own.image, run_overrides.image, defaults.image).value_or(flow.image.value_or(""));
  result.timeoutSeconds =
      first_of(own.timeoutSeconds, run_overrides.timeoutSeconds, defaults.timeoutSeconds)
          .value_or(defaults::kTimeoutSeconds);
  result.retryTimes = first_of(own.retry.times, run_overrides.retry.times, defaults.retry.times)
                          .value_or(defaults::kRetryTimes);
  result.retryDelaySeconds = first_of(own.retry.delaySeconds, run_overrides.retry.delaySeconds,
                                      defaults.retry.delaySeconds)
                                 .value_or(defaults::kRetryDelaySeconds);
  result.serviceAccount =
      first_of(own.serviceAccount, run_overrides.serviceAccount, defaults.serviceAccount)
          .value_or("");
  result.namespace_ =
      first_of(own.namespace_, run_overrides.namespace_, defaults.namespace_).value_or("");
  result.sharedMemory =
      first_of(own.sharedMemory, run_overrides.sharedMemory, defaults.sharedMemory);
  if (const auto tmpfs = first_of(own.tmpfs, run_overrides.tmpfs, defaults.tmpfs)) {
    result.tmpfs = true;
    // Metaflow's default size: half of the step's memory.
    result.tmpfsSize = tmpfs->size.value_or(
        Quantity{std::to_string(static_cast<long long>(result.memory.value / 2)),
                 static_cast<double>(static_cast<long long>(result.memory.value / 2))});
    result.tmpfsPath = tmpfs->path.value_or(std::string(defaults::kTmpfsPath));
    result.tmpfsTempdir = tmpfs->tempdir.value_or(true);
  }
  result.qos = first_of(own.qos, run_overrides.qos, defaults.qos).value_or("Burstable");
  result.runOn = first_of(own.runOn, run_overrides.runOn, defaults.runOn).value_or("Local");
  result.port = first_of(own.port, run_overrides.port, defaults.port);
  result.parallelism = first_of(own.parallelism, run_overrides.parallelism, defaults.parallelism);
  result.priorityClassName =
      first_of(own.priorityClassName, run_overrides.priorityClassName, defaults.priorityClassName)
          .value_or("");

  // Collections accumulate from the least to the most specific.
  for (const StepSettings* layer : {&defaults, &run_overrides, &own}) {
    merge_env(result.env, layer->env);
    for (const auto& secret : layer->secrets) {
      if (std::find(result.secrets.begin(), result.secrets.end(), secret) == result.secrets.end()) {
        result.secrets.push_back(secret);
      }
    }
    merge_map(result.nodeSelector, layer->nodeSelector);
    result.tolerations.insert(result.tolerations.end(), layer->tolerations.begin(),
                              layer->tolerations.end());
    merge_map(result.labels, layer->labels);
    merge_map(result.annotations, layer->annotations);
    merge_map(result.persistentVolumeClaims, layer->persistentVolumeClaims);
  }
  return result;
}

}  // namespace podflow::flow
