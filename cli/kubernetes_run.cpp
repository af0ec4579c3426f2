#include "cli/kubernetes_run.hpp"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <thread>

#include "cli/flow_file.hpp"
#include "cli/kube_session.hpp"
#include "flow/lint.hpp"
#include "flow/yaml_value.hpp"
#include "kube/kube_client.hpp"
#include "kube/kube_config.hpp"
#include "pod/task_names.hpp"

namespace podflow::cli {
namespace {

using nlohmann::json;

constexpr int kExitInterrupted = 130;

std::string condition_message(const json& run, const std::string& type) {
  // A FlowRun the operator has not seen yet has no status at all.
  const json status = run.value("status", json::object());
  for (const auto& condition : status.value("conditions", json::array())) {
    if (condition.value("type", "") == type) return condition.value("message", "");
  }
  return "";
}

}  // namespace

sigset_t interrupt_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  return signals;
}

bool check_overrides(const json& document, const json& overrides) {
  if (overrides.empty()) return true;
  // The overrides read like spec.defaults: check them with the flow's own decoder.
  json probe = document;
  probe["spec"]["defaults"] = overrides;
  bool usable = true;
  for (const auto& diagnostic : flow::validate_flow(probe.dump()).diagnostics) {
    std::cerr << "podflow: --with kubernetes: " << diagnostic.message << "\n";
    usable = false;
  }
  return usable;
}

bool apply_flow(kube::Client& client, const std::string& namespace_, json document) {
  document["metadata"]["namespace"] = namespace_;
  document["metadata"].erase("resourceVersion");
  kube::ApplyOptions apply;
  apply.field_manager = "podflow-cli";
  apply.force = true;
  try {
    client.apply(flows_resource(), namespace_, document["metadata"].value("name", ""), document,
                 apply);
  } catch (const kube::KubeError& error) {
    if (!kube::is_not_found(error)) throw;
    std::cerr << "podflow: this cluster (" << client.config().server
              << ") has no podflow CRDs: install podflow (helm install podflow charts/podflow, "
                 "or kubectl apply -f crds/ and run podflow-operator)\n";
    return false;
  }
  return true;
}

json parameter_list(const std::vector<std::string>& assignments) {
  json assigned = json::array();
  for (const auto& assignment : assignments) {
    const auto equals = assignment.find('=');
    assigned.push_back(
        {{"name", assignment.substr(0, equals)}, {"value", assignment.substr(equals + 1)}});
  }
  return assigned;
}

int run_on_kubernetes(const RunOptions& options, const WithOptions& with, bool detach) {
  const LoadedFlow loaded = load_flow_file(options.flow_path);
  if (!loaded.flow) {
    for (const auto& message : loaded.messages) std::cerr << message << "\n";
    return 1;
  }
  const flow::FlowSpec& flow = *loaded.flow;
  std::map<std::string, std::string> parameters;  // checked here; the operator resolves them again
  bool usable = check_run_options(flow, options, parameters);
  const json document = flow::flow_document_json(loaded.text);
  if (!check_overrides(document, with.overrides)) usable = false;
  if (!usable) return 1;

  // Blocked before the client starts its threads, so every thread leaves Ctrl-C to sigtimedwait.
  const sigset_t signals = interrupt_signals();
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  try {
    kube::Client client(kube::load_default_config());
    std::string namespace_ = with.overrides.value("namespace", "");
    if (namespace_.empty()) namespace_ = flow.defaults.namespace_.value_or("");
    if (namespace_.empty()) namespace_ = flow.namespace_;
    if (namespace_.empty()) namespace_ = client.config().default_namespace;
    if (!apply_flow(client, namespace_, document)) return 1;

    json run_spec = {{"flowRef", {{"name", flow.name}}},
                     {"maxWorkers", options.max_workers},
                     {"maxNumSplits", options.max_num_splits}};
    if (!with.overrides.empty()) run_spec["overrides"] = with.overrides;
    if (!options.parameters.empty()) run_spec["parameters"] = parameter_list(options.parameters);
    return create_and_follow(client, namespace_, flow.name, run_spec, detach, signals);
  } catch (const std::exception& error) {
    std::cerr << "podflow: " << error.what() << "\n";
    return 1;
  }
}

