#include "pod/pod_outcome.hpp"

#include <doctest/doctest.h>

#include <string>

#include "pod/pod_builder.hpp"
#include "runtime/task_result.hpp"
#include "task_fixtures.hpp"

using nlohmann::json;
using podflow::pod::AttemptPhase;
using podflow::pod::observe_pod;
using podflow::pod::PodOutcome;
using podflow::pod::testing::full_task;
using podflow::runtime::TaskResult;
using podflow::runtime::TaskStatus;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// The pod as the API server returns it after creation, with `status`.
json pod_with_status(const json& task, const std::string& status, const std::string& node = "") {
  json pod = podflow::pod::build_pod(task, 0, {});
  pod["metadata"]["uid"] = "9f1d2c3b-0000-4000-8000-00000000abcd";
  pod["metadata"]["resourceVersion"] = "48300";
  pod["metadata"]["creationTimestamp"] = "2026-11-21T19:00:01Z";
  pod["spec"]["schedulerName"] = "default-scheduler";
  pod["spec"]["dnsPolicy"] = "ClusterFirst";
  pod["spec"]["terminationGracePeriodSeconds"] = 30;
  if (!node.empty()) pod["spec"]["nodeName"] = node;
  pod["status"] = json::parse(status);
  return pod;
}

// A terminated `step` container on node-1, as the kubelet reports it.
json terminated_pod(const json& task, const std::string& phase, int exit_code,
                    const std::string& reason, const std::string& message,
                    const std::string& pod_fields = "") {
  json terminated = {{"exitCode", exit_code},
                     {"reason", reason},
                     {"startedAt", "2026-11-21T19:00:09Z"},
                     {"finishedAt", "2026-11-21T19:05:30Z"},
                     {"containerID", "containerd://4f5e6d7c"}};
  if (!message.empty()) terminated["message"] = message;
  json status = json::parse(R"({
    "conditions": [
      {"type": "Initialized", "status": "True", "lastProbeTime": null,
       "lastTransitionTime": "2026-11-21T19:00:02Z"},
      {"type": "Ready", "status": "False", "lastProbeTime": null,
       "lastTransitionTime": "2026-11-21T19:05:31Z", "reason": "PodCompleted"},
      {"type": "PodScheduled", "status": "True", "lastProbeTime": null,
       "lastTransitionTime": "2026-11-21T19:00:02Z"}],
    "hostIP": "10.0.0.5", "podIP": "10.244.1.7", "startTime": "2026-11-21T19:00:02Z",
    "qosClass": "Burstable"})");
  status["phase"] = phase;
  if (!pod_fields.empty()) status.update(json::parse(pod_fields));
  status["containerStatuses"] = json::array({{{"name", "step"},
                                              {"state", {{"terminated", terminated}}},
                                              {"lastState", json::object()},
                                              {"ready", false},
                                              {"restartCount", 0},
                                              {"image", "docker.io/library/python:3.12"},
                                              {"imageID", "docker.io/library/python@sha256:ab"},
                                              {"started", false}}});
  return pod_with_status(task, status.dump(), "node-1");
}

json waiting_pod(const json& task, const std::string& reason, const std::string& message) {
  json status = json::parse(R"({
    "phase": "Pending",
    "conditions": [
      {"type": "Initialized", "status": "True", "lastProbeTime": null,
       "lastTransitionTime": "2026-11-21T19:00:02Z"},
      {"type": "Ready", "status": "False", "lastProbeTime": null,
       "lastTransitionTime": "2026-11-21T19:00:02Z", "reason": "ContainersNotReady",
       "message": "containers with unready status: [step]"},
      {"type": "PodScheduled", "status": "True", "lastProbeTime": null,
       "lastTransitionTime": "2026-11-21T19:00:02Z"}],
    "hostIP": "10.0.0.5", "podIP": "10.244.1.7", "startTime": "2026-11-21T19:00:02Z",
    "qosClass": "Burstable"})");
  status["containerStatuses"] =
      json::array({{{"name", "step"},
                    {"state", {{"waiting", {{"reason", reason}, {"message", message}}}}},
                    {"lastState", json::object()},
                    {"ready", false},
                    {"restartCount", 0},
                    {"image", task["spec"]["image"]},
                    {"imageID", ""},
                    {"started", false}}});
  return pod_with_status(task, status.dump(), "node-1");
}

