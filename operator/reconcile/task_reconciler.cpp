#include "operator/reconcile/task_reconciler.hpp"

#include <chrono>

#include "kube/kube_time.hpp"
#include "operator/reconcile/api_resources.hpp"
#include "pod/pod_outcome.hpp"

namespace podflow::reconcile {
namespace {

using nlohmann::json;
using Clock = std::chrono::system_clock;

std::string now() {
  return kube::format_time(Clock::now());
}

std::int64_t pod_attempt(const json& pod) {
  const auto& labels = pod["metadata"].value("labels", json::object());
  try {
    return std::stoll(labels.value("podflow.dev/attempt", "-1"));
  } catch (const std::exception&) {
    return -1;
  }
}

std::string phase_name(pod::AttemptPhase phase) {
  switch (phase) {
    case pod::AttemptPhase::Pending:
      return "Pending";
    case pod::AttemptPhase::Running:
      return "Running";
    case pod::AttemptPhase::Succeeded:
      return "Succeeded";
    case pod::AttemptPhase::Failed:
      return "Failed";
  }
  return "Pending";
}

}  // namespace

json TaskReconciler::write_status(const json& task, const json& status) {
  json updated = task;
  updated["status"] = status;
  json stored = context_.client.replace_status(tasks(), kube::namespace_of(task),
                                               kube::name_of(task), updated);
  writes_.wrote(kube::object_key(task), kube::resource_version_of(task),
                kube::resource_version_of(stored));
  return stored;
}

void TaskReconciler::delete_pod(const json& pod) {
  if (pod["metadata"].contains("deletionTimestamp")) return;
  kube::DeleteOptions options;
  options.precondition_uid = kube::uid_of(pod);
  options.grace_period_seconds = 0;  // it has ended: nothing to wait for
  try {
    context_.client.remove(kube::resources::pods(), kube::namespace_of(pod), kube::name_of(pod),
                           options);
  } catch (const kube::KubeError& error) {
    if (!kube::is_conflict(error)) throw;  // already replaced: the watch tells us what is there
  }
}

void TaskReconciler::force_delete_pod(const json& pod) {
  kube::DeleteOptions options;
  options.precondition_uid = kube::uid_of(pod);
  options.grace_period_seconds = 0;
  try {
    context_.client.remove(kube::resources::pods(), kube::namespace_of(pod), kube::name_of(pod),
                           options);
  } catch (const kube::KubeError& error) {
    if (!kube::is_conflict(error) && !kube::is_not_found(error)) throw;
  }
}

json TaskReconciler::after_failure(const json& task, json status, const std::string& reason,
                                   const std::string& message, bool retryable) {
  const json& retry = task["spec"].value("retry", json::object());
  const std::int64_t times = retry.value("times", std::int64_t{0});
  const std::int64_t delay = retry.value("delaySeconds", std::int64_t{0});
  const std::int64_t attempt = status.value("attempt", std::int64_t{0});
  status["reason"] = reason;
  status["completionTime"] = now();
  if (retryable && attempt < times) {
    status["phase"] = "Retrying";
    status["attempt"] = attempt + 1;
    status["podUID"] = "";
    status["retryAfter"] = kube::format_time(Clock::now() + std::chrono::seconds(delay));
    status["message"] = "attempt " + std::to_string(attempt) + " failed: " + message +
                        "; attempt " + std::to_string(attempt + 1) + " (of " +
                        std::to_string(times + 1) + ") starts in " + std::to_string(delay) + " s";
    context_.events.record(task, kube::EventType::warning, reason, status["message"]);
  } else {
    status["phase"] = "Failed";
    status["message"] = message;
    context_.events.record(task, kube::EventType::warning, reason, message);
  }
  return status;
}

kube::Action TaskReconciler::reconcile(const std::string& key) {
  const kube::ObjectPtr cached = context_.tasks.get(key);
  if (!cached || (*cached)["metadata"].contains("deletionTimestamp")) {
    writes_.forget(key);
    std::lock_guard lock(created_mutex_);
    created_.erase(key);
    return kube::Action::await_change();  // its Pod goes with it (owner reference)
  }
  if (writes_.is_stale(key, kube::resource_version_of(*cached))) {
    return kube::Action::await_change();  // our last write's event is on its way
  }
  const json& task = *cached;
  const json status = task.value("status", json::object());
  const std::string phase = status.value("phase", "");
  if (is_terminal_phase(phase)) {
    std::lock_guard lock(created_mutex_);
    created_.erase(key);
    return kube::Action::await_change();
  }
  const std::int64_t attempt = status.value("attempt", std::int64_t{0});
  const std::string uid = kube::uid_of(task);

  const kube::ObjectPtr pod = context_.pods.get(key);
  bool deleted_after_seen = false;
  {
    std::lock_guard lock(created_mutex_);
    auto created = created_.find(key);
    if (created != created_.end()) {
      CreatedPod& record = created->second;
      if (pod && pod_attempt(*pod) == record.attempt) record.seen = true;
      const bool old = std::chrono::steady_clock::now() - record.when > std::chrono::seconds(30);
      if (record.attempt != attempt) {
        created_.erase(created);
      } else if (!pod && record.seen) {
        // Our pod of this attempt was there and is gone before the attempt ended (the Task's
        // status may not have recorded it: its start is not written).
        deleted_after_seen = true;
        created_.erase(created);
      } else if (!pod && !old) {
        return kube::Action::requeue_after(std::chrono::seconds(30));  // its event is on its way
      } else if (!pod) {
        created_.erase(created);  // never seen in 30 s: create it again (or learn it exists)
      }
    }
  }
  if (pod) {
    if (!owned_by(*pod, uid)) {
      // The pod of an earlier Task of the same name, which the garbage collector is removing.
      return kube::Action::requeue_after(std::chrono::seconds(2));
    }
    if (pod::evicted_from_lost_node(*pod)) {
      // Kubernetes deleted the pod because its node stopped reporting, and only that node's
      // kubelet can confirm a deletion: the pod would stay Terminating, and, having the Task's
      // name, block the next attempt until the node returns. Once its grace period is over it is
      // removed (as `kubectl delete --force`) and the task runs again. Its process may still run
      // on a partitioned node; it can only commit its own attempt, never this one's.
      const auto deadline =
          kube::parse_time(pod->at("metadata").value("deletionTimestamp", std::string()));
      if (deadline && *deadline > Clock::now()) {
        return kube::Action::requeue_after(
            std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - Clock::now()) +
            std::chrono::milliseconds(500));
      }
      if (pod_attempt(*pod) == attempt && phase != "Retrying") {
        json next = status;
        next["attempt"] = attempt;
        const std::string node = pod->at("spec").value("nodeName", std::string("its node"));
        write_status(task, after_failure(task, next, "NodeLost",
                                         "node " + node +
                                             " stopped reporting while the step ran, and "
                                             "Kubernetes evicted its pods; the pod was removed",
                                         true));
      }
      force_delete_pod(*pod);
      return kube::Action::await_change();
    }
    if (pod_attempt(*pod) != attempt || phase == "Retrying") {
      delete_pod(*pod);  // an earlier attempt's pod: the next one starts when it is gone
      return kube::Action::await_change();
    }
    const pod::PodOutcome outcome = pod::observe_pod(*pod, task);
    // The ordinary moments of a pod's start are not worth a write each (at 100,000 tasks every
    // request counts): the Task says Pending until the pod runs, ends, or needs a person.
    const auto ordinary = [](const std::string& reason) {
      return reason.empty() || reason == "CreatingPod" || reason == "Pending" ||
             reason == "ContainerCreating";
    };
    const bool quiet =
        (phase.empty() || phase == "Pending") && ordinary(status.value("reason", ""));
    if (outcome.phase == pod::AttemptPhase::Pending && quiet && ordinary(outcome.reason)) {
      return kube::Action::await_change();
    }
    // Nor is the start of a task that ends within seconds: Running is written once the pod has
    // run for kRunningWriteDelay (a 1 s task is then one status write, its end).
    if (outcome.phase == pod::AttemptPhase::Running && quiet) {
      if (const auto started = kube::parse_time(outcome.start_time)) {
        const auto due = *started + kRunningWriteDelay;
        if (due > Clock::now()) {
          return kube::Action::requeue_after(
              std::chrono::duration_cast<std::chrono::milliseconds>(due - Clock::now()) +
              std::chrono::milliseconds(50));
        }
      }
    }
    json next = status;
    next["attempt"] = attempt;
    next["podUID"] = kube::uid_of(*pod);
    if (!outcome.node_name.empty()) next["nodeName"] = outcome.node_name;
    if (!outcome.start_time.empty()) next["startTime"] = outcome.start_time;
    if (outcome.exit_code) next["exitCode"] = *outcome.exit_code;
    switch (outcome.phase) {
      case pod::AttemptPhase::Pending:
      case pod::AttemptPhase::Running:
        next["phase"] = phase_name(outcome.phase);
        next["reason"] = outcome.reason;
        next["message"] = outcome.message;
        break;
      case pod::AttemptPhase::Succeeded:
        next["phase"] = "Succeeded";
        next["reason"] = outcome.reason.empty() ? "Completed" : outcome.reason;
        next["message"] = outcome.message;
        next["completionTime"] = outcome.completion_time.empty() ? now() : outcome.completion_time;
        if (outcome.split_count) next["splitCount"] = *outcome.split_count;
        break;
      case pod::AttemptPhase::Failed:
        next = after_failure(task, next, outcome.reason, outcome.message, outcome.retryable);
        if (!outcome.completion_time.empty()) next["completionTime"] = outcome.completion_time;
        break;
    }
    if (next != status) write_status(task, next);
    if (next["phase"] == "Retrying") delete_pod(*pod);
    return kube::Action::await_change();
  }

