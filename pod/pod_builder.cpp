#include "pod/pod_builder.hpp"

#include <set>
#include <stdexcept>

#include "flow/quantity.hpp"
#include "pod/task_names.hpp"
#include "runtime/task_spec.hpp"

namespace podflow::pod {
namespace {

using nlohmann::json;

// Reads a Task's fields, naming the Task and the field in every error.
class TaskFields {
 public:
  explicit TaskFields(const json& task) : task_(task) {
    if (!task.is_object()) throw std::invalid_argument("Task: not a JSON object");
    const json* metadata = member(task, "metadata");
    if (metadata && metadata->is_object()) {
      const json* ns = member(*metadata, "namespace");
      const json* name = member(*metadata, "name");
      if (ns && ns->is_string()) where_ = ns->get<std::string>() + "/";
      if (name && name->is_string()) where_ += name->get<std::string>();
    }
    where_ = where_.empty() ? "Task" : "Task " + where_;
  }

  [[noreturn]] void fail(const std::string& path, const std::string& problem) const {
    throw std::invalid_argument(where_ + ": field '" + path + "' " + problem);
  }

  // The member at a dotted path ("spec.resources"); nullptr when absent or null.
  const json* find(const std::string& path) const {
    const json* node = &task_;
    std::size_t start = 0;
    while (start <= path.size()) {
      const std::size_t dot = path.find('.', start);
      const std::string key =
          path.substr(start, dot == std::string::npos ? path.npos : dot - start);
      if (!node->is_object()) fail(path.substr(0, start ? start - 1 : 0), "must be an object");
      node = member(*node, key);
      if (!node) return nullptr;
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    return node;
  }

  const json& required(const std::string& path) const {
    const json* node = find(path);
    if (!node) fail(path, "is missing");
    return *node;
  }

  std::string string(const std::string& path, bool needed) const {
    const json* node = needed ? &required(path) : find(path);
    if (!node) return "";
    if (!node->is_string()) fail(path, "must be a string");
    std::string value = node->get<std::string>();
    if (needed && value.empty()) fail(path, "must not be empty");
    return value;
  }

  std::optional<std::int64_t> integer(const std::string& path) const {
    const json* node = find(path);
    if (!node) return std::nullopt;
    if (!node->is_number_integer()) fail(path, "must be an integer");
    return node->get<std::int64_t>();
  }

  const json* object(const std::string& path) const {
    const json* node = find(path);
    if (node && !node->is_object()) fail(path, "must be an object");
    return node;
  }

  const json* array(const std::string& path) const {
    const json* node = find(path);
    if (node && !node->is_array()) fail(path, "must be a list");
    return node;
  }

  // A map of strings (labels, annotations, nodeSelector): absent -> empty.
  json string_map(const std::string& path) const {
    json result = json::object();
    if (const json* node = object(path)) {
      for (const auto& [key, value] : node->items()) {
        if (!value.is_string()) fail(path + "." + key, "must be a string");
        result[key] = value;
      }
    }
    return result;
  }

  // A Kubernetes quantity: a string ("500m", "60000M") or a plain number, as the API allows.
  std::string quantity(const std::string& path) const {
    const json* node = find(path);
    if (!node) return "";
    std::string text;
    if (node->is_string()) {
      text = node->get<std::string>();
    } else if (node->is_number()) {
      text = node->dump();
    } else {
      fail(path, "must be a Kubernetes quantity string such as \"500m\" or \"4Gi\"");
    }
    if (!flow::parse_quantity(text)) {
      fail(path, "is '" + text + "', not a Kubernetes quantity (such as \"500m\" or \"4Gi\")");
    }
    return text;
  }

  const std::string& where() const { return where_; }

 private:
  static const json* member(const json& object, const std::string& key) {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) return nullptr;
    return &*it;
  }

