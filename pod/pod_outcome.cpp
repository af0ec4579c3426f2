#include "pod/pod_outcome.hpp"

#include <initializer_list>
#include <stdexcept>
#include <vector>

#include "pod/pod_builder.hpp"
#include "runtime/task_result.hpp"

namespace podflow::pod {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxQuotedBytes = 1024;  // a kubelet or scheduler message, a stderr tail

// The member at `keys`, or nullptr when any step is missing or not an object.
const json* at(const json& root, std::initializer_list<const char*> keys) {
  const json* node = &root;
  for (const char* key : keys) {
    if (!node->is_object()) return nullptr;
    const auto it = node->find(key);
    if (it == node->end() || it->is_null()) return nullptr;
    node = &*it;
  }
  return node;
}

std::string text_at(const json& root, std::initializer_list<const char*> keys) {
  const json* node = at(root, keys);
  return node && node->is_string() ? node->get<std::string>() : "";
}

std::optional<std::int64_t> integer_at(const json& root, std::initializer_list<const char*> keys) {
  const json* node = at(root, keys);
  if (!node || !node->is_number_integer()) return std::nullopt;
  return node->get<std::int64_t>();
}

// The quantity as the Task wrote it (string or number), "" when absent.
std::string quantity_at(const json& root, std::initializer_list<const char*> keys) {
  const json* node = at(root, keys);
  if (!node) return "";
  if (node->is_string()) return node->get<std::string>();
  if (node->is_number()) return node->dump();
  return "";
}

// At most `bytes` bytes, not cutting a UTF-8 sequence, "..." marking a cut.
std::string bounded(const std::string& text, std::size_t bytes) {
  if (text.size() <= bytes) return text;
  std::size_t end = bytes > 3 ? bytes - 3 : 0;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end) + "...";
}

// The last `bytes` bytes, for stderr whose end says the most.
std::string last_bytes(const std::string& text, std::size_t bytes) {
  if (text.size() <= bytes) return text;
  std::size_t start = text.size() - bytes + 3;
  while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
  return "..." + text.substr(start);
}

bool contains(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

bool starts_with(const std::string& text, std::string_view prefix) {
  return text.rfind(prefix, 0) == 0;
}

// Ends a quoted message with a period so that our sentence can follow it.
std::string sentence(std::string text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\n')) text.pop_back();
  if (!text.empty() && text.back() != '.') text += '.';
  return text;
}

// The entry named `name` of the pod's status list `list` (containerStatuses,
// initContainerStatuses); nullptr when there is none.
const json* named_status(const json& pod, const char* list, std::string_view name) {
  const json* statuses = at(pod, {"status", list});
  if (!statuses || !statuses->is_array()) return nullptr;
  for (const auto& status : *statuses) {
    if (text_at(status, {"name"}) == name) return &status;
  }
  return nullptr;
}

const json* step_container_status(const json& pod) {
  if (const json* step = named_status(pod, "containerStatuses", kContainerName)) return step;
  const json* statuses = at(pod, {"status", "containerStatuses"});
  return statuses && statuses->is_array() && !statuses->empty() ? &statuses->front() : nullptr;
}

// The init container that copies podflow-runtime into the pod (PodSettings::runtime_image).
const json* runtime_install_status(const json& pod) {
  return named_status(pod, "initContainerStatuses", kRuntimeContainerName);
}

std::string runtime_image_of(const json& pod) {
  const json* containers = at(pod, {"spec", "initContainers"});
  if (!containers || !containers->is_array()) return "";
  for (const auto& container : *containers) {
    if (text_at(container, {"name"}) == kRuntimeContainerName) return text_at(container, {"image"});
  }
  return "";
}

const json* condition(const json& pod, std::string_view type) {
  const json* conditions = at(pod, {"status", "conditions"});
  if (!conditions || !conditions->is_array()) return nullptr;
  for (const auto& item : *conditions) {
    if (text_at(item, {"type"}) == type) return &item;
  }
  return nullptr;
}

}  // namespace

bool evicted_from_lost_node(const json& pod) {
  if (!at(pod, {"metadata", "deletionTimestamp"})) return false;
  const json* disruption = condition(pod, "DisruptionTarget");
  return disruption && text_at(*disruption, {"status"}) == "True" &&
         text_at(*disruption, {"reason"}) == "DeletionByTaintManager";
}

