#include "operator/reconcile/flowrun_reconciler.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <unordered_set>
#include <utility>

#include "flow/parameters.hpp"
#include "kube/kube_log.hpp"
#include "kube/kube_time.hpp"
#include "operator/reconcile/api_resources.hpp"
#include "operator/reconcile/author_rights.hpp"
#include "operator/reconcile/conditions.hpp"
#include "operator/reconcile/flow_document.hpp"
#include "operator/reconcile/run_resume.hpp"
#include "pod/pod_builder.hpp"
#include "pod/pod_outcome.hpp"
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

namespace {

using Clock = std::chrono::system_clock;
using Steady = std::chrono::steady_clock;

std::int64_t pod_attempt(const json& pod) {
  const auto& labels = pod["metadata"].value("labels", json::object());
  try {
    return std::stoll(labels.value(pod::kAttemptLabel, "-1"));
  } catch (const std::exception&) {
    return -1;
  }
}

std::string pod_phase(const json& pod) {
  return pod.contains("status") ? pod["status"].value("phase", "") : "";
}

// The uid of the pod's controlling Task, or "".
std::string owner_task_uid(const json& pod) {
  if (!pod.contains("metadata") || !pod["metadata"].contains("ownerReferences")) return "";
  for (const auto& reference : pod["metadata"]["ownerReferences"]) {
    if (reference.value("kind", "") == "Task" && reference.value("controller", false)) {
      return reference.value("uid", "");
    }
  }
  return "";
}

// Whether a pending pod's reason is an ordinary moment of its start, not something a person
// must see on the run.
bool ordinary_reason(const std::string& reason) {
  return reason.empty() || reason == "CreatingPod" || reason == "Pending" ||
         reason == "ContainerCreating" || reason == "PodInitializing";
}

// Kubernetes took the pod away (DisruptionTarget, or the kubelet's eviction under node
// pressure): the attempt is run again without counting against retry.times, as the Job's
// podFailurePolicy can. A pod evicted for going over its own limits (ephemeral storage, an
// emptyDir's size) failed by itself and counts. Returns the reason and message, or nullopt.
std::optional<std::pair<std::string, std::string>> disruption(const json& pod) {
  const json status = pod.value("status", json::object());
  const std::string evicted_message = status.value("message", "");
  const bool over_own_limit = status.value("reason", "") == "Evicted" &&
                              (evicted_message.find("exceeds") != std::string::npos ||
                               evicted_message.find("exceeded") != std::string::npos);
  if (over_own_limit) return std::nullopt;
  for (const auto& condition : status.value("conditions", json::array())) {
    if (condition.value("type", "") != "DisruptionTarget" ||
        condition.value("status", "") != "True") {
      continue;
    }
    const std::string cause = condition.value("reason", "");
    std::string reason = "Disrupted";
    if (cause == "EvictionByEvictionAPI" || cause == "TerminationByKubelet") reason = "Evicted";
    if (cause == "PreemptionByScheduler") reason = "Preempted";
    if (cause == "DeletionByTaintManager" || cause == "DeletionByPodGC") reason = "NodeLost";
    std::string message = condition.value("message", "");
    if (message.empty()) message = cause;
    return std::make_pair(reason, message + " (" + cause + ")");
  }
  if (status.value("reason", "") == "Evicted") {
    return std::make_pair(std::string("Evicted"),
                          evicted_message.empty() ? "evicted by the kubelet" : evicted_message);
  }
  return std::nullopt;
}

// The member a pod of `group` belongs to, from its name: `<group name>.<index>` in a foreach, the
// group's own name outside.
std::optional<std::int64_t> index_of_pod(const TaskGroup& group, const std::string& name) {
  if (!group.indexed) return name == group.name ? std::optional<std::int64_t>(0) : std::nullopt;
  if (name.size() <= group.name.size() + 1 || name.compare(0, group.name.size(), group.name) != 0 ||
      name[group.name.size()] != '.') {
    return std::nullopt;
  }
  try {
    std::size_t used = 0;
    const std::int64_t index = std::stoll(name.substr(group.name.size() + 1), &used);
    if (used != name.size() - group.name.size() - 1 || index < 0) return std::nullopt;
    return index;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

// A lost attempt that never ends (a node that keeps losing its pods) still ends the task.
constexpr std::int64_t kMaxDisruptions = 10;

}  // namespace

bool FlowRunReconciler::keep_pod(const json& pod) {
  const std::string phase = pod_phase(pod);
  return phase != "Succeeded" && phase != "Failed";
}

void FlowRunReconciler::pod_changed(const kube::CacheEvent& event) {
  const std::string task_uid = owner_task_uid(*event.object);
  if (task_uid.empty()) return;
  std::lock_guard lock(changes_mutex_);
  const auto run = task_runs_.find(task_uid);
  if (run == task_runs_.end()) return;
  const auto changes = changes_.find(run->second);
  if (changes == changes_.end()) return;
  changes->second[event.key] = {event.object, event.type == kube::CacheEvent::Type::deleted};
}

std::vector<std::string> FlowRunReconciler::run_of_pod(const kube::CacheEvent& event) const {
  const std::string task_uid = owner_task_uid(*event.object);
  if (task_uid.empty()) return {};
  std::lock_guard lock(changes_mutex_);
  const auto run = task_runs_.find(task_uid);
  if (run == task_runs_.end()) return {};
  const auto key = run_keys_.find(run->second);
  if (key == run_keys_.end()) return {};
  return {key->second};
}

void FlowRunReconciler::note_changes_of(const std::string& uid, const std::string& key) {
  std::lock_guard lock(changes_mutex_);
  changes_[uid];
  run_keys_[uid] = key;
}

void FlowRunReconciler::register_group(const std::string& run_uid, const std::string& task_uid) {
  std::lock_guard lock(changes_mutex_);
  task_runs_[task_uid] = run_uid;
}

void FlowRunReconciler::stop_noting_changes_of(const std::string& uid) {
  std::lock_guard lock(changes_mutex_);
  changes_.erase(uid);
  run_keys_.erase(uid);
  std::erase_if(task_runs_, [&](const auto& entry) { return entry.second == uid; });
}

std::map<std::string, FlowRunReconciler::PodChange> FlowRunReconciler::take_changes_of(
    const std::string& uid) {
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

void FlowRunReconciler::wake(RunState& state, Clock::time_point when) {
  if (!state.wake_at || when < *state.wake_at) state.wake_at = when;
}

void FlowRunReconciler::set_state(RunState& state, TaskGroup& group, Member& member,
                                  Member::State next) {
  const auto contribute = [&](Member::State which, int sign) {
    switch (which) {
      case Member::State::Creating:
        state.creating += sign;
        break;
      case Member::State::Pending:
        state.pending += sign;
        break;
      case Member::State::Running:
        state.running += sign;
        break;
      default:
        return;
    }
    state.active_by_step[group.step_index] += sign;
  };
  if (member.state == next) return;
  contribute(member.state, -1);
  contribute(next, +1);
  if (member.needs_person && next != Member::State::Pending) {
    member.needs_person = false;
    --state.waiting;
  }
  member.state = next;
}

void FlowRunReconciler::add_ready(RunState& state, std::vector<flow::PlannedTask> tasks) {
  const flow::FlowGraph& graph = state.planner->graph();
  for (auto& task : tasks) {
    const flow::GraphNode& node = graph.node(task.step);
    const bool indexed = !task.path.empty();
    flow::SplitPath prefix = task.path;
    if (indexed) prefix.pop_back();
    std::string name;
    try {
      name = group_name(state.name, node.step->name, prefix);
      pod::task_object_name(state.name, task.id);  // the member's pod name must be valid too
    } catch (const std::invalid_argument& error) {
      if (state.failure.empty()) state.failure = error.what();
      continue;
    }
    auto [found, created] = state.groups.try_emplace(name);
    TaskGroup& group = found->second;
    if (created) {
      group.name = name;
      group.step = node.step->name;
      group.step_index = task.step;
      group.prefix = prefix;
      group.indexed = indexed;
      if (indexed) {
        // The width of the innermost foreach open at this step, recorded when it succeeded.
        for (auto split = node.open_splits.rbegin(); split != node.open_splits.rend(); ++split) {
          if (!graph.node(*split).is_foreach()) continue;
          const auto width =
              state.foreach_splits.find(flow::task_id(graph.node(*split).step->name, prefix));
          if (width != state.foreach_splits.end()) group.count = width->second;
          break;
        }
      }
      const auto settings =
          flow::effective_settings(state.flow, *node.step, state.run_context.overrides);
      group.retry_times = settings.retryTimes;
      group.retry_delay_seconds = settings.retryDelaySeconds;
      group.parallelism = settings.parallelism;
    }
    const std::int64_t index = group.index_of(task.path);
    if (group.succeeded.contains(index) || group.failed.contains(index) ||
        group.members.contains(index)) {
      continue;
    }
    Member member;
    member.task = std::move(task);
    if (const auto retried = group.retried.find(index); retried != group.retried.end()) {
      member.attempt = retried->second.attempt;
      member.failures = retried->second.failures;
      member.disruptions = retried->second.disruptions;
    }
    group.members.emplace(index, std::move(member));
    state.ready[group.step_index].push_back({state.next_ready++, {name, index}});
  }
}

void FlowRunReconciler::finish_member(RunState& state, TaskGroup& group, std::int64_t index) {
  auto found = group.members.find(index);
  if (found == group.members.end()) return;
  set_state(state, group, found->second, Member::State::Ready);
  state.retrying.erase({group.name, index});
  group.members.erase(found);
}

void FlowRunReconciler::member_succeeded(RunState& state, TaskGroup& group, std::int64_t index,
                                         std::optional<std::int64_t> split_count) {
  auto found = group.members.find(index);
  if (found == group.members.end()) return;
  flow::TaskOutcome outcome;
  outcome.id = group.member_task_id(index);
  outcome.attempt = found->second.attempt;
  outcome.succeeded = true;
  outcome.split_count = split_count;
  outcome.final_attempt = true;
  finish_member(state, group, index);
  group.succeeded.insert(index);
  if (split_count) {
    group.split_counts[index] = *split_count;
    state.foreach_splits[outcome.id] = *split_count;
  }
  ++state.succeeded;
  const auto now = Steady::now();
  group.changed(now);
  if (group.succeeded.size() == group.count && group.members.empty()) {
    group.completion_time = kube::format_time(Clock::now());
  }
  add_ready(state, state.planner->record(outcome));
}

void FlowRunReconciler::attempt_failed(
    RunState& state, TaskGroup& group, std::int64_t index, const std::string& reason,
    const std::string& message, bool counted, bool retryable,
    const std::optional<std::pair<std::string, std::string>>& pod_left) {
  auto found = group.members.find(index);
  if (found == group.members.end()) return;
  Member& member = found->second;
  const std::string id = group.member_task_id(index);
  (counted ? member.failures : member.disruptions) += 1;
  const bool final =
      !retryable || member.failures > group.retry_times || member.disruptions > kMaxDisruptions;
  const auto now = Steady::now();
  group.changed(now);
  if (final) {
    if (member.attempt > 0 || member.failures > 1 || member.disruptions > 0) {
      group.retried[index] = {member.attempt, member.failures, member.disruptions, reason, message};
    }
    const std::string words = "task " + id + " attempt " + std::to_string(member.attempt) + ": " +
                              reason + ": " + message;
    group.reason = reason;
    group.message = words;
    group.completion_time = kube::format_time(Clock::now());
    flow::TaskOutcome outcome;
    outcome.id = id;
    outcome.attempt = member.attempt;
    outcome.succeeded = false;
    outcome.retryable = false;
    outcome.reason = message.empty() ? reason : message;
    outcome.final_attempt = true;
    finish_member(state, group, index);
    group.failed.insert(index);
    ++state.failed;
    if (!group.object.is_null()) {
      context_.events.record(group.object, kube::EventType::warning, reason, words);
    }
    add_ready(state, state.planner->record(outcome));
    return;
  }
  const std::int64_t delay = counted ? group.retry_delay_seconds : 0;
  const std::string words = "task " + id + " attempt " + std::to_string(member.attempt) + " " +
                            (counted ? "failed" : "was lost") + ": " + message + "; attempt " +
                            std::to_string(member.attempt + 1) +
                            (counted ? " (retry " + std::to_string(member.failures) + " of " +
                                           std::to_string(group.retry_times) + ")"
                                     : std::string(" (not counted against retry.times)")) +
                            " starts in " + std::to_string(delay) + " s";
  ++member.attempt;
  member.retry_after = Clock::now() + std::chrono::seconds(delay);
  member.reason = reason;
  member.message = words;
  member.fence = group.changes;
  group.retried[index] = {member.attempt, member.failures, member.disruptions, reason, words};
  set_state(state, group, member, Member::State::Retrying);
  state.retrying.insert({group.name, index});
  if (pod_left)
    group.delete_after_write.push_back({pod_left->first, pod_left->second, member.fence});
  if (!group.object.is_null()) {
    context_.events.record(group.object, kube::EventType::warning, reason, words);
  }
}

void FlowRunReconciler::observe_pod(RunState& state, const json& pod, bool deleted) {
  const auto group_found = state.group_of.find(owner_task_uid(pod));
  if (group_found == state.group_of.end()) return;
  TaskGroup& group = state.groups.at(group_found->second);
  const std::string name = kube::name_of(pod);
  const auto member_index = index_of_pod(group, name);
  if (!member_index) return;
  const std::int64_t index = *member_index;
  auto found = group.members.find(index);
  if (found == group.members.end()) return;  // ended before (this is its pod's later life)
  Member& member = found->second;
  const std::int64_t attempt = pod_attempt(pod);
  const bool terminating = pod["metadata"].contains("deletionTimestamp");
  const auto delete_now = [&] {
    kube::DeleteOptions options;
    options.precondition_uid = kube::uid_of(pod);
    options.grace_period_seconds = 0;
    try {
      context_.client.remove(kube::resources::pods(), state.namespace_, name, options);
    } catch (const kube::KubeError& error) {
      if (!kube::is_conflict(error) && !kube::is_not_found(error)) throw;
    }
  };
  if (attempt < member.attempt) {
    // An earlier attempt's pod: once the status records the newer attempt, it goes.
    const bool fenced = member.state == Member::State::Retrying && member.fence > group.written;
    if (!deleted && !terminating && !fenced) delete_now();
    return;
  }
  if (attempt > member.attempt || member.state == Member::State::Retrying) return;
  const std::string phase = pod_phase(pod);
  const bool ended = phase == "Succeeded" || phase == "Failed";
  if (deleted && !ended) {
    const auto disrupted = disruption(pod);
    attempt_failed(state, group, index, disrupted ? disrupted->first : "PodDeleted",
                   disrupted ? disrupted->second : "the pod was deleted before the step finished",
                   !disrupted, true, std::nullopt);
    return;
  }
  if (!ended && pod::evicted_from_lost_node(pod)) {
    // Kubernetes deleted the pod because its node stopped reporting; only that node's kubelet
    // can confirm it, so the pod stays Terminating and, having the member's name, would block
    // the next attempt. Once its grace period is over it is removed (as `kubectl delete
    // --force`). Its process may still run on a partitioned node; it can only commit its own
    // attempt, never the next one's.
    const auto deadline =
        kube::parse_time(pod["metadata"].value("deletionTimestamp", std::string()));
    if (deadline && *deadline > Clock::now()) {
      wake(state, *deadline + std::chrono::milliseconds(500));
      state.look_again[kube::make_key(state.namespace_, name)] = pod;
      return;
    }
    delete_now();
    const std::string node = pod["spec"].value("nodeName", std::string("its node"));
    attempt_failed(state, group, index, "NodeLost",
                   "node " + node +
                       " stopped reporting while the step ran, and Kubernetes evicted its pods; "
                       "the pod was removed",
                   false, true, std::nullopt);
    return;
  }
  const pod::PodOutcome outcome = pod::observe_pod(pod, group.object);
  const auto now = Steady::now();
  switch (outcome.phase) {
    case pod::AttemptPhase::Pending: {
      const bool needs_person = !ordinary_reason(outcome.reason);
      if (member.state != Member::State::Pending) {
        set_state(state, group, member, Member::State::Pending);
        group.changed(now);
      }
      if (needs_person != member.needs_person) {
        member.needs_person = needs_person;
        state.waiting += needs_person ? 1 : -1;
        group.changed(now);
      }
      member.reason = outcome.reason;
      member.message = outcome.message;
      if (needs_person) {
        group.reason = outcome.reason;
        group.message = "task " + group.member_task_id(index) + ": " + outcome.message;
      }
      return;
    }
    case pod::AttemptPhase::Running:
      if (member.state != Member::State::Running) {
        set_state(state, group, member, Member::State::Running);
        group.changed(now);
        if (group.start_time.empty()) {
          group.start_time =
              outcome.start_time.empty() ? kube::format_time(Clock::now()) : outcome.start_time;
        }
        if (!group.reason.empty() && group.failed.empty()) {
          group.reason.clear();
          group.message.clear();
        }
      }
      return;
    case pod::AttemptPhase::Succeeded:
      if (group.start_time.empty()) group.start_time = outcome.start_time;
      member_succeeded(state, group, index, outcome.split_count);
      return;
    case pod::AttemptPhase::Failed: {
      const auto disrupted = disruption(pod);
      std::optional<std::pair<std::string, std::string>> pod_left;
      if (!deleted) pod_left = std::make_pair(name, kube::uid_of(pod));
      attempt_failed(state, group, index, disrupted ? disrupted->first : outcome.reason,
                     disrupted ? disrupted->second : outcome.message, !disrupted,
                     outcome.retryable || disrupted.has_value(), pod_left);
      return;
    }
  }
}

json FlowRunReconciler::group_object(const json& run, const RunState& state, const TaskGroup& group,
                                     const flow::PlannedTask& first) const {
  pod::TaskSpecInputs inputs;
  inputs.flow_run = state.name;
  inputs.default_image = context_.settings.default_image;
  inputs.work_dir = context_.settings.pod.work_dir;
  json spec = pod::task_spec(state.flow, state.planner->graph(), first, state.run_context, inputs);
  spec.erase("runtime");
  spec.erase("taskId");
  spec["indexed"] = group.indexed;
  spec["splitPrefix"] = group.prefix;
  spec["count"] = group.count;
  return {{"apiVersion", tasks().api_version()},
          {"kind", "Task"},
          {"metadata",
           {{"name", group.name},
            {"namespace", state.namespace_},
            {"labels",
             {{pod::kFlowLabel, pod::label_value(state.flow.name)},
              {pod::kRunLabel, pod::label_value(state.name)},
              {pod::kStepLabel, pod::label_value(group.step)}}},
            {"ownerReferences", json::array({kube::controller_reference(run)})}}},
          {"spec", std::move(spec)}};
}

json FlowRunReconciler::member_task(const RunState& state, const TaskGroup& group,
                                    const flow::PlannedTask& task) const {
  pod::TaskSpecInputs inputs;
  inputs.flow_run = state.name;
  inputs.default_image = context_.settings.default_image;
  inputs.work_dir = context_.settings.pod.work_dir;
  return {{"apiVersion", tasks().api_version()},
          {"kind", "Task"},
          {"metadata",
           {{"name", pod::task_object_name(state.name, task.id)},
            {"namespace", state.namespace_},
            {"ownerReferences", json::array({{{"apiVersion", tasks().api_version()},
                                              {"kind", "Task"},
                                              {"name", group.name},
                                              {"uid", group.uid},
                                              {"controller", true},
                                              {"blockOwnerDeletion", true}}})}}},
          {"spec",
           pod::task_spec(state.flow, state.planner->graph(), task, state.run_context, inputs)}};
}

void FlowRunReconciler::create_groups(const json& run, RunState& state) {
  for (auto& [name, group] : state.groups) {
    if (!group.object.is_null() || group.members.empty()) continue;
    const json object = group_object(run, state, group, group.members.begin()->second.task);
    try {
      group.object = context_.client.create(tasks(), state.namespace_, object);
    } catch (const kube::KubeError& error) {
      if (!kube::is_already_exists(error)) throw;
      // Not in the cache when the state was built (a restart), or an earlier FlowRun's Task of
      // the same name on its way out: the rebuilt state will know.
      throw std::runtime_error("Task " + name + " exists already; rebuilding the run's state");
    }
    group.uid = kube::uid_of(group.object);
    state.group_of[group.uid] = name;
    register_group(state.uid, group.uid);
  }
}

bool FlowRunReconciler::start_pods(RunState& state) {
  // As the Job controller: at most this many creates per sync, several at once. The client's rate
  // limiter (--kube-api-qps) paces them; waiting for one round trip after another would pace a
  // wide foreach at the API server's latency instead. Not more at once: a busy API server answers
  // no faster, and each extra connection costs a thread's malloc arena and a TLS setup that loads
  // the system's CA bundle (cpprestsdk does so per connection: ~57 ms of CPU with OpenSSL 3.0).
  // 64 at once made a 1000-way run slower than 16 (BENCHMARKS.md, "Issue 21, second part").
  constexpr std::size_t kCreatesPerReconcile = 500;
  constexpr std::size_t kConcurrentCreates = 16;
  const auto now = Clock::now();
  const std::int64_t max_starting = context_.settings.max_starting_tasks;
  struct Creation {
    MemberRef ref;
    bool retry;
    std::uint64_t sequence;
    // Filled by the workers:
    std::string invalid;           // the pod could not be built (build_pod's message)
    std::optional<json> existing;  // AlreadyExists: the pod of that name (null: gone since)
    std::exception_ptr failure;    // any other error
  };
  std::vector<Creation> batch;
  const auto room = [&](const TaskGroup& group) {
    const std::int64_t active = state.creating + state.pending + state.running;
    if (active >= state.max_workers || state.creating + state.pending >= max_starting) return false;
    return !group.parallelism || state.active_by_step[group.step_index] < *group.parallelism;
  };
  const auto take = [&](TaskGroup& group, std::int64_t index, bool retry, std::uint64_t sequence) {
    set_state(state, group, group.members.at(index), Member::State::Creating);
    batch.push_back({{group.name, index}, retry, sequence, {}, std::nullopt, nullptr});
  };
  // Retries first: their members have waited longest.
  for (auto it = state.retrying.begin();
       it != state.retrying.end() && batch.size() < kCreatesPerReconcile;) {
    const auto [group_name_, index] = *it;
    TaskGroup& group = state.groups.at(group_name_);
    Member& member = group.members.at(index);
    ++it;
    const bool pod_to_delete =
        std::any_of(group.delete_after_write.begin(), group.delete_after_write.end(),
                    [&](const auto& entry) { return entry.after == member.fence; });
    if (member.fence > group.written || pod_to_delete) {
      // The next attempt's pod comes after the write that records it (and the last pod's end).
      wake(state, now + std::chrono::milliseconds(200));
      continue;
    }
    if (member.retry_after > now) {
      wake(state, member.retry_after);
      continue;
    }
    if (!room(group)) continue;
    state.retrying.erase({group_name_, index});
    take(group, index, true, 0);
  }
  // Then the ready members, oldest first, skipping steps at their parallelism.
  while (batch.size() < kCreatesPerReconcile) {
    std::deque<std::pair<std::uint64_t, MemberRef>>* oldest = nullptr;
    for (auto& [step, queue] : state.ready) {
      if (queue.empty()) continue;
      const TaskGroup& group = state.groups.at(queue.front().second.group);
      if (group.uid.empty() || !room(group)) continue;
      if (!oldest || queue.front().first < oldest->front().first) oldest = &queue;
    }
    if (!oldest) break;
    auto [sequence, ref] = std::move(oldest->front());
    oldest->pop_front();
    TaskGroup& group = state.groups.at(ref.group);
    auto member = group.members.find(ref.index);
    if (member == group.members.end() || member->second.state != Member::State::Ready) continue;
    take(group, ref.index, false, sequence);
  }
  if (batch.empty()) return false;

  // Each Task's pods are made from one built the long way (pod::build_pod, which checks
  // everything), on this thread; then many threads make and send the rest, since building costs
  // CPU and sending a round trip, and neither should wait for the other. The state is only read
  // meanwhile.
  for (const Creation& creation : batch) {
    TaskGroup& group = state.groups.at(creation.ref.group);
    if (!group.pod_template.is_null() || !group.pod_problem.empty()) continue;
    const Member& member = group.members.at(creation.ref.index);
    try {
      group.pod_template =
          pod::build_pod(member_task(state, group, member.task), member.attempt,
                         context_.settings.pod, kube::controller_reference(group.object));
    } catch (const std::invalid_argument& error) {
      group.pod_problem = error.what();
    }
  }
  std::atomic<std::size_t> next{0};
  const auto work = [&] {
    for (std::size_t i = next++; i < batch.size(); i = next++) {
      Creation& creation = batch[i];
      const TaskGroup& group = state.groups.at(creation.ref.group);
      const Member& member = group.members.at(creation.ref.index);
      if (!group.pod_problem.empty()) {
        creation.invalid = group.pod_problem;
        continue;
      }
      json pod;
      try {
        runtime::TaskSpec spec = runtime::make_task_spec(state.flow, state.planner->graph(),
                                                         member.task, state.run_context);
        spec.workDir = context_.settings.pod.work_dir;
        spec.attempt = member.attempt;
        pod = pod::member_pod(group.pod_template, pod::task_object_name(state.name, member.task.id),
                              member.task.id, member.attempt, runtime::task_spec_to_json(spec));
      } catch (const std::exception& error) {
        creation.invalid = error.what();
        continue;
      }
      try {
        try {
          context_.client.create(kube::resources::pods(), state.namespace_, pod);
        } catch (const kube::KubeError& error) {
          if (!kube::is_already_exists(error)) throw;
          auto found = context_.client.get(kube::resources::pods(), state.namespace_,
                                           pod["metadata"].value("name", ""));
          creation.existing = found ? std::move(*found) : json();
        }
      } catch (...) {
        creation.failure = std::current_exception();
      }
    }
  };
  {
    std::vector<std::thread> workers;
    const std::size_t count = std::min(kConcurrentCreates, batch.size());
    for (std::size_t i = 1; i < count; ++i) workers.emplace_back(work);
    work();
    for (auto& worker : workers) worker.join();
  }

  std::exception_ptr failure;
  for (Creation& creation : batch) {
    TaskGroup& group = state.groups.at(creation.ref.group);
    auto member = group.members.find(creation.ref.index);
    if (member == group.members.end()) continue;
    const auto put_back = [&] {
      if (creation.retry) {
        set_state(state, group, member->second, Member::State::Retrying);
        state.retrying.insert({group.name, creation.ref.index});
      } else {
        set_state(state, group, member->second, Member::State::Ready);
        state.ready[group.step_index].push_front({creation.sequence, creation.ref});
      }
    };
    if (!creation.invalid.empty()) {
      attempt_failed(state, group, creation.ref.index, "InvalidTask", creation.invalid, true, false,
                     std::nullopt);
    } else if (creation.failure) {
      try {
        std::rethrow_exception(creation.failure);
      } catch (const kube::KubeError& error) {
        if (kube::is_invalid(error)) {
          attempt_failed(state, group, creation.ref.index, "InvalidTask",
                         std::string("the API server refused the pod: ") + error.what(), true,
                         false, std::nullopt);
          continue;
        }
        put_back();
        if (!failure) failure = creation.failure;
      } catch (...) {
        put_back();
        if (!failure) failure = creation.failure;
      }
    } else if (creation.existing) {
      // A pod of that name exists: this attempt's (an earlier life created it) is adopted; an
      // earlier attempt's, still going away, makes this one wait.
      const json& existing = *creation.existing;
      if (existing.is_object() && existing.contains("metadata") &&
          owner_task_uid(existing) == group.uid &&
          pod_attempt(existing) == member->second.attempt) {
        observe_pod(state, existing, false);
      } else {
        put_back();
        wake(state, Clock::now() + std::chrono::seconds(1));
      }
    }
  }
  if (failure) std::rethrow_exception(failure);
  return batch.size() == kCreatesPerReconcile;
}

std::optional<Steady::time_point> FlowRunReconciler::write_groups(RunState& state, bool all) {
  std::optional<Steady::time_point> next;
  const auto now = Steady::now();
  for (auto& [name, group] : state.groups) {
    if (!group.dirty() || group.object.is_null()) continue;
    const auto due = std::max(group.last_write + kStatusWriteInterval,
                              group.first_unwritten + kStatusWriteInterval / 5);
    if (!all && due > now) {
      if (!next || due < *next) next = due;
      continue;
    }
    std::int64_t running = 0, pending = 0;
    for (const auto& [index, member] : group.members) {
      ++(member.state == Member::State::Running ? running : pending);
    }
    const std::uint64_t carried = group.changes;
    json status = group_status(group, running, pending);
    if (status != group.object.value("status", json::object())) {
      json updated = group.object;
      updated["status"] = std::move(status);
      group.object = context_.client.replace_status(tasks(), state.namespace_, name, updated);
    }
    group.written = carried;
    group.last_write = Steady::now();
    // The write recorded these pods' next attempts: now they may go.
    std::erase_if(group.delete_after_write, [&](const TaskGroup::PodToDelete& entry) {
      if (entry.after > group.written) return false;
      kube::DeleteOptions options;
      options.precondition_uid = entry.uid;
      options.grace_period_seconds = 0;
      try {
        context_.client.remove(kube::resources::pods(), state.namespace_, entry.name, options);
      } catch (const kube::KubeError& error) {
        if (!kube::is_conflict(error) && !kube::is_not_found(error)) throw;
      }
      return true;
    });
  }
  return next;
}

void FlowRunReconciler::stop_unfinished_pods(const std::vector<std::string>& task_uids) {
  kube::DeleteOptions options;
  options.propagation = kube::PropagationPolicy::background;
  for (const auto& uid : task_uids) {
    for (const auto& pod : context_.pods.by_index(kOwnerIndex, uid)) {
      if (!keep_pod(*pod) || (*pod)["metadata"].contains("deletionTimestamp")) continue;
      options.precondition_uid = kube::uid_of(*pod);
      try {
        context_.client.remove(kube::resources::pods(), kube::namespace_of(*pod),
                               kube::name_of(*pod), options);
      } catch (const kube::KubeError& error) {
        if (!kube::is_conflict(error) && !kube::is_not_found(error)) throw;
      }
    }
  }
}

std::shared_ptr<FlowRunReconciler::RunState> FlowRunReconciler::new_state(const json& run) {
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
  state->name = kube::name_of(run);
  state->namespace_ = kube::namespace_of(run);
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

  // What the run's Tasks recorded.
  const flow::FlowGraph& graph = state->planner->graph();
  std::unordered_set<std::string> own;  // task ids this run ran itself (never cloned)
  std::vector<flow::TaskOutcome> successes, failures;
  for (const auto& task : context_.tasks.by_index(kOwnerIndex, uid)) {
    if ((*task)["metadata"].contains("deletionTimestamp")) continue;
    TaskGroup group = restore_group(*task);
    const auto step = graph.find(group.step);
    if (!step) throw std::runtime_error("Task " + group.name + " names an unknown step");
    group.step_index = *step;
    const auto settings =
        flow::effective_settings(state->flow, *graph.node(*step).step, overrides.settings);
    group.retry_times = settings.retryTimes;
    group.retry_delay_seconds = settings.retryDelaySeconds;
    group.parallelism = settings.parallelism;
    group.succeeded.for_each([&](std::int64_t index) {
      flow::TaskOutcome outcome;
      outcome.id = group.member_task_id(index);
      outcome.succeeded = true;
      outcome.final_attempt = true;
      if (const auto retried = group.retried.find(index); retried != group.retried.end()) {
        outcome.attempt = retried->second.attempt;
      }
      if (const auto count = group.split_counts.find(index); count != group.split_counts.end()) {
        outcome.split_count = count->second;
        state->foreach_splits[outcome.id] = count->second;
      }
      own.insert(outcome.id);
      successes.push_back(std::move(outcome));
    });
    group.failed.for_each([&](std::int64_t index) {
      flow::TaskOutcome outcome;
      outcome.id = group.member_task_id(index);
      outcome.retryable = false;
      outcome.final_attempt = true;
      outcome.reason = group.message;
      own.insert(outcome.id);
      failures.push_back(std::move(outcome));
    });
    for (const auto& [index, entry] : group.retried) own.insert(group.member_task_id(index));
    state->succeeded += group.succeeded.size();
    state->failed += group.failed.size();
    state->group_of[group.uid] = group.name;
    register_group(uid, group.uid);
    group.written = group.changes;
    state->groups.emplace(group.name, std::move(group));
  }
  // Its pods, one page at a time: a pod that ended and is not recorded yet carries its outcome.
  std::vector<json> pods;
  kube::ListOptions options;
  options.label_selector = std::string(pod::kRunLabel) + "=" + pod::label_value(state->name) + "," +
                           kManagedByLabel + "=" + kManagedByValue;
  options.limit = 500;
  do {
    kube::ListPage page = context_.client.list(kube::resources::pods(), state->namespace_, options);
    for (auto& pod : page.items) {
      const auto group_name_ = state->group_of.find(owner_task_uid(pod));
      if (group_name_ == state->group_of.end()) continue;
      const TaskGroup& group = state->groups.at(group_name_->second);
      const auto index = index_of_pod(group, kube::name_of(pod));
      if (!index) continue;
      // Pods whose end the Task records are not kept: at 100,000 members, memory.
      if (!keep_pod(pod) && (group.succeeded.contains(*index) || group.failed.contains(*index))) {
        continue;
      }
      own.insert(group.member_task_id(*index));
      pods.push_back(std::move(pod));
    }
    options.continue_token = page.continue_token;
  } while (!options.continue_token.empty());

  // A resumed run (spec.resumeFrom) starts from the tasks its origin run committed, too.
  std::vector<flow::TaskOutcome> cloned = clone_resumed_tasks(run, state->flow, own);
  state->cloned = static_cast<std::int64_t>(cloned.size());
  for (const auto& outcome : cloned) {
    if (outcome.split_count) state->foreach_splits[outcome.id] = *outcome.split_count;
  }
  successes.insert(successes.end(), cloned.begin(), cloned.end());
  add_ready(*state, state->planner->restore(successes));
  for (const auto& failure : failures) add_ready(*state, state->planner->record(failure));
  for (const auto& pod : pods) observe_pod(*state, pod, false);

  std::shared_ptr<RunState> replaced;  // an earlier FlowRun of the same name
  {
    std::lock_guard lock(mutex_);
    replaced = std::exchange(states_[key], state);
  }
  if (replaced && replaced->uid != uid) stop_noting_changes_of(replaced->uid);
  return state;
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
  const std::int64_t generation = generation_of(run);
  const auto task_uids = [&] {
    std::vector<std::string> uids;
    for (const auto& task : context_.tasks.by_index(kOwnerIndex, uid)) {
      uids.push_back(kube::uid_of(*task));
    }
    return uids;
  };

  const std::string phase = run.contains("status") ? run["status"].value("phase", "") : "";
  if (is_terminal_phase(phase)) {
    if (phase == "Failed") stop_unfinished_pods(task_uids());
    forget_run(key);
    return kube::Action::await_change();
  }
  if (!run.contains("status") || !run["status"].contains("flow")) {
    std::optional<json> started = start_run(run);
    if (!started) return kube::Action::await_change();  // a Flow's change or a new spec wakes it
    run = std::move(*started);
  }
  // Reading every pod on every reconcile would cost O(members) per completion at 100,000 splits:
  // a run's state is built once, then fed the pods that changed.
  std::shared_ptr<RunState> state = existing_state(key, uid);
  if (!state) {
    note_changes_of(uid, key);  // before the reads: a change between them and the state is kept
    try {
      state = new_state(run);
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
  state->wake_at.reset();

  bool more_to_start = false;
  std::optional<Steady::time_point> next_write;
  try {
    const auto began = Steady::now();
    // Taken first: looking at a pod may ask to look at it again.
    const auto look_again = std::exchange(state->look_again, {});
    const auto changes = take_changes_of(uid);
    for (const auto& [pod_key, change] : changes) {
      observe_pod(*state, *change.pod, change.deleted);
    }
    for (const auto& [pod_key, pod] : look_again) {
      if (!changes.contains(pod_key)) observe_pod(*state, pod, false);
    }
    const auto observed = Steady::now();
    const std::int64_t created_before = state->creating;
    if (planner.phase() == flow::RunPhase::Running && state->failure.empty()) {
      create_groups(run, *state);
      more_to_start = start_pods(*state);
    }
    const auto ms = [](auto duration) {
      return std::to_string(
          std::chrono::duration_cast<std::chrono::milliseconds>(duration).count());
    };
    if (kube::log_enabled(kube::LogLevel::debug))
      kube::log(kube::LogLevel::debug,
                "run " + key + ": " + std::to_string(look_again.size()) +
                    " pods looked at again, " + std::to_string(changes.size()) +
                    " pod changes in " + ms(observed - began) + " ms, " +
                    std::to_string(state->creating - created_before) + " more pods creating, in " +
                    ms(Steady::now() - observed) + " ms");
    const bool finishing = planner.phase() != flow::RunPhase::Running || !state->failure.empty();
    next_write = write_groups(*state, finishing);
  } catch (...) {
    // Our memory may now differ from what the API server holds (a Task written by someone else,
    // a create that half happened): build it again from the API server.
    forget_run(key);
    throw;
  }

  // The status: counts and conditions only.
  std::int64_t unfinished = 0;
  for (const auto& [name, group] : state->groups) {
    unfinished += static_cast<std::int64_t>(group.members.size());
  }
  std::string waiting_reason, waiting_message;
  if (state->waiting > 0) {
    for (const auto& [name, group] : state->groups) {
      for (const auto& [index, member] : group.members) {
        if (!member.needs_person) continue;
        waiting_reason = member.reason;
        waiting_message =
            "task " + pod::task_object_name(state->name, member.task.id) + ": " + member.message;
        break;
      }
      if (!waiting_reason.empty()) break;
    }
  }
  const std::string time = now();
  json status = run["status"];
  const json before = status;
  status["observedGeneration"] = generation;
  // spec.resumeFrom's tasks: succeeded in this run, no Task.
  const std::int64_t succeeded = state->succeeded + state->cloned, failed = state->failed;
  status["tasks"] = {{"total", succeeded + failed + unfinished},
                     {"pending", unfinished - state->running},
                     {"running", state->running},
                     {"succeeded", succeeded},
                     {"failed", failed}};
  set_resume_status(run, status, state->cloned, generation, time);
  json& conditions = status["conditions"];
  bool finished = false;
  if (!state->failure.empty() || planner.phase() == flow::RunPhase::Failed) {
    const std::string reason = state->failure.empty() ? "TaskFailed" : "TaskNotCreated";
    const std::string message = state->failure.empty() ? planner.failure() : state->failure;
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
  std::optional<std::chrono::milliseconds> later;
  const auto sooner = [&](std::chrono::milliseconds after) {
    if (after < std::chrono::milliseconds(1)) after = std::chrono::milliseconds(1);
    if (!later || after < *later) later = after;
  };
  if (status != before) {
    json counts_aside = status, before_aside = before;
    counts_aside.erase("tasks");
    before_aside.erase("tasks");
    const auto since = Steady::now() - state->last_status_write;
    if (counts_aside == before_aside && since < kStatusWriteInterval) {
      sooner(std::chrono::duration_cast<std::chrono::milliseconds>(kStatusWriteInterval - since));
    } else {
      write_status(run, status);
      state->last_status_write = Steady::now();
    }
  }
  if (finished) {
    if (status["phase"] == "Failed") stop_unfinished_pods(task_uids());
    forget_run(key);
    return kube::Action::await_change();
  }
  if (more_to_start) sooner(std::chrono::milliseconds(1));
  if (next_write) {
    sooner(std::chrono::duration_cast<std::chrono::milliseconds>(*next_write - Steady::now()));
  }
  if (state->wake_at) {
    sooner(std::chrono::duration_cast<std::chrono::milliseconds>(*state->wake_at - Clock::now()) +
           std::chrono::milliseconds(20));
  }
  return later ? kube::Action::requeue_after(*later) : kube::Action::await_change();
}

}  // namespace podflow::reconcile
