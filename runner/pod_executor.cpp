#include "runner/pod_executor.hpp"

#include <fstream>
#include <set>
#include <thread>

#include "kube/kube_error.hpp"
#include "kube/resource.hpp"
#include "pod/pod_outcome.hpp"
#include "pod/task_names.hpp"
#include "pod/task_spec.hpp"

namespace podflow::runner {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kRunnerLabel = "podflow.dev/runner";
constexpr auto kApiRetryFor = std::chrono::minutes(2);
constexpr std::int64_t kLogBytes = 1 << 20;

std::string environment(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

std::string random_hex(std::size_t bytes) {
  std::ifstream random("/dev/urandom", std::ios::binary);
  std::string text;
  static const char* digits = "0123456789abcdef";
  for (std::size_t i = 0; i < bytes; ++i) {
    const auto byte = static_cast<unsigned char>(random.get());
    text += digits[byte >> 4];
    text += digits[byte & 15];
  }
  return text;
}

// The moments of a pod's start that need no one's attention.
bool ordinary_pending(const std::string& reason) {
  return reason.empty() || reason == "CreatingPod" || reason == "Pending" ||
         reason == "ContainerCreating" || reason == "PodInitializing";
}

std::string step_namespace(const flow::EffectiveSettings& settings,
                           const ClusterSettings& cluster) {
  return settings.namespace_.empty() ? cluster.namespace_ : settings.namespace_;
}

// May the kubeconfig's user do `verb` on `resource` (with `subresource`) in `namespace_`?
bool allowed(kube::Client& client, const std::string& namespace_, const std::string& verb,
             const std::string& resource, const std::string& subresource) {
  json attributes = {{"namespace", namespace_}, {"verb", verb}, {"resource", resource}};
  if (!subresource.empty()) attributes["subresource"] = subresource;
  const json review =
      client.request("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {},
                     json{{"apiVersion", "authorization.k8s.io/v1"},
                          {"kind", "SelfSubjectAccessReview"},
                          {"spec", {{"resourceAttributes", attributes}}}});
  return review.value("status", json::object()).value("allowed", false);
}

}  // namespace

ClusterSettings cluster_settings_from_environment() {
  ClusterSettings settings;
  settings.namespace_ = environment("PODFLOW_KUBERNETES_NAMESPACE");
  settings.default_image = environment("PODFLOW_KUBERNETES_CONTAINER_IMAGE");
  settings.pod.runtime_image = environment("PODFLOW_KUBERNETES_RUNTIME_IMAGE");
  settings.pod.s3_endpoint = environment("PODFLOW_KUBERNETES_S3_ENDPOINT");
  if (settings.pod.s3_endpoint.empty())
    settings.pod.s3_endpoint = environment("PODFLOW_S3_ENDPOINT");
  settings.pod.s3_region = environment("AWS_REGION");
  settings.pod.s3_credentials_secret = environment("PODFLOW_KUBERNETES_S3_CREDENTIALS_SECRET");
  settings.pod.managed_by = pod::kManagedByLocalRun;
  return settings;
}

bool has_cluster_steps(const flow::FlowSpec& flow, const flow::StepSettings& overrides) {
  for (const auto& step : flow.steps) {
    if (flow::effective_settings(flow, step, overrides).runOn == "Kubernetes") return true;
  }
  return false;
}

namespace {

// The cluster steps' names, quoted, for messages: 'train', 'score'.
std::string cluster_step_names(const flow::FlowSpec& flow, const flow::StepSettings& overrides) {
  std::string listed;
  for (const auto& step : flow.steps) {
    if (flow::effective_settings(flow, step, overrides).runOn != "Kubernetes") continue;
    listed += (listed.empty() ? "'" : ", '") + step.name + "'";
  }
  return listed;
}

}  // namespace

std::vector<std::string> check_cluster_steps(const flow::FlowSpec& flow,
                                             const flow::StepSettings& overrides,
                                             const std::string& datastore_url,
                                             const ClusterSettings& settings) {
  std::vector<std::string> problems;
  const std::string listed = cluster_step_names(flow, overrides);
  if (listed.empty()) return problems;
  if (datastore_url.rfind("s3://", 0) != 0) {
    problems.push_back("step " + listed +
                       " runs on Kubernetes (runOn: Kubernetes), and its pods cannot use the "
                       "local datastore " +
                       datastore_url +
                       ": give the run an S3 datastore that this machine and the pods both "
                       "reach (--datastore s3://bucket/prefix, or PODFLOW_DATASTORE), as Metaflow "
                       "needs --datastore=s3 for @kubernetes");
  }
  for (const auto& step : flow.steps) {
    const auto effective = flow::effective_settings(flow, step, overrides);
    if (effective.runOn == "Kubernetes" && effective.image.empty() &&
        settings.default_image.empty()) {
      problems.push_back("step '" + step.name +
                         "' runs on Kubernetes but names no image: set `image` on the step or "
                         "`spec.image`, or PODFLOW_KUBERNETES_CONTAINER_IMAGE");
    }
  }
  return problems;
}

std::vector<std::string> check_cluster_rights(const flow::FlowSpec& flow,
                                              const flow::StepSettings& overrides,
                                              ClusterSettings& settings, kube::Client& client) {
  std::vector<std::string> problems;
  if (settings.namespace_.empty()) settings.namespace_ = client.config().default_namespace;
  std::set<std::string> namespaces;
  for (const auto& step : flow.steps) {
    const auto effective = flow::effective_settings(flow, step, overrides);
    if (effective.runOn == "Kubernetes") namespaces.insert(step_namespace(effective, settings));
  }
  const std::string listed = cluster_step_names(flow, overrides);
  const std::string server = client.config().server;
  for (const auto& namespace_ : namespaces) {
    std::vector<std::string> missing;
    try {
      for (const auto& [verb, subresource] :
           std::vector<std::pair<std::string, std::string>>{{"create", ""},
                                                            {"get", ""},
                                                            {"list", ""},
                                                            {"watch", ""},
                                                            {"delete", ""},
                                                            {"get", "log"}}) {
        if (!allowed(client, namespace_, verb, "pods", subresource)) {
          missing.push_back(verb + " pods" + (subresource.empty() ? "" : "/" + subresource));
        }
      }
    } catch (const std::exception& error) {
      problems.push_back("step " + listed + " runs on Kubernetes, but the cluster " + server +
                         " of the kubeconfig cannot be asked: " + error.what() +
                         " (kubectl cluster-info checks the kubeconfig)");
      return problems;
    }
    if (!missing.empty()) {
      std::string verbs;
      for (const auto& verb : missing) verbs += (verbs.empty() ? "" : ", ") + verb;
      problems.push_back("step " + listed +
                         " runs on Kubernetes, but the kubeconfig's user may not " + verbs +
                         " in namespace '" + namespace_ + "' of " + server +
                         ": ask the cluster's admin for the Role in docs/kubernetes.md "
                         "(\"Some steps on the cluster\"); podflow's operator is not needed");
    }
  }
  return problems;
}

PodExecutor::PodExecutor(kube::Client& client, const flow::FlowSpec& flow,
                         const flow::FlowGraph& graph, runtime::RunContext context,
                         ClusterSettings settings, std::string run_name, std::int64_t grace_seconds)
    : client_(client),
      flow_(flow),
      graph_(graph),
      context_(std::move(context)),
      settings_(std::move(settings)),
      run_name_(std::move(run_name)),
      runner_id_(random_hex(8)),
      grace_seconds_(grace_seconds) {
  // The pod runs the step in its image's own directory, not this machine's.
  context_.workingDir.reset();
}

PodExecutor::~PodExecutor() {
  for (auto& [namespace_, watcher] : watchers_) watcher->stop();
}

void PodExecutor::watch(const std::string& namespace_) {
  if (watchers_.contains(namespace_)) return;
  kube::WatcherOptions options;
  options.label_selector = std::string(kRunnerLabel) + "=" + runner_id_;
  auto watcher = std::make_unique<kube::Watcher>(
      client_, kube::resources::pods(), namespace_,
      [this, namespace_](const kube::WatchEvent& event) {
        std::lock_guard lock(mutex_);
        switch (event.type) {
          case kube::WatchEvent::Type::restarted:
            std::erase_if(pods_, [&](const auto& entry) {
              return entry.first.rfind(namespace_ + "/", 0) == 0;
            });
            for (const auto& pod : event.objects) pods_[kube::object_key(pod)] = pod;
            break;
          case kube::WatchEvent::Type::added:
          case kube::WatchEvent::Type::modified:
            pods_[kube::object_key(event.object)] = event.object;
            break;
          case kube::WatchEvent::Type::deleted:
            pods_.erase(kube::object_key(event.object));
            break;
          case kube::WatchEvent::Type::bookmark:
            break;
        }
      },
      options);
  watcher->start();
  watchers_.emplace(namespace_, std::move(watcher));
}

void PodExecutor::launch(const flow::PlannedTask& task) {
  PodTask pod_task;
  pod_task.task = task;
  pod_task.launched = Clock::now();
  pod_task.next_try = pod_task.launched;
  const auto settings =
      flow::effective_settings(flow_, *graph_.node(task.step).step, context_.overrides);
  pod_task.namespace_ = step_namespace(settings, settings_);
  pod::TaskSpecInputs inputs;
  inputs.flow_run = run_name_;
  inputs.default_image = settings_.default_image;
  inputs.work_dir = settings_.pod.work_dir;
  try {
    pod_task.name = pod::task_object_name(run_name_, task.id);
    json spec = pod::task_spec(flow_, graph_, task, context_, inputs);
    spec["labels"][kRunnerLabel] = runner_id_;
    pod_task.task_object = {
        {"apiVersion", "podflow.dev/v1alpha1"},
        {"kind", "Task"},
        {"metadata", {{"name", pod_task.name}, {"namespace", pod_task.namespace_}}},
        {"spec", std::move(spec)}};
  } catch (const std::exception& error) {
    // Not a pod at all: the next collect() reports it, and no retry can help.
    pod_task.name = task.id;
    pod_task.unusable = error.what();
  }
  watch(pod_task.namespace_);
  running_.emplace(pod_task.namespace_ + "/" + pod_task.name + "#" + std::to_string(task.attempt),
                   std::move(pod_task));
}

std::vector<FinishedTask> PodExecutor::collect(std::vector<std::string>& notes) {
  std::vector<FinishedTask> finished;
  for (auto entry = running_.begin(); entry != running_.end();) {
    if (auto done = advance(entry->second, notes)) {
      finished.push_back(std::move(*done));
      entry = running_.erase(entry);
    } else {
      ++entry;
    }
  }
  return finished;
}

std::optional<FinishedTask> PodExecutor::advance(PodTask& task, std::vector<std::string>& notes) {
  if (!task.unusable.empty()) {
    FinishedTask failed;
    failed.task = task.task;
    failed.retryable = false;
    failed.reason = task.unusable;
    return failed;
  }
  if (!task.created) return create(task, notes);
  std::optional<json> pod;
  {
    std::lock_guard lock(mutex_);
    if (auto found = pods_.find(task.namespace_ + "/" + task.name); found != pods_.end()) {
      if (kube::uid_of(found->second) == task.uid) pod = found->second;
    }
  }
  if (!pod && !task.seen && Clock::now() - task.created_at > std::chrono::seconds(30)) {
    // The watch never showed it: deleted at once by someone, or the watch is down. Ask.
    try {
      const auto current = client_.get(kube::resources::pods(), task.namespace_, task.name);
      if (current && kube::uid_of(*current) == task.uid) {
        pod = *current;
      } else {
        task.seen = true;  // gone: reported below
      }
    } catch (const std::exception&) {
      task.created_at = Clock::now();  // the API server is away: ask again later
    }
  }
  if (!pod) {
    if (!task.seen) return std::nullopt;  // the watch has not shown it yet
    FinishedTask gone;
    gone.task = task.task;
    gone.duration_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - task.launched).count();
    gone.retryable = !task.stopping;
    gone.reason = task.stopping ? "stopped: its pod was deleted"
                                : "its pod " + task.namespace_ + "/" + task.name +
                                      " was deleted before the step ended";
    return gone;
  }
  task.seen = true;
  const pod::PodOutcome outcome = pod::observe_pod(*pod, task.task_object);
  switch (outcome.phase) {
    case pod::AttemptPhase::Pending:
      if (!ordinary_pending(outcome.reason) && outcome.reason != task.shown_reason) {
        notes.push_back("podflow: " + context_.run + "/" + task.task.id + " (pod " +
                        task.namespace_ + "/" + task.name + ") is pending: " + outcome.reason +
                        (outcome.message.empty() ? "" : ": " + outcome.message));
      }
      task.shown_reason = outcome.reason;
      return std::nullopt;
    case pod::AttemptPhase::Running:
      return std::nullopt;
    case pod::AttemptPhase::Succeeded:
    case pod::AttemptPhase::Failed:
      break;
  }
  FinishedTask done = ended(task);
  done.succeeded = outcome.phase == pod::AttemptPhase::Succeeded;
  done.split_count = outcome.split_count;
  done.retryable = outcome.retryable;
  if (!done.succeeded) {
    done.reason = outcome.message.empty() ? outcome.reason : outcome.message;
    if (task.stopping) done.reason = "stopped: " + done.reason;
  }
  delete_pod(task.namespace_, task.name, std::nullopt);
  return done;
}

