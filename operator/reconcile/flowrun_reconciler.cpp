#include "operator/reconcile/flowrun_reconciler.hpp"

#include <chrono>
#include <future>
#include <utility>

#include "flow/parameters.hpp"
#include "kube/kube_log.hpp"
#include "kube/kube_time.hpp"
#include "operator/reconcile/api_resources.hpp"
#include "operator/reconcile/author_rights.hpp"
#include "operator/reconcile/conditions.hpp"
#include "operator/reconcile/flow_document.hpp"
#include "operator/reconcile/run_resume.hpp"
#include "pod/task_names.hpp"
#include "pod/task_spec.hpp"

namespace podflow::reconcile {
namespace {

using nlohmann::json;

std::string now() {
  return kube::format_time(std::chrono::system_clock::now());
}

std::int64_t generation_of(const json& object) {
  return object["metadata"].value("generation", std::int64_t{1});
}

std::string task_phase(const json& task) {
  const std::string phase = task.contains("status") ? task["status"].value("phase", "") : "";
  return phase.empty() ? "Pending" : phase;
}

// spec.overrides is written like spec.defaults: decode it with the flow's own decoder by putting it
// in the defaults of a copy of the flow.
struct DecodedOverrides {
  flow::StepSettings settings;
  std::vector<std::string> problems;
};

DecodedOverrides decode_overrides(const std::string& flow_name, const json& flow_spec,
                                  const json& run_spec) {
  DecodedOverrides decoded;
  if (!run_spec.contains("overrides")) return decoded;
  json copy = flow_spec;
  copy["defaults"] = run_spec["overrides"];
  DecodedFlow with_overrides = decode_flow_spec(flow_name, copy);
  if (!with_overrides.flow) {
    for (auto& problem : with_overrides.problems) {
      decoded.problems.push_back("spec.overrides: " + problem);
    }
    return decoded;
  }
  decoded.settings = with_overrides.flow->defaults;
  return decoded;
}

std::vector<std::string> parameter_assignments(const json& run_spec) {
  std::vector<std::string> assignments;
  for (const auto& parameter : run_spec.value("parameters", json::array())) {
    assignments.push_back(parameter.value("name", "") + "=" + parameter.value("value", ""));
  }
  return assignments;
}

}  // namespace

std::vector<std::string> FlowRunReconciler::runs_referencing(const std::string& flow_key) const {
  const auto [namespace_, name] = kube::split_key(flow_key);
  std::vector<std::string> keys;
  for (const auto& run : context_.flowruns.list(namespace_)) {
    const json& spec = (*run)["spec"];
    if (spec.contains("flowRef") && spec["flowRef"].value("name", "") == name &&
        !(run->contains("status") && (*run)["status"].contains("flow"))) {
      keys.push_back(kube::object_key(*run));
    }
  }
  return keys;
}

void FlowRunReconciler::write_status(const json& run, const json& status) {
  json patch_status = status;
  patch_status.erase("flow");  // written once, by start_run; never resent
  const json stored = context_.client.merge_patch_status(
      flowruns(), kube::namespace_of(run), kube::name_of(run), {{"status", patch_status}});
  writes_.wrote(kube::object_key(run), kube::resource_version_of(run),
                kube::resource_version_of(stored));
}

std::optional<json> FlowRunReconciler::start_run(const json& run) {
  const json& spec = run["spec"];
  const std::string namespace_ = kube::namespace_of(run);
  const std::string name = kube::name_of(run);
  const std::int64_t generation = generation_of(run);
  json status = run.value("status", json::object());
  const std::string time = now();

  auto refuse = [&](const std::string& phase, const std::string& reason,
                    const std::string& message) -> std::optional<json> {
    json updated = status;
    updated["phase"] = phase;
    updated["observedGeneration"] = generation;
    set_condition(updated["conditions"], {"Valid", false, reason, message}, generation, time);
    if (phase == "Failed") {
      set_condition(updated["conditions"], {"Failed", true, reason, message}, generation, time);
      updated["completionTime"] = time;
    }
    if (updated != status) {
      write_status(run, updated);
      context_.events.record(run, kube::EventType::warning, reason, message);
    }
    return std::nullopt;
  };

  const OperatorSettings& settings = context_.settings;
  if (!settings.allow_operator_namespace && !settings.operator_namespace.empty() &&
      namespace_ == settings.operator_namespace) {
    // Its pods could run as the operator's own ServiceAccount, which may create pods anywhere.
    return refuse("Failed", "OperatorNamespace",
                  "namespace '" + namespace_ +
                      "' is the operator's own: runs there could act with the operator's "
                      "identity; create the FlowRun in a namespace of its own (or, if every "
                      "user of this namespace is an admin, start the operator with "
                      "--allow-operator-namespace: chart value security.allowOperatorNamespace)");
  }

  json flow_spec;
  std::string flow_name;
  bool from_reference = false;
  if (spec.contains("flow")) {
    flow_spec = spec["flow"];
    flow_name = spec.value("flowName", name);
  } else if (spec.contains("flowRef")) {
    from_reference = true;
    flow_name = spec["flowRef"].value("name", "");
    kube::ObjectPtr flow = context_.flows.get(kube::make_key(namespace_, flow_name));
    if (!flow) {
      // `kubectl apply -f` of a Flow and its FlowRun: the run's event can beat the Flow's.
      if (auto fresh = context_.client.get(reconcile::flows(), namespace_, flow_name)) {
        flow = std::make_shared<const json>(std::move(*fresh));
      }
    }
    if (!flow) {
      return refuse("Pending", "FlowNotFound",
                    "Flow '" + flow_name + "' not found in namespace '" + namespace_ +
                        "'; apply it (kubectl apply -f flow.yaml) or correct spec.flowRef.name");
    }
    flow_spec = (*flow)["spec"];
  } else {
    return refuse("Failed", "InvalidSpec", "spec needs flowRef (a Flow's name) or flow (a spec)");
  }

  DecodedFlow decoded = decode_flow_spec(flow_name, flow_spec);
  if (!decoded.flow) {
    // A referenced Flow can still be fixed (the run starts then); an inline spec cannot change.
    const std::string message = join_problems(decoded.problems);
    if (from_reference) {
      return refuse(
          "Pending", "Invalid",
          "Flow '" + flow_name + "' is invalid; the run starts when it is fixed:\n" + message);
    }
    return refuse("Failed", "Invalid", message);
  }
  DecodedOverrides overrides = decode_overrides(flow_name, flow_spec, spec);
  std::vector<std::string> problems = overrides.problems;
  for (auto& problem :
       flow::resolve_parameters(*decoded.flow, parameter_assignments(spec)).problems) {
    problems.push_back(std::move(problem));
  }
  for (const auto& step : decoded.flow->steps) {
    const auto effective = flow::effective_settings(*decoded.flow, step, overrides.settings);
    if (!effective.namespace_.empty() && effective.namespace_ != namespace_) {
      problems.push_back("step '" + step.name + "': namespace '" + effective.namespace_ +
                         "' differs from the FlowRun's namespace '" + namespace_ +
                         "'; a run's tasks run in its namespace: create the FlowRun in '" +
                         effective.namespace_ + "' or remove the setting");
    }
  }
  if (!problems.empty()) return refuse("Failed", "Invalid", join_problems(problems));

  // The author may get no more through the run than by creating its pods themselves: checked
  // here, on the flow the run will execute (a referenced Flow may have been written by another
  // user), as the user the admission policies recorded.
  const std::optional<Author> author = recorded_author(run);
  // The API server must answer each check; when it cannot (e.g. the operator lacks RBAC for
  // LocalSubjectAccessReviews), the run says why and the error retries the reconcile with backoff.
  auto ask = [&](const std::string& where, const std::vector<Right>& rights) {
    try {
      return missing_rights(context_.client, *author, where, rights);
    } catch (const kube::KubeError& error) {
      refuse("Pending", "AuthorCheckFailed",
             std::string("cannot check the rights of the FlowRun's creator: ") + error.what() +
                 "; the operator needs create on localsubjectaccessreviews.authorization.k8s.io "
                 "(the chart's RBAC has it); retrying");
      throw;
    }
  };
  if (settings.check_author_rights) {
    if (!author) {
      return refuse(
          "Failed", "AuthorUnknown",
          std::string("the FlowRun has no ") + kAuthorAnnotation +
              " annotation, so the operator cannot check that its creator may use the "
              "flow's Secrets, ServiceAccounts and node placement; install the "
              "chart's admission policies (security.admissionPolicies=true; check with kubectl "
              "get mutatingadmissionpolicies,validatingadmissionpolicies) and create "
              "the FlowRun again, or start the operator with --author-checks=false on a "
              "cluster whose users are all trusted");
    }
    const auto missing =
        ask(namespace_, rights_needed(*decoded.flow, overrides.settings, namespace_,
                                      settings.placement_requires_grant));
    if (!missing.empty()) {
      return refuse("Failed", "Forbidden",
                    join_problems(missing) +
                        "\nGrant the missing rights (or remove the "
                        "settings from the flow) and create the FlowRun again");
    }
  }
  const std::string origin = spec.value("resumeFrom", "");
  if (!origin.empty() && !settings.datastore_per_namespace) {
    // One datastore for all namespaces: resume only a run of this namespace, or of one whose
    // FlowRun the author may read. (With --datastore-per-namespace the origin is looked up under
    // this namespace's own prefix only.)
    std::string elsewhere;
    bool here = false;
    for (const auto& other : context_.flowruns.list()) {
      if (!other->contains("status") || (*other)["status"].value("runId", "") != origin) continue;
      if (kube::namespace_of(*other) == namespace_) {
        here = true;
      } else if (elsewhere.empty()) {
        elsewhere = kube::namespace_of(*other) + "/" + kube::name_of(*other);
      }
    }
    if (!here && !elsewhere.empty()) {
      const auto [other_namespace, other_name] = kube::split_key(elsewhere);
      const Right read{"get",
                       "podflow.dev",
                       "flowruns",
                       other_name,
                       "spec.resumeFrom names run " + origin + " of FlowRun " + elsewhere,
                       "kubectl create role ... --verb=get --resource=flowruns.podflow.dev -n " +
                           other_namespace};
      const bool allowed = author && ask(other_namespace, {read}).empty();
      if (!allowed) {
        return refuse("Failed", "ResumeFromForbidden",
                      "spec.resumeFrom names run " + origin + " of namespace " + other_namespace +
                          ", whose FlowRuns " + (author ? author->user : "the creator") +
                          " may not read; resume a run of namespace " + namespace_ +
                          ", or get read access to FlowRun " + elsewhere +
                          " and create the FlowRun again");
      }
    }
  }

  status["flow"] = flow_spec;
  status["flowName"] = flow_name;
  status["runId"] = name + "-" + kube::uid_of(run).substr(0, 8);
  std::string datastore = settings.datastore;
  if (settings.datastore_per_namespace) {
    while (!datastore.empty() && datastore.back() == '/') datastore.pop_back();
    datastore += "/" + namespace_;
  }
  status["datastore"] = datastore;
  status["startTime"] = time;
  status["phase"] = "Running";
  status["observedGeneration"] = generation;
  set_condition(status["conditions"], {"Valid", true, "Valid", ""}, generation, time);
  set_condition(status["conditions"], {"Running", true, "Started", ""}, generation, time);
  json updated = run;
  updated["status"] = status;
  // A PUT with the cached resourceVersion: two writers can never snapshot two different flows.
  json stored = context_.client.replace_status(flowruns(), namespace_, name, updated);
  writes_.wrote(kube::object_key(run), kube::resource_version_of(run),
                kube::resource_version_of(stored));
  context_.events.record(
      run, kube::EventType::normal, "Started",
      "run " + status["runId"].get<std::string>() + " of flow " + flow_name + " started");
  return stored;
}

void FlowRunReconciler::task_changed(const kube::CacheEvent& event) {
  for (const json* task : {event.object.get(), event.old_object.get()}) {
    if (!task || !task->contains("metadata") || !(*task)["metadata"].contains("ownerReferences")) {
      continue;
    }
    for (const auto& reference : (*task)["metadata"]["ownerReferences"]) {
      note_change(reference.value("uid", ""), event.key);
    }
  }
}

void FlowRunReconciler::pod_changed(const kube::CacheEvent& event) {
  {
    std::lock_guard lock(changes_mutex_);
    if (changes_.empty()) return;
  }
  const json& pod = *event.object;
  if (!pod.contains("metadata") || !pod["metadata"].contains("ownerReferences")) return;
  for (const auto& reference : pod["metadata"]["ownerReferences"]) {
    if (reference.value("kind", "") != "Task") continue;
    // The Task's run: a pod's change before its Task is in the cache is read with the Task's.
    const std::string task_key =
        kube::make_key(kube::namespace_of(pod), reference.value("name", ""));
    const kube::ObjectPtr task = context_.tasks.get(task_key);
    if (!task || !(*task)["metadata"].contains("ownerReferences")) continue;
    for (const auto& owner : (*task)["metadata"]["ownerReferences"]) {
      note_change(owner.value("uid", ""), task_key);
    }
  }
}

void FlowRunReconciler::note_change(const std::string& run_uid, const std::string& task_key) {
  std::lock_guard lock(changes_mutex_);
  auto found = changes_.find(run_uid);
  if (found != changes_.end()) found->second.insert(task_key);
}

void FlowRunReconciler::note_changes_of(const std::string& uid) {
  std::lock_guard lock(changes_mutex_);
  changes_[uid];
}

void FlowRunReconciler::stop_noting_changes_of(const std::string& uid) {
  std::lock_guard lock(changes_mutex_);
  changes_.erase(uid);
}

std::set<std::string> FlowRunReconciler::take_changes_of(const std::string& uid) {
  std::lock_guard lock(changes_mutex_);
  auto found = changes_.find(uid);
  if (found == changes_.end()) return {};
  return std::exchange(found->second, {});
}

void FlowRunReconciler::forget_run(const std::string& key) {
  std::shared_ptr<RunState> state;
  {
    std::lock_guard lock(mutex_);
    auto found = states_.find(key);
    if (found == states_.end()) return;
    state = found->second;
    states_.erase(found);
  }
  stop_noting_changes_of(state->uid);
}

std::shared_ptr<FlowRunReconciler::RunState> FlowRunReconciler::existing_state(
    const std::string& key, const std::string& uid) {
  std::lock_guard lock(mutex_);
  auto found = states_.find(key);
  if (found != states_.end() && found->second->uid == uid) return found->second;
  return nullptr;
}

void FlowRunReconciler::observe_task(RunState& state, const std::string& task_key,
                                     const kube::ObjectPtr& task, bool restored) {
  if (auto seen = state.unfinished.find(task_key); seen != state.unfinished.end()) {
    state.running -= seen->second.running;
    state.starting -= seen->second.starting;
    state.waiting -= seen->second.waiting;
    state.unfinished.erase(seen);
  }
  if (!task || !owned_by(*task, state.uid)) return;  // deleted (a final one stays counted)
  state.expected.erase(kube::name_of(*task));
  const std::string phase = task_phase(*task);
  static const json kNoStatus = json::object();
  const json& task_status = task->contains("status") ? (*task)["status"] : kNoStatus;
  if (!is_terminal_phase(phase)) {
    RunState::Unfinished counts;
    if (phase == "Running") {
      counts.running = true;
    } else {
      // A Task is not written Running for its first seconds: its pod says.
      const kube::ObjectPtr pod = context_.pods.get(task_key);
      const std::string pod_phase = !pod                      ? ""
                                    : pod->contains("status") ? (*pod)["status"].value("phase", "")
                                                              : "";
      counts.running = pod_phase == "Running";
      counts.starting = pod_phase.empty() || pod_phase == "Pending";
      const std::string reason = task_status.value("reason", "");
      // Only what needs a person shows on the run: not the ordinary moments of a pod's start.
      counts.waiting = !(reason.empty() || reason == "Pending" || reason == "CreatingPod" ||
                         reason == "ContainerCreating");
    }
    state.running += counts.running;
    state.starting += counts.starting;
    state.waiting += counts.waiting;
    state.unfinished.emplace(task_key, counts);
    return;
  }
  const std::string id = task->contains("spec") ? (*task)["spec"].value("taskId", "") : "";
  if (!state.recorded.insert(id).second) return;  // counted before
  const bool succeeded = phase == "Succeeded";
  ++(succeeded ? state.succeeded : state.failed);
  if (restored && succeeded) return;
  flow::TaskOutcome outcome;
  outcome.id = id;
  outcome.attempt = task_status.value("attempt", std::int64_t{0});
  outcome.succeeded = succeeded;
  if (task_status.contains("splitCount")) {
    outcome.split_count = task_status["splitCount"].get<std::int64_t>();
  }
  outcome.retryable = false;
  outcome.reason = task_status.value("message", task_status.value("reason", ""));
  outcome.final_attempt = true;
  for (auto& next : state.planner->record(outcome)) state.ready.push_back(std::move(next));
}

std::shared_ptr<FlowRunReconciler::RunState> FlowRunReconciler::new_state(
    const json& run, const std::vector<kube::ObjectPtr>& tasks) {
  const std::string key = kube::object_key(run);
  const std::string uid = kube::uid_of(run);
  const json& status = run["status"];
  const json& spec = run["spec"];
  const std::string flow_name = status.value("flowName", "");
  DecodedFlow decoded = decode_flow_spec(flow_name, status["flow"]);
  DecodedOverrides overrides = decode_overrides(flow_name, status["flow"], spec);
  if (!decoded.flow || !overrides.problems.empty()) {
    // Only an operator whose linter changed under a running run gets here.
    auto problems = decoded.problems;
    problems.insert(problems.end(), overrides.problems.begin(), overrides.problems.end());
    throw std::runtime_error("the flow snapshot in status.flow does not validate: " +
                             join_problems(problems));
  }
  auto state = std::make_shared<RunState>();
  state->uid = uid;
  state->flow = std::move(*decoded.flow);
  state->planner = std::make_unique<flow::Planner>(state->flow, overrides.settings);
  runtime::RunContext& context = state->run_context;
  context.datastore = status.value("datastore", context_.settings.datastore);
  context.run = status.value("runId", "");
  for (const auto& [name, value] :
       flow::resolve_parameters(state->flow, parameter_assignments(spec)).values) {
    context.parameters.push_back({name, value});
  }
  context.overrides = overrides.settings;
  context.graceSeconds = context_.settings.grace_seconds;
  context.maxNumSplits = spec.value("maxNumSplits", std::int64_t{100});
  state->max_workers = spec.value("maxWorkers", std::int64_t{16});

  // Rebuild what the planner knew: the successes replay the run; failures are recorded by the
  // reconcile loop like any new outcome.
  std::vector<flow::TaskOutcome> successes;
  for (const auto& task : tasks) {
    if (task_phase(*task) != "Succeeded") continue;
    const json& task_status = (*task)["status"];
    flow::TaskOutcome outcome;
    outcome.id = (*task)["spec"].value("taskId", "");
    outcome.attempt = task_status.value("attempt", std::int64_t{0});
    outcome.succeeded = true;
    if (task_status.contains("splitCount")) {
      outcome.split_count = task_status["splitCount"].get<std::int64_t>();
    }
    outcome.final_attempt = true;
    successes.push_back(outcome);
  }
  // A resumed run (spec.resumeFrom) starts from the tasks its origin run committed, too.
  std::vector<flow::TaskOutcome> cloned = clone_resumed_tasks(run, state->flow, tasks);
  state->cloned = static_cast<std::int64_t>(cloned.size());
  successes.insert(successes.end(), cloned.begin(), cloned.end());
  for (auto& task : state->planner->restore(successes)) state->ready.push_back(std::move(task));
  // Count them, and give the planner the failures (recorded like any new outcome).
  for (const auto& task : tasks) observe_task(*state, kube::object_key(*task), task, true);
  std::shared_ptr<RunState> replaced;  // an earlier FlowRun of the same name
  {
    std::lock_guard lock(mutex_);
    replaced = std::exchange(states_[key], state);
  }
  if (replaced && replaced->uid != uid) stop_noting_changes_of(replaced->uid);
  return state;
}

json FlowRunReconciler::task_object(const json& run, const RunState& state,
                                    const flow::PlannedTask& task, const std::string& name) const {
  const flow::GraphNode& node = state.planner->graph().node(task.step);
  pod::TaskSpecInputs inputs;
  inputs.flow_run = kube::name_of(run);
  inputs.default_image = context_.settings.default_image;
  inputs.work_dir = context_.settings.pod.work_dir;
  json spec = pod::task_spec(state.flow, state.planner->graph(), task, state.run_context, inputs);
  return {{"apiVersion", tasks().api_version()},
          {"kind", "Task"},
          {"metadata",
           {{"name", name},
            {"namespace", kube::namespace_of(run)},
            {"labels",
             {{"podflow.dev/flow", pod::label_value(state.flow.name)},
              {"podflow.dev/run", pod::label_value(kube::name_of(run))},
              {"podflow.dev/step", pod::label_value(node.step->name)}}},
            {"ownerReferences", json::array({kube::controller_reference(run)})}}},
          {"spec", spec}};
}

void FlowRunReconciler::stop_unfinished_tasks(const std::vector<kube::ObjectPtr>& tasks) {
  kube::DeleteOptions options;
  options.propagation = kube::PropagationPolicy::background;
  for (const auto& task : tasks) {
    if (is_terminal_phase(task_phase(*task)) || (*task)["metadata"].contains("deletionTimestamp")) {
      continue;
    }
    options.precondition_uid = kube::uid_of(*task);
    try {
      context_.client.remove(reconcile::tasks(), kube::namespace_of(*task), kube::name_of(*task),
                             options);
    } catch (const kube::KubeError& error) {
      if (!kube::is_conflict(error)) throw;  // a newer Task of that name: not ours to stop
    }
  }
}

kube::Action FlowRunReconciler::reconcile(const std::string& key) {
  const kube::ObjectPtr cached = context_.flowruns.get(key);
  if (!cached || (*cached)["metadata"].contains("deletionTimestamp")) {
    // Deleted: the garbage collector removes its Tasks and their Pods (owner references).
    writes_.forget(key);
    forget_run(key);
    return kube::Action::await_change();
  }
  if (writes_.is_stale(key, kube::resource_version_of(*cached))) {
    return kube::Action::await_change();  // our last write's event is on its way
  }
  json run = *cached;
  const std::string uid = kube::uid_of(run);
  const std::string namespace_ = kube::namespace_of(run);
  const std::int64_t generation = generation_of(run);

  const std::string phase = run.contains("status") ? run["status"].value("phase", "") : "";
  if (is_terminal_phase(phase)) {
    if (phase == "Failed") stop_unfinished_tasks(context_.tasks.by_index(kOwnerIndex, uid));
    forget_run(key);
    return kube::Action::await_change();
  }
  if (!run.contains("status") || !run["status"].contains("flow")) {
    std::optional<json> started = start_run(run);
    if (!started) return kube::Action::await_change();  // a Flow's change or a new spec wakes it
    run = std::move(*started);
  }
  // Reading every Task on every reconcile would cost O(tasks) per completion at 100,000 splits:
  // a run's state is built from all its Tasks once, then fed the ones that changed.
  std::shared_ptr<RunState> state = existing_state(key, uid);
  if (!state) {
    note_changes_of(uid);  // before the read: a change between it and the state is not lost
    try {
      state = new_state(run, context_.tasks.by_index(kOwnerIndex, uid));
    } catch (const ResumeError& error) {
      stop_noting_changes_of(uid);
      const json status = resume_failure_status(run["status"], error, generation, now());
      if (status != run["status"]) {
        write_status(run, status);
        context_.events.record(run, kube::EventType::warning, error.reason(), error.what());
      }
      if (error.permanent()) return kube::Action::await_change();
      return kube::Action::requeue_after(std::chrono::seconds(kResumeRetrySeconds));
    } catch (...) {
      stop_noting_changes_of(uid);
      throw;
    }
  }
  flow::Planner& planner = *state->planner;

  // Feed the planner the outcomes it has not seen and keep the counts: from the Tasks (and pods)
  // that changed since the last reconcile only.
  for (const auto& task_key : take_changes_of(uid)) {
    observe_task(*state, task_key, context_.tasks.get(task_key), false);
  }
  const auto unfinished = static_cast<std::int64_t>(state->unfinished.size());
  const std::int64_t running = state->running;
  const std::int64_t pending = unfinished - running;
  std::int64_t starting = state->starting;
  std::string waiting_reason, waiting_message;
  if (state->waiting > 0) {
    for (const auto& [task_key, counts] : state->unfinished) {
      if (!counts.waiting) continue;
      if (const kube::ObjectPtr task = context_.tasks.get(task_key);
          task && task->contains("status")) {
        waiting_reason = (*task)["status"].value("reason", "");
        waiting_message =
            "task " + kube::name_of(*task) + ": " + (*task)["status"].value("message", "");
      }
      break;
    }
  }

  // Create the ready Tasks while fewer than maxWorkers are unfinished, a few requests at a time:
  // one create after another would pace a wide foreach at one API round trip per task.
  std::string creation_problem;
  const auto expected = static_cast<std::int64_t>(state->expected.size());
  const auto active = pending + running + expected;
  starting += expected;
  const std::int64_t max_starting = context_.settings.max_starting_tasks;
  std::optional<kube::Action> later;
  struct Creation {
    flow::PlannedTask task;
    std::string name;
    json object;
  };
  std::vector<Creation> batch;
  // A bounded batch per reconcile: the status (and the outcomes of finished Tasks) must not wait
  // for 10,000 creations; the rest follow in the next reconcile, queued at once.
  constexpr std::size_t kCreatesPerReconcile = 256;
  const auto room = [&] {
    const auto batched = static_cast<std::int64_t>(batch.size());
    return active + batched < state->max_workers && starting + batched < max_starting;
  };
  while (planner.phase() == flow::RunPhase::Running && room() && !state->ready.empty() &&
         batch.size() < kCreatesPerReconcile) {
    const flow::PlannedTask& task = state->ready.front();
    std::string name;
    try {
      name = pod::task_object_name(kube::name_of(run), task.id);
    } catch (const std::invalid_argument& error) {
      creation_problem = error.what();
      break;
    }
    if (const kube::ObjectPtr existing = context_.tasks.get(kube::make_key(namespace_, name))) {
      if (!owned_by(*existing, uid)) {
        // A Task of an earlier FlowRun of the same name, on its way out.
        later = kube::Action::requeue_after(std::chrono::seconds(2));
        break;
      }
      state->ready.pop_front();  // created before (by an earlier life of the operator)
      continue;
    }
    json object = task_object(run, *state, task, name);
    batch.push_back({std::move(state->ready.front()), std::move(name), std::move(object)});
    state->ready.pop_front();
  }
  constexpr std::size_t kConcurrentCreates = 16;
  std::exception_ptr failure;
  for (std::size_t first = 0; first < batch.size(); first += kConcurrentCreates) {
    const std::size_t last = std::min(batch.size(), first + kConcurrentCreates);
    std::vector<std::future<std::string>> answers;  // "" created (or there already), else why not
    for (std::size_t i = first; i < last; ++i) {
      answers.push_back(std::async(std::launch::async, [&, i]() -> std::string {
        try {
          context_.client.create(tasks(), namespace_, batch[i].object);
        } catch (const kube::KubeError& error) {
          if (kube::is_invalid(error)) {
            return "the API server refused Task " + batch[i].name + ": " + error.what();
          }
          if (!kube::is_already_exists(error)) throw;
        }
        return "";
      }));
    }
    for (std::size_t i = first; i < last; ++i) {
      try {
        const std::string problem = answers[i - first].get();
        if (problem.empty()) {
          state->expected.insert(batch[i].name);
        } else if (creation_problem.empty()) {
          creation_problem = problem;
        }
      } catch (...) {
        // Not created: it stays ready for the next reconcile (the error requeues the run).
        if (!failure) failure = std::current_exception();
        state->ready.push_front(std::move(batch[i].task));
      }
    }
    if (failure) {
      for (std::size_t i = batch.size(); i-- > last;) {
        state->ready.push_front(std::move(batch[i].task));
      }
      std::rethrow_exception(failure);
    }
  }

  // The status: counts and conditions only.
  const std::string time = now();
  json status = run["status"];
  const json before = status;
  status["observedGeneration"] = generation;
  // spec.resumeFrom's tasks: succeeded in this run, no Task.
  const std::int64_t succeeded = state->succeeded + state->cloned, failed = state->failed;
  const auto total = static_cast<std::int64_t>(state->recorded.size() + state->expected.size()) +
                     unfinished + state->cloned;
  status["tasks"] = {{"total", total},
                     {"pending", pending + static_cast<std::int64_t>(state->expected.size())},
                     {"running", running},
                     {"succeeded", succeeded},
                     {"failed", failed}};
  set_resume_status(run, status, state->cloned, generation, time);
  json& conditions = status["conditions"];
  bool finished = false;
  if (!creation_problem.empty() || planner.phase() == flow::RunPhase::Failed) {
    const std::string reason = creation_problem.empty() ? "TaskFailed" : "TaskNotCreated";
    const std::string message = creation_problem.empty() ? planner.failure() : creation_problem;
    status["phase"] = "Failed";
    status["completionTime"] = time;
    set_condition(conditions, {"Running", false, reason, ""}, generation, time);
    set_condition(conditions, {"Failed", true, reason, message}, generation, time);
    finished = true;
    context_.events.record(run, kube::EventType::warning, reason, message);
  } else if (planner.phase() == flow::RunPhase::Succeeded) {
    status["phase"] = "Succeeded";
    status["completionTime"] = time;
    set_condition(conditions, {"Running", false, "Succeeded", ""}, generation, time);
    set_condition(conditions,
                  {"Succeeded", true, "Succeeded", std::to_string(succeeded) + " tasks succeeded"},
                  generation, time);
    finished = true;
    context_.events.record(run, kube::EventType::normal, "Succeeded",
                           "run " + status.value("runId", "") + " succeeded");
  } else if (!waiting_reason.empty()) {
    set_condition(conditions, {"Running", true, waiting_reason, waiting_message}, generation, time);
  } else {
    set_condition(conditions, {"Running", true, "Started", ""}, generation, time);
  }
  if (status != before) {
    json counts_aside = status, before_aside = before;
    counts_aside.erase("tasks");
    before_aside.erase("tasks");
    const auto since = std::chrono::steady_clock::now() - state->last_status_write;
    if (counts_aside == before_aside && since < kCountsWriteInterval) {
      later = kube::Action::requeue_after(
          std::chrono::duration_cast<std::chrono::milliseconds>(kCountsWriteInterval - since));
    } else {
      write_status(run, status);
      state->last_status_write = std::chrono::steady_clock::now();
    }
  }
  if (finished) {
    if (status["phase"] == "Failed") {
      stop_unfinished_tasks(context_.tasks.by_index(kOwnerIndex, uid));
    }
    forget_run(key);
    return kube::Action::await_change();
  }
  if (!state->ready.empty() && planner.phase() == flow::RunPhase::Running) {
    std::optional<kube::Action> next;
    if (batch.size() == kCreatesPerReconcile) {
      next = kube::Action::requeue_after(std::chrono::milliseconds(1));
    } else if (starting + static_cast<std::int64_t>(batch.size()) >= max_starting) {
      // Pods starting wake no FlowRun (their Tasks are not written then): look again soon.
      next = kube::Action::requeue_after(std::chrono::milliseconds(500));
    }
    if (next && (!later || *next->requeue < *later->requeue)) later = next;
  }
  return later.value_or(kube::Action::await_change());
}

}  // namespace podflow::reconcile
