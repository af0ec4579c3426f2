// The record of one run in the datastore's run index (`_runs/<run>.json`): what `podflow list`,
// `status`, `logs` and `resume` read. It holds per-step aggregates, so its size does not grow
// with the width of a foreach (the failure list is capped).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "runner/runner_process.hpp"

namespace podflow::runner {

struct StepSummary {
  std::string name;
  std::int64_t succeeded = 0;
  std::int64_t failed = 0;  // failed attempts, retried or not
  std::int64_t running = 0;
  std::vector<std::int64_t> durations_ms;  // of successful attempts; not serialised
  std::int64_t min_ms = 0;
  std::int64_t median_ms = 0;
  std::int64_t max_ms = 0;
};

struct TaskFailure {
  std::string task;
  std::string step;
  std::int64_t attempt = 0;
  std::string reason;
  std::string stderr_tail;
};

struct RunRecord {
  std::string run;
  std::string flow;
  std::string flow_file;  // absolute path, for resume
  std::string flow_text;  // the document as it was run
  std::string state;      // running, succeeded, failed, killed
  std::string started_at;
  std::string finished_at;
  std::string user;
  std::int64_t pid = 0;
  std::string host;     // where the runner runs (with its boot id and start time: a
  std::string boot_id;  // reader on that machine can tell whether it still runs)
  std::int64_t pid_start_ticks = 0;
  std::map<std::string, std::string> parameters;
  std::int64_t max_workers = 0;
  std::int64_t max_num_splits = 0;
  std::string resumed_from;
  std::string failure;
  std::vector<StepSummary> steps;
  std::vector<TaskFailure> failures;  // the first kMaxFailures
  // The pods of the cluster steps' running tasks, task id -> "namespace/pod", so `podflow logs`
  // can show their output while they run (the datastore has it once they end).
  std::map<std::string, std::string> running_pods;

  static constexpr std::size_t kMaxFailures = 50;

  // The state as a reader should see it: "lost" for a run whose record says running while its
  // podflow process is gone from this machine (SIGKILLed, or the machine rebooted).
  std::string shown_state() const;
  // Why a lost run is lost, and the fix; empty for any other run.
  std::string lost_reason() const;

  nlohmann::json to_json() const;
  // Throws std::runtime_error naming the problem for a record that is not one.
  static RunRecord from_json(const nlohmann::json& json);
};

// RFC 3339 UTC time, "2026-11-21T16:09:31Z".
std::string utc_now();

}  // namespace podflow::runner
