#include "pod/pod_builder.hpp"

#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "runtime/task_spec.hpp"
#include "task_fixtures.hpp"

using nlohmann::json;
using podflow::pod::build_pod;
using podflow::pod::member_pod;
using podflow::pod::PodSettings;
using podflow::pod::testing::full_task;
using podflow::pod::testing::minimal_task;

namespace {

const json& env_value(const json& pod, const std::string& name) {
  for (const auto& variable : pod["spec"]["containers"][0]["env"]) {
    if (variable["name"] == name) return variable["value"];
  }
  static const json absent;
  return absent;
}

std::string build_error(const json& task, std::int64_t attempt = 0,
                        const PodSettings& settings = {}) {
  try {
    build_pod(task, attempt, settings);
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("pod builder: a full Task, every field where docs/api.md puts it") {
  PodSettings settings;
  settings.s3_endpoint = "http://minio.podflow-system:9000";
  settings.s3_region = "us-east-1";
  settings.s3_credentials_secret = "podflow-s3";
  settings.extra_env = {{"PODFLOW_S3_CA_BUNDLE", "/etc/podflow/ca.pem"}};
  json pod = build_pod(full_task(), 2, settings);

  // PODFLOW_TASK is compared on its own below: the rest must be exactly this.
  const std::string task_text = env_value(pod, "PODFLOW_TASK").get<std::string>();
  pod["spec"]["containers"][0]["env"][0]["value"] = "<task>";
  const json expected = json::parse(R"({
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
      "name": "bigsum.train-model.1.3",
      "namespace": "ml",
      "labels": {
        "team": "ml",
        "purpose": "nightly-retraining-of-the-recommendation-model--all-91f36e1fca",
        "podflow.dev/flow": "bigsum",
        "podflow.dev/run": "bigsum",
        "podflow.dev/step": "train_model",
        "podflow.dev/task": "train_model.1.3",
        "podflow.dev/split": "3",
        "podflow.dev/split-prefix": "1",
        "podflow.dev/attempt": "2",
        "app.kubernetes.io/managed-by": "podflow-operator"
      },
      "annotations": {"owner": "ana@example.com"},
      "ownerReferences": [{"apiVersion": "podflow.dev/v1alpha1", "kind": "Task",
                           "name": "bigsum.train-model.1.3",
                           "uid": "6b1c9a2e-53f1-4f0e-9d3c-2b7c1f0e8a11",
                           "controller": true, "blockOwnerDeletion": true}]
    },
    "spec": {
      "restartPolicy": "Never",
      "activeDeadlineSeconds": 3600,
      "serviceAccountName": "trainer",
      "enableServiceLinks": false,
      "nodeSelector": {"pool": "gpu"},
      "tolerations": [
        {"key": "gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoExecute",
         "tolerationSeconds": 300},
        {"key": "spot"}
      ],
      "securityContext": {"runAsNonRoot": true, "runAsUser": 65532, "runAsGroup": 65532,
                          "fsGroup": 65532, "seccompProfile": {"type": "RuntimeDefault"}},
      "containers": [{
        "name": "step",
        "image": "python:3.12",
        "command": ["podflow-runtime"],
        "env": [
          {"name": "PODFLOW_TASK", "value": "<task>"},
          {"name": "PODFLOW_STEP_IMAGE", "value": "python:3.12"},
          {"name": "PODFLOW_S3_ENDPOINT", "value": "http://minio.podflow-system:9000"},
          {"name": "AWS_REGION", "value": "us-east-1"},
          {"name": "PODFLOW_S3_CREDENTIALS_DIR", "value": "/var/run/podflow/s3"},
          {"name": "PODFLOW_S3_CA_BUNDLE", "value": "/etc/podflow/ca.pem"}
        ],
        "envFrom": [{"secretRef": {"name": "db-credentials"}}, {"secretRef": {"name": "wandb"}}],
        "resources": {
          "requests": {"cpu": "500m", "memory": "60000M", "ephemeral-storage": "10240M",
                       "nvidia.com/gpu": "2"},
          "limits": {"memory": "60000M", "ephemeral-storage": "10240M", "nvidia.com/gpu": "2"}
        },
        "volumeMounts": [
          {"name": "work", "mountPath": "/podflow/work"},
          {"name": "s3-credentials", "mountPath": "/var/run/podflow/s3", "readOnly": true}
        ],
        "terminationMessagePath": "/dev/termination-log",
        "terminationMessagePolicy": "File",
        "securityContext": {"allowPrivilegeEscalation": false,
                            "capabilities": {"drop": ["ALL"]}}
      }],
      "volumes": [
        {"name": "work", "emptyDir": {}},
        {"name": "s3-credentials", "secret": {"secretName": "podflow-s3"}}
      ]
    }
  })");
  INFO("differences (JSON patch from expected to built): " << json::diff(expected, pod).dump());
  CHECK(pod == expected);

  // The task spec is spec.runtime for attempt 2 in the work volume, and the runtime accepts it.
  json runtime = full_task()["spec"]["runtime"];
  runtime["attempt"] = 2;
  runtime["workDir"] = "/podflow/work";
  CHECK(json::parse(task_text) == runtime);
  const auto spec = podflow::runtime::task_spec_from_json(task_text);
  CHECK(spec.attempt == 2);
  CHECK(spec.workDir == "/podflow/work");
  CHECK(spec.task == "train_model.1.3");
}

TEST_CASE("pod builder: the operator's settings: command, work dir, user, cpu limits") {
  PodSettings settings;
  settings.runtime_command = "/opt/podflow/bin/podflow-runtime";
  settings.work_dir = "/scratch";
  settings.run_as_user = 1000;
  settings.cpu_limits = true;
  const json pod = build_pod(full_task(), 0, settings);
  const json& container = pod["spec"]["containers"][0];
  CHECK(container["command"] == json::array({"/opt/podflow/bin/podflow-runtime"}));
  CHECK(container["volumeMounts"] == json::parse(R"([{"name": "work", "mountPath": "/scratch"}])"));
  CHECK(json::parse(env_value(pod, "PODFLOW_TASK").get<std::string>())["workDir"] == "/scratch");
  CHECK(json::parse(env_value(pod, "PODFLOW_TASK").get<std::string>())["attempt"] == 0);
  CHECK(pod["metadata"]["labels"]["podflow.dev/attempt"] == "0");
  // Guaranteed QoS: every limit equals its request, cpu included.
  CHECK(container["resources"]["limits"] == container["resources"]["requests"]);
  CHECK(container["resources"]["limits"]["cpu"] == "500m");
  CHECK(pod["spec"]["securityContext"]["runAsUser"] == 1000);
  CHECK(pod["spec"]["securityContext"]["runAsGroup"] == 1000);
  CHECK(pod["spec"]["securityContext"]["fsGroup"] == 1000);
  // No S3 settings: only the task spec and the image's name in the environment, only the work
  // volume, and no init container (no runtime image: the step's image has the runtime).
  CHECK(container["env"].size() == 2);
  CHECK(env_value(pod, "PODFLOW_STEP_IMAGE") == "python:3.12");
  CHECK(pod["spec"]["volumes"].size() == 1);
  CHECK_FALSE(pod["spec"].contains("initContainers"));
}

TEST_CASE("pod builder: a runtime image puts podflow-runtime into any step image") {
  PodSettings settings;
  settings.runtime_image = "registry.example.com/podflow/podflow:0.2.0";
  settings.read_only_root_filesystem = true;
  settings.s3_credentials_secret = "podflow-s3";
  const json pod = build_pod(full_task(), 1, settings);
  const json security = json::parse(R"({"allowPrivilegeEscalation": false,
      "capabilities": {"drop": ["ALL"]}, "readOnlyRootFilesystem": true})");
  // The init container copies the runtime into an emptyDir, with the step's resources so that
  // the pod's request and QoS class are the step's.
  const json& step = pod["spec"]["containers"][0];
  const json expected_init = {
      {"name", "podflow-runtime"},
      {"image", "registry.example.com/podflow/podflow:0.2.0"},
      {"command", json::array({"podflow-runtime", "--install", "/podflow/bin"})},
      {"resources", step["resources"]},
      {"volumeMounts",
       json::parse(R"([{"name": "podflow-runtime", "mountPath": "/podflow/bin"}])")},
      {"terminationMessagePolicy", "FallbackToLogsOnError"},
      {"securityContext", security},
  };
  REQUIRE(pod["spec"]["initContainers"].size() == 1);
  INFO("differences: " << json::diff(expected_init, pod["spec"]["initContainers"][0]).dump());
  CHECK(pod["spec"]["initContainers"][0] == expected_init);
  // kubectl logs <task> shows the step's container, not the init container.
  CHECK(pod["metadata"]["annotations"]["kubectl.kubernetes.io/default-container"] == "step");
  // The step's container runs the copy, mounted read-only; its image is the flow's.
  CHECK(step["image"] == "python:3.12");
  CHECK(step["command"] == json::array({"/podflow/bin/podflow-runtime"}));
  CHECK(step["securityContext"] == security);
  CHECK(step["volumeMounts"] == json::parse(R"([
      {"name": "work", "mountPath": "/podflow/work"},
      {"name": "s3-credentials", "mountPath": "/var/run/podflow/s3", "readOnly": true},
      {"name": "tmp", "mountPath": "/tmp"},
      {"name": "podflow-runtime", "mountPath": "/podflow/bin", "readOnly": true}])"));
  CHECK(pod["spec"]["volumes"] == json::parse(R"([
      {"name": "work", "emptyDir": {}},
      {"name": "s3-credentials", "secret": {"secretName": "podflow-s3"}},
      {"name": "tmp", "emptyDir": {}},
      {"name": "podflow-runtime", "emptyDir": {}}])"));
}