json unschedulable_pod(const json& task, const std::string& message) {
  json status = json::parse(R"({
    "phase": "Pending",
    "conditions": [{"type": "PodScheduled", "status": "False", "lastProbeTime": null,
                    "lastTransitionTime": "2026-11-21T19:00:01Z", "reason": "Unschedulable"}],
    "qosClass": "Burstable"})");
  status["conditions"][0]["message"] = message;
  return pod_with_status(task, status.dump());
}

std::string result_json(TaskStatus status, const std::string& reason, int exit_code,
                        bool retryable = true, const std::string& stderr_tail = "") {
  TaskResult result;
  result.status = status;
  result.reason = reason;
  result.exitCode = exit_code;
  result.retryable = retryable;
  result.stderrTail = stderr_tail;
  return podflow::runtime::task_result_to_json(result);
}

}  // namespace

TEST_CASE("pod outcome: unschedulable for memory names the request and the field") {
  json task = full_task();
  task["spec"]["resources"]["memory"] = "64000M";
  const PodOutcome outcome =
      observe_pod(unschedulable_pod(task, "0/3 nodes are available: 3 Insufficient memory."), task);
  CHECK(outcome.phase == AttemptPhase::Pending);
  CHECK(outcome.reason == "Unschedulable");
  CHECK(outcome.message ==
        "0/3 nodes are available: 3 Insufficient memory. The step asks for memory 64000M; lower "
        "resources.memory or add a node that big");
  CHECK(outcome.node_name.empty());
  CHECK(outcome.start_time.empty());
}

TEST_CASE("pod outcome: unschedulable for cpu and GPU, with the preemption sentence") {
  const json task = full_task();
  const std::string scheduler =
      "0/4 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/"
      "control-plane: }, 3 Insufficient cpu, 3 Insufficient nvidia.com/gpu. preemption: 0/4 "
      "nodes are available: 1 Preemption is not helpful for scheduling, 3 No preemption victims "
      "found for incoming pod..";
  const PodOutcome outcome = observe_pod(unschedulable_pod(task, scheduler), task);
  CHECK(outcome.reason == "Unschedulable");
  CHECK(outcome.message == scheduler +
                               " The step asks for cpu 500m and nvidia.com/gpu 2; lower "
                               "resources.cpu and resources.gpu or add a node that big");
}

TEST_CASE("pod outcome: unschedulable by node selector names the selector") {
  const json task = full_task();
  const PodOutcome outcome = observe_pod(
      unschedulable_pod(task,
                        "0/3 nodes are available: 3 node(s) didn't match Pod's node "
                        "affinity/selector. preemption: 0/3 nodes are available: 3 Preemption "
                        "is not helpful for scheduling.."),
      task);
  CHECK(outcome.phase == AttemptPhase::Pending);
  CHECK(contains(outcome.message, "No node matches the step's nodeSelector (pool=gpu)"));
}

TEST_CASE("pod outcome: ImagePullBackOff and ErrImagePull stay Pending and name the image") {
  json task = full_task();
  task["spec"]["image"] = "python:3.99";
  PodOutcome outcome = observe_pod(
      waiting_pod(task, "ImagePullBackOff", "Back-off pulling image \"python:3.99\""), task);
  CHECK(outcome.phase == AttemptPhase::Pending);
  CHECK(outcome.reason == "ImagePullBackOff");
  CHECK(contains(outcome.message, "cannot pull image 'python:3.99': Back-off pulling image"));
  CHECK(contains(outcome.message, "check the step's image name and tag"));
  CHECK(outcome.node_name == "node-1");

  outcome = observe_pod(
      waiting_pod(task, "ErrImagePull",
                  "rpc error: code = NotFound desc = failed to pull and unpack image "
                  "\"docker.io/library/python:3.99\": failed to resolve reference "
                  "\"docker.io/library/python:3.99\": docker.io/library/python:3.99: not found"),
      task);
  CHECK(outcome.phase == AttemptPhase::Pending);
  CHECK(outcome.reason == "ErrImagePull");
  CHECK(contains(outcome.message, "cannot pull image 'python:3.99': rpc error"));
}