std::optional<FinishedTask> PodExecutor::create(PodTask& task, std::vector<std::string>& notes) {
  const auto now = Clock::now();
  if (now < task.next_try) return std::nullopt;
  FinishedTask failed;
  failed.task = task.task;
  try {
    const json pod = pod::build_pod(task.task_object, task.task.attempt, settings_.pod);
    const json created = client_.create(kube::resources::pods(), task.namespace_, pod);
    task.uid = kube::uid_of(created);
    task.created = true;
    task.created_at = Clock::now();
    return std::nullopt;
  } catch (const kube::KubeError& error) {
    if (kube::is_already_exists(error)) {
      // An earlier attempt's pod, still being deleted, has the name: the next attempt waits for
      // it (no attempt ever has two pods). A pod that is not this run's is an error.
      bool ours = false;
      {
        std::lock_guard lock(mutex_);
        ours = pods_.contains(task.namespace_ + "/" + task.name);
      }
      if (ours || (task.task.attempt > 0 && now - task.launched < std::chrono::minutes(1))) {
        task.next_try = now + std::chrono::milliseconds(500);
        return std::nullopt;
      }
      failed.retryable = false;
      failed.reason = "a pod named " + task.name + " already exists in namespace " +
                      task.namespace_ +
                      " and is not this run's (a run of the same flow and run id from another "
                      "datastore?): delete it (kubectl delete pod -n " +
                      task.namespace_ + " " + task.name +
                      ") or use another namespace (PODFLOW_KUBERNETES_NAMESPACE)";
      return failed;
    }
    if (kube::is_retryable(error) && now - task.launched < kApiRetryFor) {
      if (task.shown_reason != "ApiError") {
        notes.push_back("podflow: cannot create the pod of " + context_.run + "/" + task.task.id +
                        " yet (" + error.what() + "); trying again");
        task.shown_reason = "ApiError";
      }
      task.next_try = now + std::chrono::seconds(2);
      return std::nullopt;
    }
    failed.retryable = false;
    failed.reason = "cannot create the pod " + task.namespace_ + "/" + task.name + ": " +
                    error.what() +
                    (kube::is_forbidden(error)
                         ? " (the kubeconfig's user needs the Role in docs/kubernetes.md, "
                           "\"Some steps on the cluster\")"
                         : "");
    return failed;
  } catch (const std::exception& error) {
    failed.retryable = false;
    failed.reason = error.what();
    return failed;
  }
}

