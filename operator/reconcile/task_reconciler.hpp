// The Task reconciler: exactly one Pod per attempt, named after the Task and owned by it; the
// attempt's outcome read from the Pod (the runtime's result in the termination message, or what
// Kubernetes says: OOMKilled, DeadlineExceeded, Evicted, Unschedulable, ...); retries with a new
// attempt per the step's policy.
//
// No attempt ever has two pods: a pod is created only right after a status write that succeeded
// with the cached resourceVersion (so the decision was made on the latest Task), and the next
// attempt's pod only after the previous one is gone (pods of one Task share its name).
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

#include "operator/kube/controller.hpp"
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

  OperatorContext& context_;
  WriteTracker writes_;
  // Pods created and not yet seen in the cache, by Task key: (attempt, when). Their watch event
  // wakes the Task; until then a second create would only earn an AlreadyExists.
  std::mutex created_mutex_;
  std::unordered_map<std::string, std::pair<std::int64_t, std::chrono::steady_clock::time_point>>
      created_;
};

}  // namespace podflow::reconcile