TEST_CASE("pod outcome: InvalidImageName fails without retries") {
  json task = full_task();
  task["spec"]["image"] = "Python:3.12";
  const PodOutcome outcome = observe_pod(
      waiting_pod(task, "InvalidImageName",
                  "Failed to apply default image tag \"Python:3.12\": couldn't parse image "
                  "reference \"Python:3.12\": invalid reference format: repository name must be "
                  "lowercase"),
      task);
  CHECK(outcome.phase == AttemptPhase::Failed);
  CHECK(outcome.reason == "InvalidImageName");
  CHECK_FALSE(outcome.retryable);
  CHECK(contains(outcome.message, "image 'Python:3.12' is not a valid image reference"));
  CHECK(contains(outcome.message, "repository name must be lowercase"));
}

TEST_CASE("pod outcome: CreateContainerConfigError stays Pending with the kubelet's words") {
  const json task = full_task();
  const PodOutcome outcome = observe_pod(
      waiting_pod(task, "CreateContainerConfigError", "secret \"db-credentials\" not found"), task);
  CHECK(outcome.phase == AttemptPhase::Pending);
  CHECK(outcome.reason == "CreateContainerConfigError");
  CHECK(contains(outcome.message, "secret \"db-credentials\" not found"));
  CHECK(contains(outcome.message, "namespace 'ml'"));
}

TEST_CASE("pod outcome: scheduled and pulling is ContainerCreating") {
  const json task = full_task();
  const PodOutcome outcome = observe_pod(waiting_pod(task, "ContainerCreating", ""), task);
  CHECK(outcome.phase == AttemptPhase::Pending);
  CHECK(outcome.reason == "ContainerCreating");
  CHECK(contains(outcome.message, "on node node-1"));
}

TEST_CASE("pod outcome: Running reports the node and start time") {
  const json task = full_task();
  const json pod = pod_with_status(task, R"({
    "phase": "Running",
    "conditions": [{"type": "Ready", "status": "True", "lastProbeTime": null,
                    "lastTransitionTime": "2026-11-21T19:00:09Z"},
                   {"type": "PodScheduled", "status": "True", "lastProbeTime": null,
                    "lastTransitionTime": "2026-11-21T19:00:02Z"}],
    "hostIP": "10.0.0.5", "podIP": "10.244.1.7", "startTime": "2026-11-21T19:00:02Z",
    "containerStatuses": [{"name": "step", "ready": true, "restartCount": 0, "started": true,
      "state": {"running": {"startedAt": "2026-11-21T19:00:09Z"}}, "lastState": {},
      "image": "docker.io/library/python:3.12", "imageID": "docker.io/library/python@sha256:ab",
      "containerID": "containerd://4f5e6d7c"}],
    "qosClass": "Burstable"})",
                                   "process-node-1");
  const PodOutcome outcome = observe_pod(pod, task);
  CHECK(outcome.phase == AttemptPhase::Running);
  CHECK(outcome.reason == "Running");
  CHECK(outcome.node_name == "process-node-1");
  CHECK(outcome.start_time == "2026-11-21T19:00:02Z");
  CHECK(outcome.completion_time.empty());
  CHECK(contains(outcome.message, "process-node-1"));
}

TEST_CASE("pod outcome: Succeeded foreach step reports its split count and times") {
  const json task = full_task();
  TaskResult result;
  result.status = TaskStatus::succeeded;
  result.exitCode = 0;
  result.splitCount = 100;
  result.manifest = "bigsum/bigsum-1f2e3d4c/train_model/train_model.1.3/0/manifest.json";
  const json pod = terminated_pod(task, "Succeeded", 0, "Completed",
                                  podflow::runtime::task_result_to_json(result));
  const PodOutcome outcome = observe_pod(pod, task);
  CHECK(outcome.phase == AttemptPhase::Succeeded);
  CHECK(outcome.reason == "Completed");
  CHECK(outcome.split_count == 100);
  CHECK(outcome.exit_code == 0);
  CHECK(outcome.node_name == "node-1");
  CHECK(outcome.start_time == "2026-11-21T19:00:02Z");
  CHECK(outcome.completion_time == "2026-11-21T19:05:30Z");

  const json plain = terminated_pod(task, "Succeeded", 0, "Completed",
                                    R"({"status": "succeeded", "exitCode": 0})");
  CHECK(observe_pod(plain, task).phase == AttemptPhase::Succeeded);
  CHECK_FALSE(observe_pod(plain, task).split_count.has_value());
}