  const json& task_;
  std::string where_;
};

json tolerations(const TaskFields& fields) {
  json result = json::array();
  const json* list = fields.array("spec.tolerations");
  if (!list) return result;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const std::string path = "spec.tolerations[" + std::to_string(i) + "]";
    const json& item = (*list)[i];
    if (!item.is_object()) fields.fail(path, "must be an object");
    json toleration = json::object();
    for (const char* key : {"key", "operator", "value", "effect"}) {
      const auto it = item.find(key);
      if (it == item.end() || it->is_null()) continue;
      if (!it->is_string()) fields.fail(path + "." + key, "must be a string");
      // Empty means the Kubernetes default (Equal, all effects), so it is left out.
      if (!it->get<std::string>().empty()) toleration[key] = *it;
    }
    const auto seconds = item.find("tolerationSeconds");
    if (seconds != item.end() && !seconds->is_null()) {
      if (!seconds->is_number_integer()) {
        fields.fail(path + ".tolerationSeconds", "must be an integer");
      }
      toleration["tolerationSeconds"] = seconds->get<std::int64_t>();
    }
    result.push_back(std::move(toleration));
  }
  return result;
}

std::vector<std::string> string_list(const TaskFields& fields, const std::string& path) {
  std::vector<std::string> result;
  if (const json* list = fields.array(path)) {
    for (std::size_t i = 0; i < list->size(); ++i) {
      const json& item = (*list)[i];
      if (!item.is_string() || item.get<std::string>().empty()) {
        fields.fail(path + "[" + std::to_string(i) + "]", "must be a non-empty string");
      }
      result.push_back(item.get<std::string>());
    }
  }
  return result;
}

json resources(const TaskFields& fields, const PodSettings& settings) {
  fields.object("spec.resources");
  const std::string cpu = fields.quantity("spec.resources.cpu");
  const std::string memory = fields.quantity("spec.resources.memory");
  const std::string disk = fields.quantity("spec.resources.disk");
  const std::int64_t gpu = fields.integer("spec.resources.gpu").value_or(0);
  if (gpu < 0) fields.fail("spec.resources.gpu", "must not be negative");
  std::string vendor = fields.string("spec.resources.gpuVendor", false);
  if (vendor.empty()) vendor = kDefaultGpuVendor;
  // "nvidia.com" names the vendor; a full resource name ("amd.com/gpu") is taken as it is.
  const std::string gpu_resource = vendor.find('/') == std::string::npos ? vendor + "/gpu" : vendor;

  const std::string qos = fields.string("spec.qos", false);
  if (!qos.empty() && qos != "Burstable" && qos != "Guaranteed") {
    fields.fail("spec.qos", "is '" + qos + "'; use Burstable or Guaranteed");
  }
  json requests = json::object();
  json limits = json::object();
  if (!cpu.empty()) {
    requests["cpu"] = cpu;
    if (settings.cpu_limits || qos == "Guaranteed") limits["cpu"] = cpu;
  }
  // Memory, disk and GPU limits equal the requests: a task that uses more than it asked for is
  // OOMKilled (or evicted) and says so, instead of starving its neighbours.
  if (!memory.empty()) requests["memory"] = limits["memory"] = memory;
  if (!disk.empty()) requests["ephemeral-storage"] = limits["ephemeral-storage"] = disk;
  if (gpu > 0) requests[gpu_resource] = limits[gpu_resource] = std::to_string(gpu);

  json result = json::object();
  if (!requests.empty()) result["requests"] = std::move(requests);
  if (!limits.empty()) result["limits"] = std::move(limits);
  return result;
}

// spec.runtime for this attempt, checked by the runtime's own parser.
std::string runtime_spec(const TaskFields& fields, std::int64_t attempt,
                         const PodSettings& settings) {
  json spec = fields.required("spec.runtime");
  spec["attempt"] = attempt;
  spec["workDir"] = settings.work_dir;
  std::string text = spec.dump(-1, ' ', false, json::error_handler_t::replace);
  try {
    runtime::task_spec_from_json(text);
  } catch (const runtime::TaskSpecError& error) {
    fields.fail("spec.runtime", std::string("is not a podflow-runtime task spec: ") + error.what());
  }
  return text;
}

// The labels that differ between a Task's members and attempts. Split path labels let `kubectl
// get pods -l` select one split or one Task's members: task `train.1.3` -> split "3",
// split-prefix "1" (step names have no '.'); no prefix label outside a nested foreach.
void set_member_labels(json& labels, const std::string& task_id, std::int64_t attempt) {
  labels[kTaskLabel] = label_value(task_id);
  labels[kAttemptLabel] = std::to_string(attempt);
  labels.erase(kSplitLabel);
  labels.erase(kSplitPrefixLabel);
  if (const auto dot = task_id.find('.'); dot != std::string::npos) {
    const std::string path = task_id.substr(dot + 1);
    const auto last = path.rfind('.');
    labels[kSplitLabel] = path.substr(last == std::string::npos ? 0 : last + 1);
    if (last != std::string::npos) labels[kSplitPrefixLabel] = path.substr(0, last);
  }
}

json env_var(const std::string& name, const std::string& value) {
  return {{"name", name}, {"value", value}};
}

// Metaflow's other @kubernetes options that become volumes: persistentVolumeClaims, shared
// memory at /dev/shm and a tmpfs (both emptyDirs of medium Memory, which count against the
// container's memory limit), with TMPDIR pointing at the tmpfs when asked.
void add_pod_options(const TaskFields& fields, json& env, json& volume_mounts, json& volumes) {
  const json claims = fields.string_map("spec.persistentVolumeClaims");
  std::size_t index = 0;
  for (const auto& [claim, path] : claims.items()) {
    const std::string volume = "pvc-" + std::to_string(index++);
    volume_mounts.push_back({{"name", volume}, {"mountPath", path}});
    volumes.push_back({{"name", volume}, {"persistentVolumeClaim", {{"claimName", claim}}}});
  }
  if (const std::string shm = fields.quantity("spec.sharedMemory"); !shm.empty()) {
    volume_mounts.push_back({{"name", "dshm"}, {"mountPath", "/dev/shm"}});
    volumes.push_back({{"name", "dshm"}, {"emptyDir", {{"medium", "Memory"}, {"sizeLimit", shm}}}});
  }
  if (fields.object("spec.tmpfs")) {
    const std::string size = fields.quantity("spec.tmpfs.size");
    const std::string path = fields.string("spec.tmpfs.path", true);
    json empty_dir = {{"medium", "Memory"}};
    if (!size.empty()) empty_dir["sizeLimit"] = size;
    volume_mounts.push_back({{"name", "tmpfs"}, {"mountPath", path}});
    volumes.push_back({{"name", "tmpfs"}, {"emptyDir", std::move(empty_dir)}});
    const json* tempdir = fields.find("spec.tmpfs.tempdir");
    if (tempdir && !tempdir->is_boolean()) fields.fail("spec.tmpfs.tempdir", "must be a boolean");
    if (!tempdir || tempdir->get<bool>()) env.push_back(env_var("TMPDIR", path));
  }
}

// Two volumes at one path make the API server refuse the pod; say which path instead.
void check_mount_paths(const TaskFields& fields, const json& volume_mounts) {
  std::set<std::string> paths;
  for (const auto& mount : volume_mounts) {
    if (!paths.insert(mount["mountPath"].get<std::string>()).second) {
      fields.fail("spec", "mounts two volumes at " + mount["mountPath"].get<std::string>() +
                              " (persistentVolumeClaims, tmpfs.path); give each its own path");
    }
  }
}

}  // namespace