int create_and_follow(kube::Client& client, const std::string& namespace_,
                      const std::string& flow_name, const json& spec, bool detach,
                      const sigset_t& signals) {
  const std::string user = current_kube_user(client);
  const json run_object = {{"apiVersion", flowruns_resource().api_version()},
                           {"kind", "FlowRun"},
                           {"metadata",
                            {{"generateName", flow_name + "-"},
                             {"namespace", namespace_},
                             {"labels",
                              {{"podflow.dev/flow", pod::label_value(flow_name)},
                               {"podflow.dev/user", pod::label_value(user)}}},
                             {"annotations", {{"podflow.dev/user", user}}}}},
                           {"spec", spec}};
  const json created = client.create(flowruns_resource(), namespace_, run_object);
  const std::string name = created["metadata"]["name"];
  std::cerr << "podflow: FlowRun " << namespace_ << "/" << name << " created by " << user << "\n";
  if (detach) {
    std::cout << name << "\n";
    return 0;
  }

  std::string last_line;
  while (true) {
    timespec wait{1, 0};
    if (sigtimedwait(&signals, nullptr, &wait) > 0) {
      std::cerr << "podflow: interrupted: deleting FlowRun " << name << " (its tasks are killed)\n";
      kube::DeleteOptions remove;
      remove.propagation = kube::PropagationPolicy::background;
      client.remove(flowruns_resource(), namespace_, name, remove);
      return kExitInterrupted;
    }
    const auto run = client.get(flowruns_resource(), namespace_, name);
    if (!run) {
      std::cerr << "podflow: FlowRun " << name << " was deleted\n";
      return 1;
    }
    const json status = run->value("status", json::object());
    const json tasks = status.value("tasks", json::object());
    const std::string phase = status.value("phase", "Pending");
    std::string line = phase + ": " + std::to_string(tasks.value("succeeded", 0)) + "/" +
                       std::to_string(tasks.value("total", 0)) + " tasks done, " +
                       (tasks.value("cloned", 0) > 0
                            ? std::to_string(tasks.value("cloned", 0)) + " of them reused, "
                            : std::string()) +
                       std::to_string(tasks.value("running", 0)) + " running, " +
                       std::to_string(tasks.value("pending", 0)) + " pending";
    const std::string waiting = condition_message(*run, "Running");
    if (phase == "Running" && !waiting.empty()) line += " (" + waiting + ")";
    if (phase == "Pending") {
      const std::string invalid = condition_message(*run, "Valid");
      if (!invalid.empty()) line += ": " + invalid;
    }
    if (line != last_line) {
      std::cerr << "podflow: " << name << " " << line << "\n";
      last_line = line;
    }
    if (phase == "Succeeded") {
      std::cerr << "podflow: run " << name << " succeeded (artifacts and logs under "
                << status.value("datastore", "") << "/" << status.value("flowName", "") << "/"
                << status.value("runId", "") << "; podflow logs " << name << "/end)\n";
      std::cout << name << "\n";
      return 0;
    }
    if (phase == "Failed") {
      std::string message = condition_message(*run, "Failed");
      if (message.empty()) message = condition_message(*run, "Valid");
      std::cerr << "podflow: run " << name << " failed: " << message << "\n";
      if (!status.value("runId", "").empty()) {
        std::cerr << "podflow: fix it and resume: podflow resume " << name
                  << " --with kubernetes:namespace=" << namespace_ << "\n";
      }
      std::cout << name << "\n";
      return 1;
    }
  }
}

}  // namespace podflow::cli