TEST_CASE("pod outcome: Succeeded without a runtime result is InvalidResult, not retried") {
  const json task = full_task();
  for (const std::string message : {"", "hello from a shell entrypoint", "{\"status\": 3}"}) {
    CAPTURE(message);
    const PodOutcome outcome =
        observe_pod(terminated_pod(task, "Succeeded", 0, "Completed", message), task);
    CHECK(outcome.phase == AttemptPhase::Failed);
    CHECK(outcome.reason == "InvalidResult");
    CHECK_FALSE(outcome.retryable);
    CHECK(contains(outcome.message,
                   "the pod ended without a result from podflow-runtime: is the image's "
                   "podflow-runtime the container's command?"));
  }
}

TEST_CASE("pod outcome: DeadlineExceeded says timed out with the step's timeoutSeconds") {
  const json task = full_task();
  const json pod = terminated_pod(
      task, "Failed", 143, "Error",
      result_json(TaskStatus::killed, "stopped: podflow-runtime received SIGTERM", 143, false),
      R"({"reason": "DeadlineExceeded",
          "message": "Pod was active on the node longer than the specified deadline"})");
  const PodOutcome outcome = observe_pod(pod, task);
  CHECK(outcome.phase == AttemptPhase::Failed);
  CHECK(outcome.reason == "DeadlineExceeded");
  CHECK(outcome.retryable);
  CHECK(contains(outcome.message, "timed out after 3600 s (timeoutSeconds: 3600)"));
  CHECK(contains(outcome.message, "raise timeoutSeconds"));
}

TEST_CASE("pod outcome: a pod deleted while its step ran is PodDeleted and retried") {
  const json task = full_task();
  json pod = terminated_pod(
      task, "Failed", 143, "Error",
      result_json(TaskStatus::killed, "stopped: podflow-runtime received SIGTERM", 143, false));
  SUBCASE("without a deletionTimestamp it is the runtime's Stopped, not retried") {
    const PodOutcome outcome = observe_pod(pod, task);
    CHECK(outcome.reason == "Stopped");
    CHECK_FALSE(outcome.retryable);
  }
  SUBCASE("with one it is PodDeleted, retried") {
    pod["metadata"]["deletionTimestamp"] = "2026-11-21T22:00:00Z";
    const PodOutcome outcome = observe_pod(pod, task);
    CHECK(outcome.phase == AttemptPhase::Failed);
    CHECK(outcome.reason == "PodDeleted");
    CHECK(outcome.retryable);
    CHECK(contains(outcome.message, "the pod was deleted while the step ran"));
  }
}

TEST_CASE("pod outcome: Evicted keeps the kubelet's message and is retried") {
  const json task = full_task();
  const json pod = terminated_pod(task, "Failed", 137, "ContainerStatusUnknown", "",
                                  R"({"reason": "Evicted",
          "message": "Pod ephemeral local storage usage exceeds the total limit of containers 10240M. "})");
  const PodOutcome outcome = observe_pod(pod, task);
  CHECK(outcome.phase == AttemptPhase::Failed);
  CHECK(outcome.reason == "Evicted");
  CHECK(outcome.retryable);
  CHECK(contains(outcome.message,
                 "evicted from node node-1: Pod ephemeral local storage usage exceeds the total "
                 "limit of containers 10240M."));
  CHECK(contains(outcome.message, "10240M. If the step writes more than resources.disk, raise it"));
}

TEST_CASE("pod outcome: OOMKilled names the memory limit") {
  const json task = full_task();
  const json pod = terminated_pod(task, "Failed", 137, "OOMKilled",
                                  result_json(TaskStatus::failed, "killed by signal 9", 137));
  const PodOutcome outcome = observe_pod(pod, task);
  CHECK(outcome.phase == AttemptPhase::Failed);
  CHECK(outcome.reason == "OOMKilled");
  CHECK(outcome.retryable);
  CHECK(outcome.exit_code == 137);
  CHECK(outcome.message ==
        "ran out of memory: it used more than its memory limit of 60000M; raise resources.memory");
}

TEST_CASE("pod outcome: a failed step reports the runtime's reason, exit code and stderr") {
  const json task = full_task();
  const json pod = terminated_pod(
      task, "Failed", 1, "Error",
      result_json(TaskStatus::failed, "exit code 3", 3, true,
                  "Traceback (most recent call last):\n  File \"train.py\", line 9\nValueError: "
                  "bad learning rate"));
  const PodOutcome outcome = observe_pod(pod, task);
  CHECK(outcome.phase == AttemptPhase::Failed);
  CHECK(outcome.reason == "Error");
  CHECK(outcome.exit_code == 3);
  CHECK(outcome.retryable);
  CHECK(outcome.message.rfind("exit code 3; its stderr ends with:\nTraceback", 0) == 0);
  CHECK(contains(outcome.message, "ValueError: bad learning rate"));
  CHECK(contains(outcome.message, "kubectl logs -n ml bigsum.train-model.1.3"));
  CHECK(outcome.completion_time == "2026-11-21T19:05:30Z");
}

