#include "pod/task_spec.hpp"

namespace podflow::pod {

using nlohmann::json;

namespace {

json tolerations_json(const std::vector<flow::Toleration>& tolerations) {
  json list = json::array();
  for (const auto& toleration : tolerations) {
    json entry = json::object();
    if (!toleration.key.empty()) entry["key"] = toleration.key;
    if (!toleration.operator_.empty()) entry["operator"] = toleration.operator_;
    if (!toleration.value.empty()) entry["value"] = toleration.value;
    if (!toleration.effect.empty()) entry["effect"] = toleration.effect;
    if (toleration.tolerationSeconds) entry["tolerationSeconds"] = *toleration.tolerationSeconds;
    list.push_back(entry);
  }
  return list;
}

}  // namespace

json task_spec(const flow::FlowSpec& flow, const flow::FlowGraph& graph,
               const flow::PlannedTask& task, const runtime::RunContext& context,
               const TaskSpecInputs& inputs) {
  const flow::GraphNode& node = graph.node(task.step);
  const auto settings = flow::effective_settings(flow, *node.step, context.overrides);
  runtime::TaskSpec runtime_spec = runtime::make_task_spec(flow, graph, task, context);
  runtime_spec.workDir = inputs.work_dir;

  json resources = {{"cpu", settings.cpu.text},
                    {"memory", settings.memory.text},
                    {"disk", settings.disk.text},
                    {"gpu", settings.gpu}};
  if (!settings.gpuVendor.empty()) resources["gpuVendor"] = settings.gpuVendor;
  json spec = {
      {"flowRun", inputs.flow_run},
      {"step", node.step->name},
      {"taskId", task.id},
      {"image", settings.image.empty() ? inputs.default_image : settings.image},
      {"resources", resources},
      {"timeoutSeconds", settings.timeoutSeconds},
      {"retry", {{"times", settings.retryTimes}, {"delaySeconds", settings.retryDelaySeconds}}},
      {"secrets", settings.secrets},
      {"nodeSelector", settings.nodeSelector},
      {"tolerations", tolerations_json(settings.tolerations)},
      {"labels", settings.labels},
      {"annotations", settings.annotations},
      {"runtime", json::parse(runtime::task_spec_to_json(runtime_spec))}};
  if (!settings.serviceAccount.empty()) spec["serviceAccount"] = settings.serviceAccount;
  if (!settings.persistentVolumeClaims.empty()) {
    spec["persistentVolumeClaims"] = settings.persistentVolumeClaims;
  }
  if (settings.sharedMemory) spec["sharedMemory"] = settings.sharedMemory->text;
  if (settings.tmpfs) {
    spec["tmpfs"] = {{"size", settings.tmpfsSize.text},
                     {"path", settings.tmpfsPath},
                     {"tempdir", settings.tmpfsTempdir}};
  }
  if (settings.qos != "Burstable") spec["qos"] = settings.qos;
  if (settings.port) spec["port"] = *settings.port;
  if (!settings.priorityClassName.empty()) spec["priorityClassName"] = settings.priorityClassName;
  return spec;
}

}  // namespace podflow::pod