TEST_CASE("pod builder: GPUs of another vendor, the default vendor and no GPU") {
  json task = full_task();
  task["spec"]["resources"]["gpuVendor"] = "amd.com";
  json resources = build_pod(task, 0, {})["spec"]["containers"][0]["resources"];
  CHECK(resources["requests"]["amd.com/gpu"] == "2");
  CHECK(resources["limits"]["amd.com/gpu"] == "2");
  CHECK_FALSE(resources["requests"].contains("nvidia.com/gpu"));

  task["spec"]["resources"].erase("gpuVendor");
  task["spec"]["resources"]["gpu"] = 1;
  resources = build_pod(task, 0, {})["spec"]["containers"][0]["resources"];
  CHECK(resources["requests"]["nvidia.com/gpu"] == "1");

  task["spec"]["resources"]["gpu"] = 0;
  resources = build_pod(task, 0, {})["spec"]["containers"][0]["resources"];
  CHECK(resources == json::parse(R"({
    "requests": {"cpu": "500m", "memory": "60000M", "ephemeral-storage": "10240M"},
    "limits": {"memory": "60000M", "ephemeral-storage": "10240M"}})"));
}

TEST_CASE("pod builder: a minimal Task mounts no service-account token and sets nothing optional") {
  const json pod = build_pod(minimal_task(), 0, {});
  const json& spec = pod["spec"];
  CHECK(spec["automountServiceAccountToken"] == false);
  CHECK_FALSE(spec.contains("serviceAccountName"));
  CHECK_FALSE(spec.contains("activeDeadlineSeconds"));
  CHECK_FALSE(spec.contains("nodeSelector"));
  CHECK_FALSE(spec.contains("tolerations"));
  CHECK_FALSE(pod["metadata"].contains("annotations"));
  CHECK_FALSE(spec["containers"][0].contains("envFrom"));
  CHECK(spec["containers"][0]["resources"] == json::object());
  CHECK(spec["enableServiceLinks"] == false);
  CHECK(pod["metadata"]["labels"] == json::parse(R"({
    "podflow.dev/flow": "hello", "podflow.dev/run": "hello", "podflow.dev/step": "start",
    "podflow.dev/task": "start", "podflow.dev/attempt": "0",
    "app.kubernetes.io/managed-by": "podflow-operator"})"));
}