namespace {

std::string image_of(const json& pod, const json& task) {
  std::string image = text_at(task, {"spec", "image"});
  if (!image.empty()) return image;
  const json* containers = at(pod, {"spec", "containers"});
  if (containers && containers->is_array() && !containers->empty()) {
    return text_at(containers->front(), {"image"});
  }
  return "";
}

std::string pod_name(const json& pod) {
  const std::string ns = text_at(pod, {"metadata", "namespace"});
  const std::string name = text_at(pod, {"metadata", "name"});
  return ns.empty() ? name : "-n " + ns + " " + name;
}

// One requested resource of the Task, as the scheduler names it, with the field that sets it.
struct Request {
  std::string resource;  // cpu, memory, ephemeral-storage, nvidia.com/gpu
  std::string amount;
  std::string field;  // resources.cpu, ...
};

std::vector<Request> task_requests(const json& task) {
  std::vector<Request> requests;
  const std::string cpu = quantity_at(task, {"spec", "resources", "cpu"});
  const std::string memory = quantity_at(task, {"spec", "resources", "memory"});
  const std::string disk = quantity_at(task, {"spec", "resources", "disk"});
  const std::int64_t gpu = integer_at(task, {"spec", "resources", "gpu"}).value_or(0);
  if (!cpu.empty()) requests.push_back({"cpu", cpu, "resources.cpu"});
  if (!memory.empty()) requests.push_back({"memory", memory, "resources.memory"});
  if (!disk.empty()) requests.push_back({"ephemeral-storage", disk, "resources.disk"});
  if (gpu > 0) {
    std::string vendor = text_at(task, {"spec", "resources", "gpuVendor"});
    if (vendor.empty()) vendor = kDefaultGpuVendor;
    if (!contains(vendor, "/")) vendor += "/gpu";
    requests.push_back({vendor, std::to_string(gpu), "resources.gpu"});
  }
  return requests;
}

std::string join_words(const std::vector<std::string>& words) {
  std::string text;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) text += i + 1 == words.size() ? " and " : ", ";
    text += words[i];
  }
  return text;
}

// The scheduler's message, then what the step asked for that no node has, and what to change.
std::string unschedulable_message(const std::string& scheduler_message, const json& task) {
  std::string message = sentence(bounded(scheduler_message, kMaxQuotedBytes));
  const std::vector<Request> requests = task_requests(task);
  std::vector<std::string> asked, fields;
  for (const auto& request : requests) {
    if (contains(scheduler_message, "Insufficient " + request.resource)) {
      asked.push_back(request.resource + " " + request.amount);
      fields.push_back(request.field);
    }
  }
  if (!asked.empty()) {
    return message + " The step asks for " + join_words(asked) + "; lower " + join_words(fields) +
           " or add a node that big";
  }
  if (contains(scheduler_message, "node affinity/selector") ||
      contains(scheduler_message, "node(s) didn't match")) {
    std::vector<std::string> pairs;
    if (const json* selector = at(task, {"spec", "nodeSelector"});
        selector && selector->is_object()) {
      for (const auto& [key, value] : selector->items()) {
        pairs.push_back(key + "=" + (value.is_string() ? value.get<std::string>() : value.dump()));
      }
    }
    return message + " No node matches the step's nodeSelector" +
           (pairs.empty() ? "" : " (" + join_words(pairs) + ")") +
           "; fix nodeSelector or label a node to match";
  }
  if (contains(scheduler_message, "taint")) {
    return message +
           " The nodes have taints the step does not tolerate; add tolerations to the step";
  }
  if (!requests.empty()) {
    std::vector<std::string> all;
    for (const auto& request : requests) all.push_back(request.resource + " " + request.amount);
    return message + " The step asks for " + join_words(all) +
           "; lower its resources or add nodes that fit";
  }
  return message + " Waiting for the scheduler; add nodes if this lasts";
}

// The one-word reason for a failure the runtime reported.
std::string result_reason_word(const runtime::TaskResult& result) {
  if (result.status == runtime::TaskStatus::killed) return "Stopped";
  if (starts_with(result.reason, "exit code")) return "Error";
  if (starts_with(result.reason, "timed out")) return "TimedOut";
  if (starts_with(result.reason, "killed by signal")) return "Signaled";
  return "TaskError";
}