TEST_CASE("pod outcome: the runtime's not-retryable failures and its timeouts") {
  const json task = full_task();
  PodOutcome outcome = observe_pod(
      terminated_pod(task, "Failed", 1, "Error",
                     result_json(TaskStatus::failed,
                                 "foreach artifact 'items' is an empty list; a foreach needs at "
                                 "least one item",
                                 0, false)),
      task);
  CHECK(outcome.reason == "TaskError");
  CHECK_FALSE(outcome.retryable);
  CHECK(contains(outcome.message, "foreach artifact 'items' is an empty list"));
  CHECK(contains(outcome.message, "not retried"));

  outcome =
      observe_pod(terminated_pod(task, "Failed", 1, "Error",
                                 result_json(TaskStatus::failed, "timed out after 3600 s", 143)),
                  task);
  CHECK(outcome.reason == "TimedOut");
  CHECK(outcome.retryable);
  CHECK(contains(outcome.message, "timed out after 3600 s (timeoutSeconds: 3600)"));
}

TEST_CASE("pod outcome: a failure without a result reports the exit code and container reason") {
  const json task = full_task();
  const PodOutcome outcome = observe_pod(terminated_pod(task, "Failed", 139, "Error", ""), task);
  CHECK(outcome.phase == AttemptPhase::Failed);
  CHECK(outcome.reason == "Error");
  CHECK(outcome.exit_code == 139);
  CHECK(outcome.retryable);
  CHECK(contains(outcome.message,
                 "the container ended with exit code 139 without a result from podflow-runtime"));
}

TEST_CASE("pod outcome: an image without podflow-runtime cannot start and is not retried") {
  const json task = full_task();
  const PodOutcome outcome = observe_pod(
      terminated_pod(task, "Failed", 128, "StartError",
                     "failed to create containerd task: failed to create shim task: OCI runtime "
                     "create failed: runc create failed: unable to start container process: "
                     "exec: \"podflow-runtime\": executable file not found in $PATH: unknown"),
      task);
  CHECK(outcome.phase == AttemptPhase::Failed);
  CHECK(outcome.reason == "StartError");
  CHECK_FALSE(outcome.retryable);
  CHECK(contains(outcome.message, "executable file not found"));
  CHECK(contains(outcome.message, "image 'python:3.12' must contain podflow-runtime"));
}

// A pod with the init container that copies podflow-runtime (PodSettings::runtime_image), whose
// init container is in `state`, the step's container waiting in PodInitializing.
json installing_pod(const json& task, const std::string& phase, const json& state) {
  podflow::pod::PodSettings settings;
  settings.runtime_image = "registry.test/podflow/podflow:0.2.0";
  json pod = podflow::pod::build_pod(task, 0, settings);
  pod["spec"]["nodeName"] = "node-1";
  pod["status"] = {
      {"phase", phase},
      {"initContainerStatuses",
       json::array({{{"name", "podflow-runtime"}, {"state", state}, {"restartCount", 0}}})},
      {"containerStatuses", json::array({{{"name", "step"},
                                          {"state", {{"waiting", {{"reason", "PodInitializing"}}}}},
                                          {"restartCount", 0}}})}};
  return pod;
}

