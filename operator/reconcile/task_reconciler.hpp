// The Task reconciler: exactly one Pod per attempt, named after the Task and owned by it; the
// attempt's outcome read from the Pod (the runtime's result in the termination message, or what
// Kubernetes says: OOMKilled, DeadlineExceeded, Evicted, Unschedulable, ...); retries with a new
// attempt per the step's policy.
//
// No attempt ever has two pods: a pod is created only right after a status write that succeeded
// with the cached resourceVersion (so the decision was made on the latest Task), and the next
// attempt's pod only after the previous one is gone (pods of one Task share its name).
#pragma once

#include <string>

#include "operator/kube/controller.hpp"
#include "operator/reconcile/operator_context.hpp"

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
};

}  // namespace podflow::reconcile