PodOutcome failed_from_result(const runtime::TaskResult& result, const json& pod,
                              const json& task) {
  PodOutcome outcome;
  outcome.phase = AttemptPhase::Failed;
  outcome.reason = result_reason_word(result);
  outcome.retryable = result.retryable;
  if (result.exitCode >= 0) outcome.exit_code = result.exitCode;
  std::string message = result.reason.empty() ? std::string("the step failed") : result.reason;
  message = bounded(message, kMaxQuotedBytes);
  if (outcome.reason == "TimedOut") {
    message += " (timeoutSeconds: " +
               std::to_string(integer_at(task, {"spec", "timeoutSeconds"}).value_or(0)) +
               "); raise timeoutSeconds or make the step faster";
  } else if (result.reason == "killed by signal 9") {
    message += "; a SIGKILL (9) is often the out-of-memory killer: raise resources.memory if so";
  }
  if (!result.stderrTail.empty()) {
    message += "; its stderr ends with:\n" + last_bytes(result.stderrTail, kMaxQuotedBytes) + "\n";
  } else {
    message += "; ";
  }
  // A local run's pod (managed by podflow itself) is deleted once read: only the datastore keeps
  // its log.
  if (text_at(pod, {"metadata", "labels", kManagedByLabel}) == kManagedByLocalRun) {
    message += "see the whole log with `podflow logs " + text_at(task, {"spec", "runtime", "run"}) +
               "/" + text_at(task, {"spec", "step"}) + "/" + text_at(task, {"spec", "taskId"}) +
               "`";
  } else {
    message += "see the whole log with `kubectl logs " + pod_name(pod) + "` or `podflow logs`";
  }
  if (!result.retryable) message += " (not retried: trying again cannot help)";
  outcome.message = std::move(message);
  return outcome;
}