TEST_CASE("pod outcome: the runtime image cannot be pulled, or copying the runtime fails") {
  const json task = full_task();
  PodOutcome outcome = observe_pod(
      installing_pod(task, "Pending",
                     {{"waiting",
                       {{"reason", "ImagePullBackOff"},
                        {"message", "Back-off pulling image \"registry.test/podflow/podflow\""}}}}),
      task);
  CHECK(outcome.phase == AttemptPhase::Pending);
  CHECK(outcome.reason == "ImagePullBackOff");
  CHECK(contains(outcome.message,
                 "cannot pull podflow's runtime image 'registry.test/podflow/podflow:0.2.0' (the "
                 "operator's --runtime-image"));
  CHECK(contains(outcome.message, "an imagePullSecret for its registry"));

  outcome = observe_pod(installing_pod(task, "Failed",
                                       {{"terminated",
                                         {{"exitCode", 127},
                                          {"reason", "Error"},
                                          {"message", "exec: podflow-runtime: not found"}}}}),
                        task);
  CHECK(outcome.phase == AttemptPhase::Failed);
  CHECK(outcome.reason == "RuntimeInstallFailed");
  CHECK(outcome.exit_code == 127);
  CHECK(outcome.retryable);
  CHECK(contains(outcome.message,
                 "the init container that copies podflow-runtime from "
                 "'registry.test/podflow/podflow:0.2.0' into the pod failed (exit code 127): "
                 "exec: podflow-runtime: not found."));

  // Copied, the step's image is being pulled: the usual ContainerCreating.
  outcome = observe_pod(
      installing_pod(task, "Pending", {{"terminated", {{"exitCode", 0}, {"reason", "Completed"}}}}),
      task);
  CHECK(outcome.phase == AttemptPhase::Pending);
  CHECK(outcome.reason == "ContainerCreating");
}

TEST_CASE("pod outcome: a committed result wins over a pod that failed afterwards") {
  const json task = full_task();
  const json pod = terminated_pod(task, "Failed", 0, "Completed",
                                  R"({"status": "succeeded", "exitCode": 0, "splitCount": 4})",
                                  R"({"reason": "DeadlineExceeded",
          "message": "Pod was active on the node longer than the specified deadline"})");
  const PodOutcome outcome = observe_pod(pod, task);
  CHECK(outcome.phase == AttemptPhase::Succeeded);
  CHECK(outcome.split_count == 4);
}

TEST_CASE("pod outcome: messages stay bounded") {
  const json task = full_task();
  const std::string huge(100000, 'x');
  PodOutcome outcome = observe_pod(unschedulable_pod(task, huge), task);
  CHECK(outcome.message.size() <= podflow::pod::kMaxMessageBytes);

  json result = {{"status", "failed"}, {"reason", huge}, {"exitCode", 1}, {"stderrTail", huge}};
  outcome = observe_pod(terminated_pod(task, "Failed", 1, "Error", result.dump()), task);
  CHECK(outcome.reason == "TaskError");
  CHECK(outcome.message.size() <= podflow::pod::kMaxMessageBytes);

  outcome = observe_pod(waiting_pod(task, "CreateContainerConfigError", huge), task);
  CHECK(outcome.message.size() <= podflow::pod::kMaxMessageBytes);
}

TEST_CASE("pod outcome: a pod with no status yet is Pending, an unreachable node is not the end") {
  const json task = full_task();
  json pod = podflow::pod::build_pod(task, 0, {});
  PodOutcome outcome = observe_pod(pod, task);
  CHECK(outcome.phase == AttemptPhase::Pending);
  CHECK(outcome.reason == "Pending");

  pod = pod_with_status(task, R"({"phase": "Unknown", "startTime": "2026-11-21T19:00:02Z"})",
                        "node-2");
  outcome = observe_pod(pod, task);
  CHECK(outcome.phase == AttemptPhase::Running);
  CHECK(outcome.reason == "NodeUnreachable");
  CHECK(contains(outcome.message, "node-2"));
}

TEST_CASE("pod outcome: a pod evicted from a lost node is recognised, other deletions are not") {
  const json task = full_task();
  // as the API server shows a running pod after the taint-based eviction of its unreachable node
  json pod = pod_with_status(task, R"({"phase": "Running", "startTime": "2026-11-21T19:00:02Z",
    "conditions": [{"type": "Ready", "status": "False"},
                   {"type": "DisruptionTarget", "status": "True", "reason": "DeletionByTaintManager",
                    "message": "Taint manager: deleting due to NoExecute taint"}]})",
                             "real-node-1");
  CHECK_FALSE(podflow::pod::evicted_from_lost_node(pod));  // not deleted (yet)
  pod["metadata"]["deletionTimestamp"] = "2026-11-21T19:02:00Z";
  CHECK(podflow::pod::evicted_from_lost_node(pod));

  // a pod deleted by a person or a drain is waited for: its kubelet is there to stop it
  pod["status"]["conditions"][1]["reason"] = "EvictionByEvictionAPI";
  CHECK_FALSE(podflow::pod::evicted_from_lost_node(pod));
  pod["status"]["conditions"].erase(1);
  CHECK_FALSE(podflow::pod::evicted_from_lost_node(pod));
}