TEST_CASE("pod builder: the operator's labels win over the step's, long values are hashed") {
  json task = full_task();
  task["spec"]["labels"]["podflow.dev/run"] = "someone-else";
  task["spec"]["labels"]["app.kubernetes.io/managed-by"] = "helm";
  json labels = build_pod(task, 1, {})["metadata"]["labels"];
  CHECK(labels["podflow.dev/run"] == "bigsum");
  CHECK(labels["app.kubernetes.io/managed-by"] == "podflow-operator");

  // A FlowRun name may be longer than a label value.
  task["spec"]["flowRun"] = std::string(70, 'r');
  labels = build_pod(task, 1, {})["metadata"]["labels"];
  const std::string run = labels["podflow.dev/run"].get<std::string>();
  CHECK(run.size() == 63);
  CHECK(run.rfind(std::string(52, 'r') + "-", 0) == 0);
}

TEST_CASE("pod builder: a malformed Task is refused naming the field") {
  json task = full_task();
  task["spec"].erase("runtime");
  CHECK(build_error(task) ==
        "Task ml/bigsum.train-model.1.3: field 'spec.runtime' is missing (the podflow-runtime "
        "task spec)");

  task = minimal_task();
  task["spec"]["runtime"] = "{}";
  CHECK(contains(build_error(task), "field 'spec.runtime' must be an object"));

  task = full_task();
  task["spec"]["resources"]["cpu"] = true;
  CHECK(contains(build_error(task), "field 'spec.resources.cpu' must be a Kubernetes quantity"));

  task = full_task();
  task["spec"]["resources"]["memory"] = "lots";
  CHECK(contains(build_error(task), "field 'spec.resources.memory' is 'lots', not a Kubernetes"));

  task = full_task();
  task["spec"]["tolerations"][1]["tolerationSeconds"] = "300";
  CHECK(contains(build_error(task), "field 'spec.tolerations[1].tolerationSeconds' must be an"));

  task = full_task();
  task["spec"]["secrets"] = "db-credentials";
  CHECK(contains(build_error(task), "field 'spec.secrets' must be a list"));

  task = full_task();
  task["spec"]["labels"]["team"] = 7;
  CHECK(contains(build_error(task), "field 'spec.labels.team' must be a string"));

  task = full_task();
  task["spec"]["timeoutSeconds"] = 0;
  CHECK(contains(build_error(task), "field 'spec.timeoutSeconds' must be positive"));

  task = full_task();
  task["spec"]["image"] = "";
  CHECK(contains(build_error(task), "field 'spec.image' must not be empty"));

  // What the runtime itself would refuse fails here, before a pod exists.
  task = full_task();
  task["spec"]["runtime"].erase("command");
  const std::string runtime_error = build_error(task);
  CHECK(contains(runtime_error, "field 'spec.runtime' is not a podflow-runtime task spec"));
  CHECK(contains(runtime_error, "command"));

  CHECK(contains(build_error(full_task(), -1), "attempt -1 is negative"));
  CHECK(contains(build_error(json::array()), "not a JSON object"));
}

