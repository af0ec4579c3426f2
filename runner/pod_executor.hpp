// Runs a local run's cluster steps (runOn: Kubernetes) as pods in the current kubeconfig's
// cluster: the pod the operator would make for the step (pod::task_spec, pod::build_pod), created
// with the user's own credentials, watched, read (pod::observe_pod) and deleted by this process.
// Nothing of podflow needs to be installed in the cluster; only the rights to manage pods.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "flow/flow_spec.hpp"
#include "flow/graph.hpp"
#include "kube/kube_client.hpp"
#include "kube/watcher.hpp"
#include "pod/pod_builder.hpp"
#include "runner/executor.hpp"
#include "runtime/task_spec.hpp"

namespace podflow::runner {

// What a local run's pods get beyond the step's settings, from the environment, as Metaflow
// reads METAFLOW_KUBERNETES_* (docs/kubernetes.md, "Some steps on the cluster"):
//   PODFLOW_KUBERNETES_NAMESPACE             the namespace of steps that set none (default:
//                                            the kubeconfig's)
//   PODFLOW_KUBERNETES_CONTAINER_IMAGE       the image of steps whose flow names none
//   PODFLOW_KUBERNETES_RUNTIME_IMAGE         podflow's image: an init container copies
//                                            podflow-runtime into the pod, so any image runs
//   PODFLOW_KUBERNETES_S3_ENDPOINT           S3 as the pods reach it (default:
//                                            PODFLOW_S3_ENDPOINT, as this machine reaches it)
//   PODFLOW_KUBERNETES_S3_CREDENTIALS_SECRET a Secret with the pods' S3 keys (default: none,
//                                            the pods' own credentials: IRSA, Pod Identity)
//   AWS_REGION                               passed on
struct ClusterSettings {
  std::string namespace_;
  std::string default_image;
  pod::PodSettings pod;
};

ClusterSettings cluster_settings_from_environment();

// True when a step of `flow` runs on the cluster in a local run.
bool has_cluster_steps(const flow::FlowSpec& flow, const flow::StepSettings& overrides);

// What keeps a local run with cluster steps from starting, one message per problem, each with
// its fix. check_cluster_steps: a datastore the pods cannot share (not S3), a cluster step with no
// image. check_cluster_rights: a cluster that cannot be reached, a right the kubeconfig's user
// lacks in a step's namespace; it fills `settings.namespace_` from the kubeconfig when empty.
std::vector<std::string> check_cluster_steps(const flow::FlowSpec& flow,
                                             const flow::StepSettings& overrides,
                                             const std::string& datastore_url,
                                             const ClusterSettings& settings);
std::vector<std::string> check_cluster_rights(const flow::FlowSpec& flow,
                                              const flow::StepSettings& overrides,
                                              ClusterSettings& settings, kube::Client& client);

class PodExecutor : public Executor {
 public:
  // `run_name`: the run on the cluster (`<flow>-<run id>`); its tasks' pods are named
  // `<run_name>.<task id>` as a FlowRun's are.
  PodExecutor(kube::Client& client, const flow::FlowSpec& flow, const flow::FlowGraph& graph,
              runtime::RunContext context, ClusterSettings settings, std::string run_name,
              std::int64_t grace_seconds);
  ~PodExecutor() override;

  void launch(const flow::PlannedTask& task) override;
  std::size_t running() const override { return running_.size(); }
  std::vector<FinishedTask> collect(std::vector<std::string>& notes) override;
  void stop_all() override;
  void kill_everything() override;
  void clean_up() override;

  // `namespace/name` of the running tasks' pods, by task id (for `podflow logs` while they run).
  std::map<std::string, std::string> running_pods() const;

 private:
  struct PodTask {
    flow::PlannedTask task;
    nlohmann::json task_object;  // the Task, never created: build_pod and observe_pod read it
    std::string unusable;        // why no Task could be made for it (then it never runs)
    std::string namespace_, name;
    std::chrono::steady_clock::time_point launched, next_try, created_at;
    bool created = false;  // false: waiting to create (the last attempt's pod is going)
    bool seen = false;     // the watch has shown the pod
    bool stopping = false;
    std::string shown_reason;  // the pending reason last shown
    std::string uid;
  };

  void watch(const std::string& namespace_);
  std::optional<FinishedTask> advance(PodTask& task, std::vector<std::string>& notes);
  std::optional<FinishedTask> create(PodTask& task, std::vector<std::string>& notes);
  FinishedTask ended(const PodTask& task);
  void delete_pod(const std::string& namespace_, const std::string& name,
                  std::optional<std::int64_t> grace_seconds);
  // Deletes every pod of this run left in the cluster and waits (at most `wait`) until they
  // are gone; false when some are still there.
  bool delete_all_and_wait(std::chrono::seconds wait);

  kube::Client& client_;
  const flow::FlowSpec& flow_;
  const flow::FlowGraph& graph_;
  runtime::RunContext context_;
  ClusterSettings settings_;
  std::string run_name_;
  std::string runner_id_;  // label value that selects this process's pods, and only them
  std::int64_t grace_seconds_;
  std::map<std::string, std::unique_ptr<kube::Watcher>> watchers_;  // by namespace
  mutable std::mutex mutex_;
  std::unordered_map<std::string, nlohmann::json> pods_;  // "ns/name" -> latest seen
  std::map<std::string, PodTask> running_;                // by "ns/name"
};

}  // namespace podflow::runner
