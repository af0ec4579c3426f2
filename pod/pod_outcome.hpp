// What a Task attempt's Pod says about the attempt, in words a user understands: the phase, a
// one-word reason (the Task's status.reason) and a sentence with what to do (status.message).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace podflow::pod {

enum class AttemptPhase { Pending, Running, Succeeded, Failed };

struct PodOutcome {
  AttemptPhase phase = AttemptPhase::Pending;
  // One word: Unschedulable, ImagePullBackOff, ErrImagePull, InvalidImageName,
  // CreateContainerConfigError, ContainerCreating, Running, Completed (success), Error,
  // TimedOut, Signaled, Stopped, TaskError, OOMKilled, DeadlineExceeded, Evicted, StartError,
  // InvalidResult, ...
  std::string reason;
  std::string message;  // a sentence with what to do; at most kMaxMessageBytes
  std::optional<std::int64_t> exit_code;
  bool retryable = true;                    // Failed only: false when no retry can fix it
  std::optional<std::int64_t> split_count;  // Succeeded foreach step (from the runtime's result)
  std::string node_name, start_time, completion_time;  // RFC 3339 strings as in the pod
};

inline constexpr std::size_t kMaxMessageBytes = 4096;

std::string_view attempt_phase_name(AttemptPhase phase);

// Reads the pod's status (phase, conditions, the `step` container's state and its termination
// message, which holds podflow-runtime's result) together with the Task (its requests, image and
// timeoutSeconds, for the messages). Never throws on odd pod JSON: what it cannot read it treats
// as absent.
PodOutcome observe_pod(const nlohmann::json& pod, const nlohmann::json& task);

// The pod was deleted because its node stopped reporting (the taint-based eviction of a node that
// is unreachable or not ready): only that node's kubelet could confirm the deletion, so the pod
// stays Terminating until the node returns.
bool evicted_from_lost_node(const nlohmann::json& pod);

}  // namespace podflow::pod
