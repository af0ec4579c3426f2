// The Flow document: the one format that `podflow run flow.yaml` and `kubectl apply -f flow.yaml`
// both read. Field names follow the Kubernetes API conventions (camelCase, lists of named
// sub-objects); see docs/flow-spec.md for every field with an example.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "flow/diagnostic.hpp"
#include "flow/quantity.hpp"

namespace podflow::flow {

struct EnvVar {
  std::string name;
  std::string value;
};

struct Toleration {
  std::string key;
  std::string operator_;  // "Exists" or "Equal"; empty means Equal
  std::string value;
  std::string effect;  // NoSchedule, PreferNoSchedule, NoExecute or empty for all
  std::optional<std::int64_t> tolerationSeconds;
};

struct Resources {
  std::optional<Quantity> cpu;
  std::optional<Quantity> memory;
  std::optional<Quantity> disk;
  std::optional<std::int64_t> gpu;
  std::optional<std::string> gpuVendor;
};

struct RetryPolicy {
  std::optional<std::int64_t> times;
  std::optional<std::int64_t> delaySeconds;
};

// A memory-backed scratch directory (Metaflow's use_tmpfs, tmpfs_size, tmpfs_path,
// tmpfs_tempdir): an emptyDir of medium Memory, counted against the step's memory limit.
struct Tmpfs {
  std::optional<Quantity> size;     // default: half of the step's memory, as Metaflow
  std::optional<std::string> path;  // default: /podflow_temp
  std::optional<bool> tempdir;      // default true: TMPDIR points at it
};

// Everything a step may set that `spec.defaults` may also set for all steps.
struct StepSettings {
  std::optional<std::string> image;
  Resources resources;
  std::optional<std::int64_t> timeoutSeconds;
  RetryPolicy retry;
  std::vector<EnvVar> env;
  std::vector<std::string> secrets;
  std::optional<std::string> serviceAccount;
  std::optional<std::string> namespace_;
  std::map<std::string, std::string> nodeSelector;
  std::vector<Toleration> tolerations;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  // Metaflow's other @kubernetes options; they shape the pod, a local run ignores them.
  std::map<std::string, std::string> persistentVolumeClaims;  // claim name -> mount path
  std::optional<Quantity> sharedMemory;                       // /dev/shm size
  std::optional<Tmpfs> tmpfs;
  std::optional<std::string> qos;  // Burstable (default) or Guaranteed
  std::optional<std::int64_t> port;
  std::optional<std::string> priorityClassName;
  // Where the step's tasks run (Metaflow's @kubernetes on one step): Local (default: with the
  // run, a process of `podflow run`, a pod when the whole run is on the cluster) or Kubernetes
  // (a pod in the current kubeconfig's cluster, even in a local run).
  std::optional<std::string> runOn;
  // At most this many of the step's tasks run at once (the Kubernetes Job's and Argo's
  // `parallelism`), beside the run's max-workers; unset: only max-workers limits the step.
  std::optional<std::int64_t> parallelism;
};

struct Step {
  std::string name;
  std::vector<std::string> command;  // argv; never run through a shell
  StepSettings settings;
  std::vector<std::string> next;
  std::optional<std::string> foreach;  // artifact holding a JSON array: one split per element
  bool join = false;
  // Where each part was written, for messages.
  SourceMark mark;
  SourceMark nextMark;
  SourceMark foreachMark;
};

struct Parameter {
  std::string name;
  std::optional<std::string> defaultValue;  // absent: the run must give a value
  std::string type = "string";              // string, integer, number, boolean or json
  std::string help;
  SourceMark mark;
};

struct FlowSpec {
  std::string apiVersion;
  std::string kind;
  std::string name;  // metadata.name
  std::string namespace_;
  std::map<std::string, std::string> metadataLabels;
  std::optional<std::string> image;
  std::vector<Parameter> parameters;
  StepSettings defaults;
  std::vector<Step> steps;

  const Step* find_step(const std::string& step_name) const;
};

// A step's settings after `spec.defaults` and the built-in defaults are applied: what the runtime
// and the pod builder use.
struct EffectiveSettings {
  std::string image;
  Quantity cpu;
  Quantity memory;
  Quantity disk;
  std::int64_t gpu = 0;
  std::string gpuVendor;
  std::int64_t timeoutSeconds = 0;
  std::int64_t retryTimes = 0;
  std::int64_t retryDelaySeconds = 0;
  std::vector<EnvVar> env;
  std::vector<std::string> secrets;
  std::string serviceAccount;
  std::string namespace_;
  std::map<std::string, std::string> nodeSelector;
  std::vector<Toleration> tolerations;
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  std::map<std::string, std::string> persistentVolumeClaims;
  std::optional<Quantity> sharedMemory;
  bool tmpfs = false;
  Quantity tmpfsSize;  // when tmpfs
  std::string tmpfsPath;
  bool tmpfsTempdir = false;
  std::string qos = "Burstable";
  std::optional<std::int64_t> port;
  std::string priorityClassName;
  std::string runOn = "Local";              // Local or Kubernetes
  std::optional<std::int64_t> parallelism;  // 1..defaults::kMaxParallelism; unset: no cap
};

// Applies, in order of precedence: the step's own settings, the run-wide overrides (`--with
// kubernetes:cpu=4,...`), spec.defaults, spec.image, and the built-in defaults.
EffectiveSettings effective_settings(const FlowSpec& flow, const Step& step,
                                     const StepSettings& run_overrides = {});

}  // namespace podflow::flow