std::optional<runtime::TaskResult> runtime_result(const json* container) {
  if (!container) return std::nullopt;
  const std::string text = text_at(*container, {"state", "terminated", "message"});
  if (text.empty()) return std::nullopt;
  try {
    return runtime::task_result_from_json(text);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

PodOutcome pending(const json& pod, const json& task, const json* container) {
  PodOutcome outcome;
  outcome.phase = AttemptPhase::Pending;
  const std::string waiting = container ? text_at(*container, {"state", "waiting", "reason"}) : "";
  const std::string kubelet = bounded(
      container ? text_at(*container, {"state", "waiting", "message"}) : "", kMaxQuotedBytes);
  const std::string image = image_of(pod, task);
  if (const json* install = runtime_install_status(pod)) {
    const std::string install_waiting = text_at(*install, {"state", "waiting", "reason"});
    if (install_waiting == "ImagePullBackOff" || install_waiting == "ErrImagePull" ||
        install_waiting == "ErrImageNeverPull" || install_waiting == "InvalidImageName") {
      const std::string detail =
          bounded(text_at(*install, {"state", "waiting", "message"}), kMaxQuotedBytes);
      outcome.reason = install_waiting;
      outcome.message = "cannot pull podflow's runtime image '" + runtime_image_of(pod) +
                        "' (the operator's --runtime-image, which puts podflow-runtime into "
                        "every task pod)" +
                        (detail.empty() ? "" : ": " + detail) +
                        "; fix --runtime-image (the chart's operator.runtimeImage), or give the "
                        "namespace's service account an imagePullSecret for its registry";
      return outcome;
    }
  }
  if (waiting == "ImagePullBackOff" || waiting == "ErrImagePull" ||
      waiting == "ErrImageNeverPull") {
    outcome.reason = waiting;
    outcome.message = "cannot pull image '" + image + "'" +
                      (kubelet.empty() ? "" : ": " + kubelet) +
                      "; check the step's image name and tag, and that the cluster can reach "
                      "the registry (an imagePullSecret on the service account for a private one)";
    return outcome;
  }
  if (waiting == "InvalidImageName") {
    outcome.phase = AttemptPhase::Failed;
    outcome.reason = waiting;
    outcome.retryable = false;
    outcome.message = "image '" + image + "' is not a valid image reference" +
                      (kubelet.empty() ? "" : " (" + kubelet + ")") +
                      "; fix the step's image in the flow";
    return outcome;
  }
  if (!waiting.empty() && waiting != "ContainerCreating" && waiting != "PodInitializing") {
    // CreateContainerConfigError (a missing Secret or key), CreateContainerError, ...: the
    // kubelet keeps trying, so the attempt stays Pending with its words.
    outcome.reason = waiting;
    const std::string hint = waiting == "CreateContainerConfigError"
                                 ? "create the missing Secret (or key) in namespace '" +
                                       text_at(pod, {"metadata", "namespace"}) +
                                       "' or fix the step's secrets"
                                 : "fix what it names";
    outcome.message = "the kubelet cannot start the container" +
                      (kubelet.empty() ? std::string() : ": " + kubelet) +
                      "; it keeps trying: " + hint;
    return outcome;
  }
  const json* scheduled = condition(pod, "PodScheduled");
  if (scheduled && text_at(*scheduled, {"status"}) == "False") {
    outcome.reason = text_at(*scheduled, {"reason"});
    if (outcome.reason.empty()) outcome.reason = "Unschedulable";
    outcome.message = unschedulable_message(text_at(*scheduled, {"message"}), task);
    return outcome;
  }
  if (!text_at(pod, {"spec", "nodeName"}).empty() || scheduled || container) {
    outcome.reason = "ContainerCreating";
    outcome.message = "the pod is scheduled" +
                      (text_at(pod, {"spec", "nodeName"}).empty()
                           ? std::string()
                           : " on node " + text_at(pod, {"spec", "nodeName"})) +
                      "; pulling image '" + image + "' and starting the container";
    return outcome;
  }
  outcome.reason = "Pending";
  outcome.message = "waiting for the scheduler to place the pod";
  return outcome;
}

PodOutcome failed(const json& pod, const json& task, const json* container) {
  PodOutcome outcome;
  outcome.phase = AttemptPhase::Failed;
  const std::string pod_reason = text_at(pod, {"status", "reason"});
  const std::string pod_message = bounded(text_at(pod, {"status", "message"}), kMaxQuotedBytes);
  const json* terminated = container ? at(*container, {"state", "terminated"}) : nullptr;
  if (terminated) outcome.exit_code = integer_at(*terminated, {"exitCode"});
  const std::string container_reason = terminated ? text_at(*terminated, {"reason"}) : "";

  if (pod_reason == "DeadlineExceeded") {
    std::optional<std::int64_t> timeout = integer_at(task, {"spec", "timeoutSeconds"});
    if (!timeout) timeout = integer_at(pod, {"spec", "activeDeadlineSeconds"});
    const std::string seconds = std::to_string(timeout.value_or(0));
    outcome.reason = pod_reason;
    outcome.message = "timed out after " + seconds + " s (timeoutSeconds: " + seconds +
                      "): Kubernetes stopped the pod at its deadline; raise timeoutSeconds if "
                      "the step needs longer";
    return outcome;
  }
  if (pod_reason == "Evicted") {
    outcome.reason = pod_reason;
    std::string hint = "It is retried, on a node with room";
    if (contains(pod_message, "ephemeral")) {
      hint = "If the step writes more than resources.disk, raise it";
    } else if (contains(pod_message, "memory")) {
      hint = "If the step uses more than resources.memory, raise it";
    }
    outcome.message = "evicted from node " + text_at(pod, {"spec", "nodeName"}) + ": " +
                      sentence(pod_message.empty() ? "the kubelet gave no reason" : pod_message) +
                      " " + hint;
    return outcome;
  }
  if (container_reason == "OOMKilled") {
    std::string limit = quantity_at(task, {"spec", "resources", "memory"});
    outcome.reason = container_reason;
    outcome.message = "ran out of memory: it used more than its memory limit" +
                      (limit.empty() ? std::string() : " of " + limit) + "; raise resources.memory";
    return outcome;
  }
  if (container_reason == "StartError" || container_reason == "ContainerCannotRun") {
    const std::string message = bounded(text_at(*terminated, {"message"}), kMaxQuotedBytes);
    // A command missing from the image stays missing; other start errors may be the node's.
    outcome.retryable = !contains(message, "executable file not found") &&
                        !contains(message, "no such file or directory");
    outcome.reason = container_reason;
    outcome.message = "the container could not start" + (message.empty() ? "" : ": " + message) +
                      "; the image '" + image_of(pod, task) +
                      "' must contain podflow-runtime (the operator's --runtime-command), or "
                      "run the operator with --runtime-image (the chart does), which puts it "
                      "into every pod";
    return outcome;
  }
  if (const auto result = runtime_result(container)) return failed_from_result(*result, pod, task);
  if (!terminated) {
    // Rejected before the container ran (kubelet admission: OutOfcpu, NodeAffinity, ...).
    outcome.reason = pod_reason.empty() ? "Failed" : pod_reason;
    outcome.message = (pod_message.empty()
                           ? std::string("the pod failed before its container ran")
                           : "the pod failed before its container ran: " + sentence(pod_message)) +
                      " It is retried";
    return outcome;
  }
  outcome.reason = container_reason.empty() ? "Error" : container_reason;
  const std::string tail = bounded(text_at(*terminated, {"message"}), kMaxQuotedBytes);
  outcome.message = "the container ended with exit code " +
                    std::to_string(outcome.exit_code.value_or(-1)) +
                    " without a result from podflow-runtime" +
                    (tail.empty() ? std::string() : " (its termination message: " + tail + ")") +
                    "; see `kubectl logs " + pod_name(pod) + "`";
  return outcome;
}

}  // namespace

std::string_view attempt_phase_name(AttemptPhase phase) {
  switch (phase) {
    case AttemptPhase::Pending:
      return "Pending";
    case AttemptPhase::Running:
      return "Running";
    case AttemptPhase::Succeeded:
      return "Succeeded";
    case AttemptPhase::Failed:
      break;
  }
  return "Failed";
}

PodOutcome observe_pod(const json& pod, const json& task) {
  const json* container = step_container_status(pod);
  const json* terminated = container ? at(*container, {"state", "terminated"}) : nullptr;
  const std::string phase = text_at(pod, {"status", "phase"});

  PodOutcome outcome;
  if (phase == "Succeeded" || phase == "Failed") {
    const auto result = runtime_result(container);
    if (result && result->status == runtime::TaskStatus::succeeded) {
      // The runtime committed the task, so it succeeded even if the pod then failed (a deadline
      // reached during the runtime's exit): running it again would redo committed work.
      outcome.phase = AttemptPhase::Succeeded;
      outcome.reason = "Completed";
      outcome.exit_code = result->exitCode;
      outcome.split_count = result->splitCount;
      outcome.message = result->splitCount
                            ? "succeeded with " + std::to_string(*result->splitCount) + " splits"
                            : "succeeded";
    } else if (phase == "Succeeded" && result) {
      outcome = failed_from_result(*result, pod, task);
    } else if (phase == "Succeeded") {
      const std::string text =
          terminated ? bounded(text_at(*terminated, {"message"}), 200) : std::string();
      outcome.phase = AttemptPhase::Failed;
      outcome.reason = "InvalidResult";
      outcome.retryable = false;
      if (terminated) outcome.exit_code = integer_at(*terminated, {"exitCode"});
      outcome.message =
          "the pod ended without a result from podflow-runtime: is the image's podflow-runtime "
          "the container's command?" +
          (text.empty() ? std::string(" (the termination message is empty)")
                        : " (the termination message is not a result: '" + text + "')");
    } else if (const json* install = runtime_install_status(pod);
               install && integer_at(*install, {"state", "terminated", "exitCode"}).value_or(0)) {
      // The step never started: copying podflow-runtime into the pod failed.
      outcome.phase = AttemptPhase::Failed;
      outcome.reason = "RuntimeInstallFailed";
      outcome.exit_code = integer_at(*install, {"state", "terminated", "exitCode"});
      const std::string said =
          bounded(text_at(*install, {"state", "terminated", "message"}), kMaxQuotedBytes);
      outcome.message = "the init container that copies podflow-runtime from '" +
                        runtime_image_of(pod) + "' into the pod failed (exit code " +
                        std::to_string(*outcome.exit_code) + ")" +
                        (said.empty() ? std::string() : ": " + sentence(said)) +
                        " Check that the operator's --runtime-image is podflow's image and "
                        "--runtime-command its podflow-runtime";
    } else {
      outcome = failed(pod, task, container);
    }
  } else if (phase == "Running") {
    outcome.phase = AttemptPhase::Running;
    outcome.reason = "Running";
    outcome.message = "running on node " + text_at(pod, {"spec", "nodeName"});
  } else if (phase == "Unknown") {
    // The node stopped reporting; Kubernetes decides the pod's fate, so the attempt is not over.
    outcome.phase = AttemptPhase::Running;
    outcome.reason = "NodeUnreachable";
    outcome.message = "node " + text_at(pod, {"spec", "nodeName"}) +
                      " stopped reporting the pod's state; waiting for it or for Kubernetes to "
                      "give up on it";
  } else {
    outcome = pending(pod, task, container);
  }
  if (outcome.phase == AttemptPhase::Failed && outcome.reason == "Stopped" &&
      at(pod, {"metadata", "deletionTimestamp"})) {
    // The runtime was stopped because someone deleted the pod (kubectl delete pod, a drain):
    // the step did nothing wrong, so the attempt is retried like an evicted one.
    outcome.reason = "PodDeleted";
    outcome.retryable = true;
    outcome.message =
        "the pod was deleted while the step ran (kubectl delete pod, a node drain); "
        "see its output with `kubectl logs " +
        pod_name(pod) + "` while it exists";
  }

  outcome.node_name = text_at(pod, {"spec", "nodeName"});
  outcome.start_time = text_at(pod, {"status", "startTime"});
  if (terminated) outcome.completion_time = text_at(*terminated, {"finishedAt"});
  outcome.message = bounded(outcome.message, kMaxMessageBytes);
  return outcome;
}

}  // namespace podflow::pod