json build_pod(const json& task, std::int64_t attempt, const PodSettings& settings,
               const std::optional<json>& owner) {
  const TaskFields fields(task);
  if (attempt < 0) {
    throw std::invalid_argument(fields.where() + ": attempt " + std::to_string(attempt) +
                                " is negative");
  }
  const std::string name = fields.string("metadata.name", true);
  const std::string ns = fields.string("metadata.namespace", true);
  // A Task held only in memory (a local run's cluster step) has no uid: its pod has no owner.
  const std::string uid = fields.string("metadata.uid", false);
  std::string api_version = fields.string("apiVersion", false);
  std::string kind = fields.string("kind", false);
  if (api_version.empty()) api_version = "podflow.dev/v1alpha1";
  if (kind.empty()) kind = "Task";

  fields.object("spec");
  const std::string flow_run = fields.string("spec.flowRun", true);
  const std::string step = fields.string("spec.step", true);
  const std::string task_id = fields.string("spec.taskId", true);
  const std::string image = fields.string("spec.image", true);
  if (!fields.object("spec.runtime")) {
    fields.fail("spec.runtime", "is missing (the podflow-runtime task spec)");
  }
  const std::string flow = fields.string("spec.runtime.flow", true);
  const std::string service_account = fields.string("spec.serviceAccount", false);
  const std::optional<std::int64_t> timeout = fields.integer("spec.timeoutSeconds");
  if (timeout && *timeout <= 0) fields.fail("spec.timeoutSeconds", "must be positive");
  const std::string task_json = runtime_spec(fields, attempt, settings);

  // The step's labels first, so that the operator's own (which it selects pods by) always win.
  json labels = json::object();
  const json step_labels = fields.string_map("spec.labels");
  for (const auto& [key, value] : step_labels.items()) {
    labels[key] = label_value(value.get<std::string>());
  }
  labels[kFlowLabel] = label_value(flow);
  labels[kRunLabel] = label_value(flow_run);
  labels[kStepLabel] = label_value(step);
  labels[kManagedByLabel] = settings.managed_by;
  set_member_labels(labels, task_id, attempt);

  json metadata = {
      {"name", name},
      {"namespace", ns},
      {"labels", std::move(labels)},
  };
  if (owner) {
    // A member of an operator's Task: its pod is owned by that Task, named after the member.
    metadata["ownerReferences"] = json::array({*owner});
  } else if (!uid.empty()) {
    metadata["ownerReferences"] = json::array({{{"apiVersion", api_version},
                                                {"kind", kind},
                                                {"name", name},
                                                {"uid", uid},
                                                {"controller", true},
                                                {"blockOwnerDeletion", true}}});
  }
  json annotations = fields.string_map("spec.annotations");
  // `kubectl logs <task>` picks the step's container without a notice about the init container.
  if (!settings.runtime_image.empty()) {
    annotations["kubectl.kubernetes.io/default-container"] = kContainerName;
  }
  if (!annotations.empty()) metadata["annotations"] = std::move(annotations);

  json env =
      json::array({env_var("PODFLOW_TASK", task_json), env_var("PODFLOW_STEP_IMAGE", image)});
  json volume_mounts = json::array({{{"name", kWorkVolume}, {"mountPath", settings.work_dir}}});
  json volumes = json::array({{{"name", kWorkVolume}, {"emptyDir", json::object()}}});
  if (!settings.s3_endpoint.empty())
    env.push_back(env_var("PODFLOW_S3_ENDPOINT", settings.s3_endpoint));
  if (!settings.s3_region.empty()) env.push_back(env_var("AWS_REGION", settings.s3_region));
  if (!settings.s3_credentials_secret.empty()) {
    env.push_back(env_var("PODFLOW_S3_CREDENTIALS_DIR", kS3CredentialsDir));
    volume_mounts.push_back(
        {{"name", kS3CredentialsVolume}, {"mountPath", kS3CredentialsDir}, {"readOnly", true}});
    volumes.push_back({{"name", kS3CredentialsVolume},
                       {"secret", {{"secretName", settings.s3_credentials_secret}}}});
  }
  add_pod_options(fields, env, volume_mounts, volumes);
  std::set<std::string> env_names;
  for (const auto& variable : env) env_names.insert(variable["name"].get<std::string>());
  for (const auto& [variable, value] : settings.extra_env) {
    if (!env_names.insert(variable).second) {
      throw std::invalid_argument("operator setting extra_env: '" + variable +
                                  "' is set by the operator itself or twice; remove it");
    }
    env.push_back(env_var(variable, value));
  }

  // Pod Security "restricted", for both containers.
  json container_security = {{"allowPrivilegeEscalation", false},
                             {"capabilities", {{"drop", json::array({"ALL"})}}}};
  if (settings.read_only_root_filesystem) {
    container_security["readOnlyRootFilesystem"] = true;
    volume_mounts.push_back({{"name", kTmpVolume}, {"mountPath", "/tmp"}});
    volumes.push_back({{"name", kTmpVolume}, {"emptyDir", json::object()}});
  }
  const json container_resources = resources(fields, settings);
  std::string runtime_program = settings.runtime_command;
  json init_containers = json::array();
  if (!settings.runtime_image.empty()) {
    runtime_program = std::string(kRuntimeDir) + "/podflow-runtime";
    volume_mounts.push_back(
        {{"name", kRuntimeVolume}, {"mountPath", kRuntimeDir}, {"readOnly", true}});
    volumes.push_back({{"name", kRuntimeVolume}, {"emptyDir", json::object()}});
    // The step's resources: the pod's effective request (the larger of the two) and its QoS
    // class stay what the step asked for.
    init_containers.push_back({
        {"name", kRuntimeContainerName},
        {"image", settings.runtime_image},
        {"command", json::array({settings.runtime_command, "--install", kRuntimeDir})},
        {"resources", container_resources},
        {"volumeMounts", json::array({{{"name", kRuntimeVolume}, {"mountPath", kRuntimeDir}}})},
        {"terminationMessagePolicy", "FallbackToLogsOnError"},
        {"securityContext", container_security},
    });
  }

  check_mount_paths(fields, volume_mounts);
  json container = {
      {"name", kContainerName},
      {"image", image},
      {"command", json::array({runtime_program})},
      {"env", std::move(env)},
      {"resources", container_resources},
      {"volumeMounts", std::move(volume_mounts)},
      {"terminationMessagePath", "/dev/termination-log"},
      {"terminationMessagePolicy", "File"},
      {"securityContext", container_security},
  };
  const std::vector<std::string> secrets = string_list(fields, "spec.secrets");
  if (!secrets.empty()) {
    json env_from = json::array();
    for (const auto& secret : secrets) env_from.push_back({{"secretRef", {{"name", secret}}}});
    container["envFrom"] = std::move(env_from);
  }

  json spec = {
      {"restartPolicy", "Never"},
      {"enableServiceLinks", false},
      {"securityContext",
       {{"runAsNonRoot", true},
        {"runAsUser", settings.run_as_user},
        {"runAsGroup", settings.run_as_user},
        {"fsGroup", settings.run_as_user},
        {"seccompProfile", {{"type", "RuntimeDefault"}}}}},
      {"containers", json::array({std::move(container)})},
      {"volumes", std::move(volumes)},
  };
  if (!init_containers.empty()) spec["initContainers"] = std::move(init_containers);
  if (timeout) spec["activeDeadlineSeconds"] = *timeout;
  // A step does not talk to the API server unless its flow gives it an account to do so.
  if (service_account.empty()) {
    spec["automountServiceAccountToken"] = false;
  } else {
    spec["serviceAccountName"] = service_account;
  }
  if (const auto port = fields.integer("spec.port")) {
    if (*port < 1 || *port > 65535) fields.fail("spec.port", "must be from 1 to 65535");
    spec["containers"][0]["ports"] = json::array({{{"containerPort", *port}, {"protocol", "TCP"}}});
  }
  if (const std::string priority = fields.string("spec.priorityClassName", false);
      !priority.empty()) {
    spec["priorityClassName"] = priority;
  }
  json node_selector = fields.string_map("spec.nodeSelector");
  if (!node_selector.empty()) spec["nodeSelector"] = std::move(node_selector);
  json toleration_list = tolerations(fields);
  if (!toleration_list.empty()) spec["tolerations"] = std::move(toleration_list);

  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", std::move(metadata)},
          {"spec", std::move(spec)}};
}

json member_pod(const json& pod, const std::string& name, const std::string& task_id,
                std::int64_t attempt, const std::string& runtime_task) {
  json copy = pod;
  copy["metadata"]["name"] = name;
  set_member_labels(copy["metadata"]["labels"], task_id, attempt);
  for (auto& variable : copy["spec"]["containers"][0]["env"]) {
    if (variable.value("name", "") == "PODFLOW_TASK") variable["value"] = runtime_task;
  }
  return copy;
}

}  // namespace podflow::pod
