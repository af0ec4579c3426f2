// The reconcile loop (controller-runtime's Controller, kube-rs `Controller`): caches announce
// changes, the changes become keys in a WorkQueue, N workers pop keys and call the reconciler.
//
// The reconciler is level-triggered: it gets only a key ("<namespace>/<name>"), reads the
// desired and observed state from caches (and the API), converges, and says when to look again.
// It never sees the event that woke it, so a missed or repeated event is harmless.
//
//   Controller flowruns(
//       [&](const std::string& key) {
//         auto run = flowrun_cache.get(key);
//         if (!run) return Action::await_change();  // deleted: owner references clean up
//         ...
//         return Action::requeue_after(std::chrono::seconds(30));
//       },
//       options);                                           // name "flowrun", workers 4
//   flowruns.watches(flowrun_cache);                        // a FlowRun changed -> its key
//   OwnerKind owner;
//   owner.kind = "FlowRun";
//   owner.group = "podflow.dev";
//   flowruns.owns(task_cache, owner);                       // a Task changed -> its FlowRun
//   flowruns.start();
#pragma once

#include <chrono>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kube/metrics.hpp"
#include "kube/object_cache.hpp"
#include "kube/work_queue.hpp"

namespace podflow::kube {

// What a reconcile asks for next.
struct Action {
  std::optional<std::chrono::milliseconds> requeue;  // look again after this long

  // Nothing to do until something changes (a watched object, or an explicit enqueue).
  static Action await_change() { return {}; }
  static Action requeue_after(std::chrono::milliseconds after) { return {after}; }
};

// An owner to map owned objects to: the ownerReference whose kind (and API group, if given)
// match. Only the ownerReference with controller: true counts unless any_owner is set.
struct OwnerKind {
  std::string kind;   // "FlowRun"
  std::string group;  // "podflow.dev"; empty: any group
  bool any_owner = false;
  bool cluster_scoped = false;  // the owner's key is its name alone
};

struct ControllerOptions {
  std::string name = "controller";  // metrics label and log prefix
  int workers = 2;
  WorkQueueOptions queue;  // queue.name defaults to `name`
};

struct ControllerMetrics {
  explicit ControllerMetrics(const std::string& name);
  CounterVec reconciles;        // {result="success|requeue|error"}
  Histogram reconcile_seconds;  // reconcile latency
  void write_prometheus(std::string& out) const;
};

class Controller {
 public:
  using Reconcile = std::function<Action(const std::string& key)>;
  // What to do after reconcile threw: return an Action to requeue after a fixed time, or
  // nullopt for the default (add_rate_limited, or the server's Retry-After when it sent one).
  // `requeues` is how many times the key has failed in a row.
  using ErrorPolicy = std::function<std::optional<Action>(
      const std::string& key, const std::exception& error, int requeues)>;

  explicit Controller(Reconcile reconcile, ControllerOptions options = {});
  ~Controller();  // stop()
  Controller(const Controller&) = delete;
  Controller& operator=(const Controller&) = delete;

  void set_error_policy(ErrorPolicy policy);

  // Every change of an object in `cache` enqueues the object's own key.
  void watches(ObjectCache& cache);
  // Every change of an object in `cache` enqueues the key of its owner of kind `owner` (same
  // namespace): a Pod's change wakes its Task, a Task's change wakes its FlowRun.
  void owns(ObjectCache& cache, OwnerKind owner);
  // Every change enqueues whatever keys `mapper` returns.
  void watches_mapped(ObjectCache& cache,
                      std::function<std::vector<std::string>(const CacheEvent& event)> mapper);

  // Starts the workers. Subscriptions made before start() have already queued every cached key.
  void start();
  // Shuts the queue down and joins the workers (each finishes its current reconcile).
  void stop();

  WorkQueue& queue() { return queue_; }
  ControllerMetrics& metrics() { return metrics_; }

 private:
  void work();
  void process(const std::string& key);

  Reconcile reconcile_;
  ErrorPolicy error_policy_;
  ControllerOptions options_;
  WorkQueue queue_;
  ControllerMetrics metrics_;
  std::vector<std::pair<ObjectCache*, int>> subscriptions_;
  std::vector<std::thread> workers_;
};

// The keys of the owners of `object` matching `owner` (usually zero or one).
std::vector<std::string> owner_keys(const nlohmann::json& object, const OwnerKind& owner);

}  // namespace podflow::kube
