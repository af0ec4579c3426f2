#include "cli/kubernetes_resume.hpp"

#include <iostream>
#include <map>
#include <optional>

#include "cli/flow_file.hpp"
#include "cli/kube_session.hpp"
#include "cli/kubernetes_run.hpp"
#include "cli/run_history.hpp"
#include "flow/defaults.hpp"
#include "flow/lint.hpp"
#include "flow/yaml_value.hpp"
#include "kube/kube_config.hpp"

namespace podflow::cli {
namespace {

using nlohmann::json;

// The FlowRun named `run`, or the one whose status.runId is `run`.
std::optional<json> find_run(kube::Client& client, const std::string& namespace_,
                             const std::string& run) {
  if (auto named = client.get(flowruns_resource(), namespace_, run)) return named;
  for (auto& candidate : client.list_all(flowruns_resource(), namespace_).items) {
    if (candidate.value("status", json::object()).value("runId", "") == run) return candidate;
  }
  return std::nullopt;
}

// spec.parameters of a FlowRun as a map.
std::map<std::string, std::string> parameter_map(const json& spec) {
  std::map<std::string, std::string> values;
  for (const auto& parameter : spec.value("parameters", json::array())) {
    values[parameter.value("name", "")] = parameter.value("value", "");
  }
  return values;
}

}  // namespace

int resume_on_kubernetes(const KubernetesResume& resume) {
  const sigset_t signals = interrupt_signals();
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  try {
    kube::Client client(kube::load_default_config());
    const std::string namespace_ =
        namespace_or_default(client, resume.with.overrides.value("namespace", ""));
    std::optional<json> earlier;
    try {
      earlier = find_run(client, namespace_, resume.run);
    } catch (const kube::KubeError& error) {
      if (!kube::is_not_found(error)) throw;
      std::cerr << "podflow resume: this cluster (" << client.config().server
                << ") has no podflow CRDs, so no run " << resume.run << " to resume\n";
      return 1;
    }
    if (!earlier) {
      std::cerr << "podflow resume: no FlowRun named " << resume.run << " or with run id "
                << resume.run << " in namespace " << namespace_
                << "; `podflow list --kubernetes -n " << namespace_
                << "` lists the runs there (--with kubernetes:namespace=NS picks another)\n";
      return 1;
    }
    const std::string earlier_name = (*earlier)["metadata"].value("name", "");
    const json earlier_spec = earlier->value("spec", json::object());
    const json status = earlier->value("status", json::object());
    const std::string run_id = status.value("runId", "");
    const std::string flow_name = status.value("flowName", "");
    const std::string phase = status.value("phase", "Pending");
    if (run_id.empty() || !status.contains("flow")) {
      std::cerr << "podflow resume: FlowRun " << earlier_name << " never started (phase " << phase
                << "), so it has no tasks to reuse; `kubectl describe flowrun " << earlier_name
                << " -n " << namespace_
                << "` says why; fix that and run the flow again (podflow run FLOW --with "
                   "kubernetes)\n";
      return 1;
    }
    if (phase != "Succeeded" && phase != "Failed") {
      std::cerr << "podflow resume: FlowRun " << earlier_name << " (run " << run_id << ") is still "
                << phase << "; resume it once it has ended, or stop it first (podflow kill "
                << earlier_name << " -n " << namespace_ << ")\n";
      return 1;
    }

    // The flow: the file given with --flow (the Metaflow way: fix the code, resume), else the
    // snapshot the earlier run executed.
    json document;
    json run_spec = json::object();
    if (!resume.flow_path.empty()) {
      const LoadedFlow loaded = load_flow_file(resume.flow_path);
      if (!loaded.flow) {
        for (const auto& message : loaded.messages) std::cerr << message << "\n";
        return 1;
      }
      if (loaded.flow->name != flow_name) {
        std::cerr << "podflow resume: run " << run_id << " is a run of flow " << flow_name
                  << ", and " << resume.flow_path << " is flow " << loaded.flow->name
                  << "; a run resumes only with its own flow: pass that flow's file with --flow\n";
        return 1;
      }
      document = flow::flow_document_json(loaded.text);
      run_spec["flowRef"] = {{"name", flow_name}};
    } else {
      document = {{"apiVersion", std::string(flow::defaults::kApiVersion)},
                  {"kind", "Flow"},
                  {"metadata", {{"name", flow_name}}},
                  {"spec", status["flow"]}};
      run_spec["flow"] = status["flow"];
      run_spec["flowName"] = flow_name;
    }
    flow::ValidationResult validated = flow::validate_flow(document.dump());
    if (!validated.flow) {
      for (const auto& diagnostic : validated.diagnostics) {
        std::cerr << "podflow resume: the flow of run " << run_id << ": " << diagnostic.message
                  << "\n";
      }
      return 1;
    }

    RunOptions options = resume.options;
    keep_earlier_parameters(options.parameters, parameter_map(earlier_spec));
    if (!resume.max_workers_given) {
      options.max_workers = earlier_spec.value("maxWorkers", options.max_workers);
    }
    if (!resume.max_num_splits_given) {
      options.max_num_splits = earlier_spec.value("maxNumSplits", options.max_num_splits);
    }
    // The earlier run's overrides, with --with kubernetes:... settings on top.
    json overrides = earlier_spec.value("overrides", json::object());
    overrides.merge_patch(resume.with.overrides);
    std::map<std::string, std::string> parameters;
    bool usable = check_run_options(*validated.flow, options, parameters);
    if (!check_overrides(document, overrides)) usable = false;
    if (!usable) return 1;

    if (!resume.flow_path.empty() && !apply_flow(client, namespace_, document)) return 1;
    run_spec["maxWorkers"] = options.max_workers;
    run_spec["maxNumSplits"] = options.max_num_splits;
    if (!overrides.empty()) run_spec["overrides"] = overrides;
    if (!options.parameters.empty()) run_spec["parameters"] = parameter_list(options.parameters);
    run_spec["resumeFrom"] = run_id;
    std::cerr << "podflow: resuming run " << run_id << " (FlowRun " << earlier_name << ", " << phase
              << "): its successful tasks are reused\n";
    return create_and_follow(client, namespace_, flow_name, run_spec, resume.detach, signals);
  } catch (const std::exception& error) {
    std::cerr << "podflow resume: " << error.what() << "\n";
    return 1;
  }
}

}  // namespace podflow::cli