FinishedTask PodExecutor::ended(const PodTask& task) {
  FinishedTask done;
  done.task = task.task;
  done.duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - task.launched).count();
  // What the step printed: the pod's log (stdout and stderr together), as kubectl logs shows it.
  try {
    kube::PodLogOptions options;
    options.container = pod::kContainerName;
    options.limit_bytes = kLogBytes;
    const std::string text = client_.pod_log(task.namespace_, task.name, options);
    add_output_lines(done.output, text);
    done.output.cut = text.size() >= static_cast<std::size_t>(kLogBytes);
  } catch (const std::exception&) {
    // no log (a pod that never started): the reason says why
  }
  return done;
}

void PodExecutor::delete_pod(const std::string& namespace_, const std::string& name,
                             std::optional<std::int64_t> grace_seconds) {
  kube::DeleteOptions options;
  options.grace_period_seconds = grace_seconds;
  try {
    client_.remove(kube::resources::pods(), namespace_, name, options);
  } catch (const std::exception&) {
    // clean_up() deletes whatever is left, and says so if it cannot
  }
}

void PodExecutor::stop_all() {
  for (auto& [key, task] : running_) {
    if (!task.created || task.stopping) continue;
    task.stopping = true;
    delete_pod(task.namespace_, task.name, grace_seconds_);
  }
}