  // No pod.
  if (phase == "Retrying") {
    const auto after = kube::parse_time(status.value("retryAfter", ""));
    if (after && *after > Clock::now()) {
      return kube::Action::requeue_after(
          std::chrono::duration_cast<std::chrono::milliseconds>(*after - Clock::now()) +
          std::chrono::milliseconds(50));
    }
  } else if (deleted_after_seen || !status.value("podUID", "").empty()) {
    // This attempt's pod existed and is gone before it ended: deleted by someone, or evicted and
    // removed.
    write_status(task, after_failure(task, status, "PodDeleted",
                                     "the pod was deleted before the step finished", true));
    return kube::Action::await_change();
  }

  if (phase.empty() && attempt == 0 && task.value("spec", json::object()).contains("runtime")) {
    // A new Task's first pod needs no fence: the pod's name is the Task's, so a second create
    // (from a stale cache or a second operator) gets AlreadyExists, and the cache keeps a Task's
    // runtime spec until its status is first written.
    create_pod(key, task, attempt);
    return kube::Action::await_change();
  }

  // The fence: this write succeeds only if the Task we decided on is the latest.
  json next = status;
  next["phase"] = "Pending";
  next["attempt"] = attempt;
  next["podUID"] = "";
  next["reason"] = "CreatingPod";
  next["message"] = "";
  next.erase("retryAfter");
  next.erase("exitCode");
  next.erase("completionTime");
  next.erase("nodeName");
  next.erase("startTime");
  create_pod(key, write_status(task, next), attempt);
  return kube::Action::await_change();
}

void TaskReconciler::create_pod(const std::string& key, const json& task, std::int64_t attempt) {
  try {
    context_.client.create(kube::resources::pods(), kube::namespace_of(task),
                           pod::build_pod(task, attempt, context_.settings.pod));
    std::lock_guard lock(created_mutex_);
    created_[key] = {attempt, std::chrono::steady_clock::now(), false};
  } catch (const kube::KubeError& error) {
    if (!kube::is_already_exists(error)) throw;  // it exists: its watch event wakes us
  } catch (const std::invalid_argument& error) {
    json status = task.value("status", json::object());
    status["attempt"] = attempt;
    write_status(task, after_failure(task, status, "InvalidTask", error.what(), false));
  }
}

}  // namespace podflow::reconcile
