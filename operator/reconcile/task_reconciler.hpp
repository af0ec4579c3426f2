// The Task reconciler: exactly one Pod per attempt, named after the Task and owned by it; the
// attempt's outcome read from the Pod (the runtime's result in the termination message, or what
// Kubernetes says: OOMKilled, DeadlineExceeded, Evicted, Unschedulable, ...); retries with a new
// attempt per the step's policy.
//
// No attempt ever has two pods: a retry's pod is created only right after a status write that
// succeeded with the cached resourceVersion (so the decision was made on the latest Task), the
// first attempt's pod only while the Task has no status at all, and the next attempt's pod only
// after the previous one is gone (pods of one Task share its name).
//
// Writes per Task are few on purpose (each is a custom-resource write the API server pays for):
// none when its first pod is created, none for the ordinary moments of a pod's start, Running
// only after kRunningWriteDelay, and one for the end.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

#include "kube/controller.hpp"
#include "operator/reconcile/operator_context.hpp"
#include "operator/reconcile/write_tracker.hpp"

namespace podflow::reconcile {

class TaskReconciler {
 public:
  explicit TaskReconciler(OperatorContext& context) : context_(context) {}

  kube::Action reconcile(const std::string& key);

 private:
  // PUT of the status with the cached resourceVersion (Conflict when the cache was stale).
  nlohmann::json write_status(const nlohmann::json& task, const nlohmann::json& status);
  // A failed attempt: the next one (Retrying) or the end (Failed).
  nlohmann::json after_failure(const nlohmann::json& task, nlohmann::json status,
                               const std::string& reason, const std::string& message,
                               bool retryable);
  void delete_pod(const nlohmann::json& pod);
  // Removes the pod at once (grace 0), as `kubectl delete --force`: for a pod whose node is lost.
  void force_delete_pod(const nlohmann::json& pod);
  // Creates the attempt's pod from `task`, which must carry spec.runtime.
  void create_pod(const std::string& key, const nlohmann::json& task, std::int64_t attempt);

  // How long a pod runs before its Task is written Running.
  static constexpr std::chrono::seconds kRunningWriteDelay{10};

  OperatorContext& context_;
  WriteTracker writes_;
  // The pods this process created, by Task key, until the Task ends: a pod that was seen and is
  // gone was deleted (the Task's status may not say it ever had one); one not seen yet is on its
  // way (a second create would only earn an AlreadyExists).
  struct CreatedPod {
    std::int64_t attempt;
    std::chrono::steady_clock::time_point when;
    bool seen;
  };
  std::mutex created_mutex_;
  std::unordered_map<std::string, CreatedPod> created_;
};

}  // namespace podflow::reconcile
