// The result of one task attempt, as the runtime reports it: to --result FILE, $PODFLOW_RESULT_PATH
// or /dev/termination-log. At most 4 KiB of JSON, so it fits a Kubernetes termination message:
//
// {"status": "failed", "reason": "exit code 3", "exitCode": 3, "retryable": true,
//  "timings": {"prepareMs": 12, "commandMs": 5012, "commitMs": 3},
//  "stderrTail": "Traceback (most recent call last): ..."}
// {"status": "succeeded", "exitCode": 0, "splitCount": 1000, "retryable": true,
//  "manifest": "fanout/15/start/start/0/manifest.json", "timings": {...}}
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace podflow::runtime {

enum class TaskStatus { succeeded, failed, killed };

struct TaskTimings {
  std::int64_t prepareMs = 0;  // reading parents' manifests, linking inputs, the foreach item
  std::int64_t commandMs = 0;  // the step's command, start to exit
  std::int64_t commitMs = 0;   // storing logs and outputs, writing the manifest
};

struct TaskResult {
  TaskStatus status = TaskStatus::failed;
  std::string reason;  // empty on success: "exit code 3", "timed out after 5 s", ...
  int exitCode =
      -1;  // the step's exit code; 128 + signal when a signal ended it; -1 if it never ran
  std::optional<std::int64_t> splitCount;  // a foreach step's number of splits
  std::optional<std::string> manifest;     // the manifest key, on success
  bool retryable = true;  // false when trying again cannot help (a bad foreach list, a kill)
  TaskTimings timings;
  std::string stderrTail;  // failures only: the end of the step's stderr
};

inline constexpr std::size_t kMaxResultBytes = 4096;

std::string_view task_status_name(TaskStatus status);
// Shortens reason and stderrTail as needed to stay within kMaxResultBytes. Never throws on
// invalid UTF-8 (it is replaced).
std::string task_result_to_json(const TaskResult& result);
// Reads a result back (for executors); throws std::runtime_error when it is not one.
TaskResult task_result_from_json(std::string_view text);

}  // namespace podflow::runtime