TEST_CASE("pod builder: operator-wide env may not replace the operator's own variables") {
  PodSettings settings;
  settings.extra_env = {{"PODFLOW_TASK", "{}"}};
  CHECK(contains(build_error(full_task(), 0, settings), "'PODFLOW_TASK' is set by the operator"));
  settings.s3_region = "eu-west-1";
  settings.extra_env = {{"AWS_REGION", "us-east-1"}};
  CHECK_THROWS_AS(build_pod(full_task(), 0, settings), std::invalid_argument);
}

TEST_CASE("pod builder: Metaflow's other @kubernetes options shape the pod") {
  json task = full_task();
  task["spec"]["persistentVolumeClaims"] = {{"datasets", "/data"}, {"model-cache", "/cache"}};
  task["spec"]["sharedMemory"] = "512M";
  task["spec"]["tmpfs"] = {{"size", "1Gi"}, {"path", "/scratch"}, {"tempdir", true}};
  task["spec"]["qos"] = "Guaranteed";
  task["spec"]["port"] = 8080;
  task["spec"]["priorityClassName"] = "batch-low";
  const json pod = build_pod(task, 0, PodSettings{});
  const json& container = pod["spec"]["containers"][0];
  CHECK(pod["spec"]["priorityClassName"] == "batch-low");
  CHECK(container["ports"] == json::parse(R"([{"containerPort": 8080, "protocol": "TCP"}])"));
  // Guaranteed for this step alone: cpu limit = request, without the operator's --cpu-limits.
  CHECK(container["resources"]["limits"]["cpu"] == "500m");
  CHECK(env_value(pod, "TMPDIR") == "/scratch");
  CHECK(container["volumeMounts"] == json::parse(R"([
      {"name": "work", "mountPath": "/podflow/work"},
      {"name": "pvc-0", "mountPath": "/data"},
      {"name": "pvc-1", "mountPath": "/cache"},
      {"name": "dshm", "mountPath": "/dev/shm"},
      {"name": "tmpfs", "mountPath": "/scratch"}])"));
  CHECK(pod["spec"]["volumes"] == json::parse(R"([
      {"name": "work", "emptyDir": {}},
      {"name": "pvc-0", "persistentVolumeClaim": {"claimName": "datasets"}},
      {"name": "pvc-1", "persistentVolumeClaim": {"claimName": "model-cache"}},
      {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "512M"}},
      {"name": "tmpfs", "emptyDir": {"medium": "Memory", "sizeLimit": "1Gi"}}])"));

  // tempdir false: no TMPDIR; two volumes at one path: refused, naming the path.
  task["spec"]["tmpfs"]["tempdir"] = false;
  CHECK_FALSE(build_pod(task, 0, PodSettings{})["spec"]["containers"][0]["env"].dump().find(
                  "TMPDIR") != std::string::npos);
  task["spec"]["tmpfs"]["path"] = "/data";
  CHECK_THROWS_WITH_AS(build_pod(task, 0, PodSettings{}),
                       doctest::Contains("mounts two volumes at /data"), std::invalid_argument);
  task["spec"]["tmpfs"]["path"] = "/scratch";
  task["spec"]["qos"] = "BestEffort";
  CHECK_THROWS_WITH_AS(build_pod(task, 0, PodSettings{}), doctest::Contains("spec.qos"),
                       std::invalid_argument);
}

