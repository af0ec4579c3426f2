// A FlowRun with spec.resumeFrom (Metaflow's origin run): before its first Task, the operator
// copies every task that run committed into this run's id in the datastore, as the CLI's local
// `podflow resume` does (datastore::clone_committed_tasks: manifests only, blobs are shared), and
// the planner starts from those successes. Re-done whenever the operator rebuilds the run's
// planner (a restart): copying a manifest twice is harmless, and the tasks the run has Tasks for
// are its own, never cloned.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "flow/planner.hpp"
#include "kube/object_cache.hpp"

namespace podflow::reconcile {

// Why the resume cannot go on. Permanent: the run fails (the origin run left nothing in the
// datastore). Otherwise it waits and tries again (the datastore cannot be reached).
class ResumeError : public std::runtime_error {
 public:
  ResumeError(std::string reason, const std::string& message, bool permanent)
      : std::runtime_error(message), reason_(std::move(reason)), permanent_(permanent) {}
  const std::string& reason() const { return reason_; }
  bool permanent() const { return permanent_; }

 private:
  std::string reason_;
  bool permanent_;
};

// How long a run waits before trying an unreachable datastore again.
inline constexpr int kResumeRetrySeconds = 30;

// The successes the planner restores for a FlowRun with spec.resumeFrom, after cloning them into
// the run (status.runId, status.flowName, status.datastore): the origin run's committed tasks
// whose step the flow has and that are not among `own` (the task ids the run ran itself: its
// Tasks and pods say so). Nothing for a run without spec.resumeFrom. Throws ResumeError.
std::vector<flow::TaskOutcome> clone_resumed_tasks(const nlohmann::json& run,
                                                   const flow::FlowSpec& flow,
                                                   const std::unordered_set<std::string>& own);

// For a resumed run: status.tasks.cloned and the Resumed condition (its counts are already in
// tasks.total and tasks.succeeded). Nothing for a run without spec.resumeFrom.
void set_resume_status(const nlohmann::json& run, nlohmann::json& status, std::int64_t cloned,
                       std::int64_t generation, const std::string& now);

// The status of a run whose resume failed: Resumed=False with the reason and message, and for a
// permanent error phase Failed (Failed=True); otherwise Running=True with the same message, so
// `podflow run`'s progress line shows what the run waits for.
nlohmann::json resume_failure_status(const nlohmann::json& status, const ResumeError& error,
                                     std::int64_t generation, const std::string& now);

}  // namespace podflow::reconcile