void PodExecutor::kill_everything() {
  clean_up();  // every pod of the run, deleted with the grace period, and waited for
  running_.clear();
}

void PodExecutor::clean_up() {
  if (!delete_all_and_wait(std::chrono::seconds(grace_seconds_ + 30))) {
    std::fprintf(stderr,
                 "podflow: some pods of this run are still being deleted: kubectl get pods -A -l "
                 "%s=%s\n",
                 kRunnerLabel, runner_id_.c_str());
  }
}

bool PodExecutor::delete_all_and_wait(std::chrono::seconds wait) {
  kube::ListOptions selector;
  selector.label_selector = std::string(kRunnerLabel) + "=" + runner_id_;
  const auto deadline = Clock::now() + wait;
  std::set<std::string> deleted;
  while (true) {
    bool left = false;
    for (const auto& [namespace_, watcher] : watchers_) {
      std::vector<json> pods;
      try {
        pods = client_.list_all(kube::resources::pods(), namespace_, selector).items;
      } catch (const std::exception&) {
        left = true;  // cannot tell: keep trying until the deadline
        continue;
      }
      for (const auto& pod : pods) {
        left = true;
        const std::string key = kube::object_key(pod);
        if (deleted.insert(key).second) {
          delete_pod(namespace_, kube::name_of(pod), grace_seconds_);
        }
      }
    }
    if (!left) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
}

std::map<std::string, std::string> PodExecutor::running_pods() const {
  std::map<std::string, std::string> pods;
  for (const auto& [key, task] : running_) {
    if (task.created) pods[task.task.id] = task.namespace_ + "/" + task.name;
  }
  return pods;
}

}  // namespace podflow::runner