// The ownerReference of a member's pod: the operator's Task of its step and split prefix.
json member_owner() {
  return {{"apiVersion", "podflow.dev/v1alpha1"},
          {"kind", "Task"},
          {"name", "bigsum.train-model.1"},
          {"uid", "1234"},
          {"controller", true},
          {"blockOwnerDeletion", true}};
}

TEST_CASE("pod builder: a member's pod is owned by the Task given as its owner") {
  json task = full_task();
  task["metadata"].erase("uid");
  const json owner = member_owner();
  const json pod = build_pod(task, 0, PodSettings{}, owner);
  CHECK(pod["metadata"]["ownerReferences"] == json::array({owner}));
  CHECK(pod["metadata"]["name"] == "bigsum.train-model.1.3");
  // A foreach member outside a nested foreach: no prefix label; a step outside any: no labels.
  task["spec"]["taskId"] = "train_model.7";
  const json labels = build_pod(task, 0, PodSettings{})["metadata"]["labels"];
  CHECK(labels["podflow.dev/split"] == "7");
  CHECK_FALSE(labels.contains("podflow.dev/split-prefix"));
  task["spec"]["taskId"] = "train_model";
  CHECK_FALSE(
      build_pod(task, 0, PodSettings{})["metadata"]["labels"].contains("podflow.dev/split"));
}

TEST_CASE("pod builder: a member's pod from another member's is the one build_pod makes") {
  PodSettings settings;
  settings.s3_endpoint = "http://minio:9000";
  const json owner = member_owner();
  const json template_pod = build_pod(full_task(), 0, settings, owner);
  json other = full_task();
  other["metadata"]["name"] = "bigsum.train-model.1.42";
  other["spec"]["taskId"] = "train_model.1.42";
  other["spec"]["runtime"]["task"] = "train_model.1.42";
  const json expected = build_pod(other, 3, settings, owner);
  const std::string runtime_task = env_value(expected, "PODFLOW_TASK").get<std::string>();
  const json built =
      member_pod(template_pod, "bigsum.train-model.1.42", "train_model.1.42", 3, runtime_task);
  CHECK(built == expected);
}

TEST_CASE("pod builder: a Task held in memory (no uid) makes a pod with no owner") {
  json task = full_task();
  task["metadata"].erase("uid");
  PodSettings settings;
  settings.managed_by = "podflow";
  const json pod = build_pod(task, 0, settings);
  CHECK_FALSE(pod["metadata"].contains("ownerReferences"));
  CHECK(pod["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "podflow");
  CHECK(pod["metadata"]["name"] == task["metadata"]["name"]);
}
