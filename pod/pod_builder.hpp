// The Pod of one Task attempt, exactly as docs/api.md ("The Pod of a Task attempt") describes it:
// a pure function from the Task object (as the API server returns it) and the operator's
// settings to the Pod object to create.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace podflow::pod {

inline constexpr const char* kManagedBy = "podflow-operator";
// managed-by of the pods a local run makes for its cluster steps (runner/pod_executor.hpp).
inline constexpr const char* kManagedByLocalRun = "podflow";

// The operator's configuration (its flags) that shapes every pod.
struct PodSettings {
  // With runtime_image set, an init container of that image runs `runtime_command --install`
  // into an emptyDir, and the step's container (any image) runs the copy, kRuntimeDir/
  // podflow-runtime. Without it, the step's image must have runtime_command on its PATH.
  std::string runtime_image;
  std::string runtime_command = "podflow-runtime";
  std::string work_dir = "/podflow/work";  // the emptyDir mount; the runtime's workDir
  std::string s3_endpoint;                 // -> PODFLOW_S3_ENDPOINT when set
  std::string s3_region;                   // -> AWS_REGION when set
  std::string s3_credentials_secret;  // mounted at kS3CredentialsDir, PODFLOW_S3_CREDENTIALS_DIR
  std::vector<std::pair<std::string, std::string>> extra_env;  // operator-wide (CA bundle, ...)
  bool cpu_limits = false;  // Guaranteed QoS: cpu limit = request
  // readOnlyRootFilesystem on every container; /tmp is then an emptyDir, writable
  bool read_only_root_filesystem = false;
  std::int64_t run_as_user = 65532;
  // app.kubernetes.io/managed-by of every pod: the operator selects its pods by it, so a local
  // run's pods (managed by podflow itself) are never mistaken for a Task's.
  std::string managed_by = kManagedBy;
};

inline constexpr const char* kContainerName = "step";
inline constexpr const char* kRuntimeContainerName = "podflow-runtime";  // the init container
inline constexpr const char* kRuntimeVolume = "podflow-runtime";
inline constexpr const char* kRuntimeDir = "/podflow/bin";  // read-only in the step's container
inline constexpr const char* kTmpVolume = "tmp";
inline constexpr const char* kWorkVolume = "work";
inline constexpr const char* kS3CredentialsVolume = "s3-credentials";
inline constexpr const char* kS3CredentialsDir = "/var/run/podflow/s3";
inline constexpr const char* kDefaultGpuVendor = "nvidia.com";  // Metaflow's default

// Label keys the operator sets on every pod (and selects on).
inline constexpr const char* kFlowLabel = "podflow.dev/flow";
inline constexpr const char* kRunLabel = "podflow.dev/run";
inline constexpr const char* kStepLabel = "podflow.dev/step";
inline constexpr const char* kTaskLabel = "podflow.dev/task";
inline constexpr const char* kAttemptLabel = "podflow.dev/attempt";
// A foreach member's index, and the split path before it ("" outside a nested foreach).
inline constexpr const char* kSplitLabel = "podflow.dev/split";
inline constexpr const char* kSplitPrefixLabel = "podflow.dev/split-prefix";
inline constexpr const char* kManagedByLabel = "app.kubernetes.io/managed-by";

// The Pod for `attempt` (0, 1, ...) of `task`. Its owner is `owner` when given (an ownerReference:
// the operator's Task of the member's step and split prefix), else the task itself when it has a
// uid, else none (a local run's in-memory task). PODFLOW_TASK is spec.runtime with
// `attempt` and `workDir` set, checked with the runtime's own parser so that a pod never starts
// with a spec the runtime would refuse. Throws std::invalid_argument naming the field when the Task
// is malformed (no spec.runtime, a wrong type, a bad quantity), or when settings.extra_env sets a
// variable the operator sets itself.
nlohmann::json build_pod(const nlohmann::json& task, std::int64_t attempt,
                         const PodSettings& settings,
                         const std::optional<nlohmann::json>& owner = std::nullopt);

// The pod of another member (or attempt) of the same Task from `pod`, which build_pod made for
// one of its members: the name, the task, split and attempt labels and PODFLOW_TASK (the member's
// runtime spec with its attempt and workDir, as runtime::task_spec_to_json writes it) replaced.
// Every member of a Task has the same settings, so this is build_pod's result for that member at
// a tenth of the cost (a 100,000-way foreach builds 100,000 pods).
nlohmann::json member_pod(const nlohmann::json& pod, const std::string& name,
                          const std::string& task_id, std::int64_t attempt,
                          const std::string& runtime_task);

}  // namespace podflow::pod
