#include "operator/reconcile/run_resume.hpp"

#include <algorithm>
#include <unordered_set>

#include "datastore/datastore.hpp"
#include "datastore/task_attempts.hpp"
#include "operator/reconcile/conditions.hpp"

namespace podflow::reconcile {
namespace {

using nlohmann::json;

std::string resume_from(const json& run) {
  return run.value("spec", json::object()).value("resumeFrom", "");
}

}  // namespace

std::vector<flow::TaskOutcome> clone_resumed_tasks(const json& run, const flow::FlowSpec& flow,
                                                   const std::unordered_set<std::string>& own) {
  const std::string origin = resume_from(run);
  if (origin.empty()) return {};
  const json status = run.value("status", json::object());
  const std::string this_run = status.value("runId", "");
  const std::string flow_name = status.value("flowName", flow.name);
  const std::string url = status.value("datastore", "");
  if (origin == this_run) {
    throw ResumeError("InvalidResumeFrom",
                      "spec.resumeFrom names this run (" + origin +
                          "); name the earlier run's status.runId and create a new FlowRun",
                      true);
  }
  std::unordered_set<std::string> steps;
  for (const auto& step : flow.steps) steps.insert(step.name);
  datastore::CloneResult result;
  try {
    auto store = datastore::open_datastore(url);
    result = datastore::clone_committed_tasks(
        *store, flow_name, origin, this_run, [&](const std::string& step, const std::string& task) {
          return steps.contains(step) && !own.contains(task);
        });
  } catch (const std::exception& error) {
    throw ResumeError("DatastoreUnavailable",
                      "cannot read run " + origin + " from the datastore " + url +
                          " to resume it: " + error.what() + "; trying again every " +
                          std::to_string(kResumeRetrySeconds) +
                          " s. Check the operator's S3 settings (--datastore, --s3-endpoint and "
                          "the AWS credentials in its environment); delete the FlowRun to give up",
                      false);
  }
  if (!result.found) {
    throw ResumeError("ResumeFromNotFound",
                      "spec.resumeFrom: run " + origin + " of flow " + flow_name +
                          " left nothing in the datastore " + url + " (no " + flow_name + "/" +
                          origin +
                          "/); name the earlier run's run id (status.runId of its FlowRun: "
                          "kubectl get flowrun NAME -o jsonpath='{.status.runId}'), a run of "
                          "flow " +
                          flow_name + " in this datastore, in a new FlowRun",
                      true);
  }
  std::vector<flow::TaskOutcome> successes;
  for (const auto& task : result.cloned) {
    flow::TaskOutcome outcome;
    outcome.id = task.task;
    outcome.attempt = task.attempt;
    outcome.succeeded = true;
    outcome.split_count = task.split_count;
    outcome.final_attempt = true;
    successes.push_back(std::move(outcome));
  }
  return successes;
}

void set_resume_status(const json& run, json& status, std::int64_t cloned, std::int64_t generation,
                       const std::string& now) {
  const std::string origin = resume_from(run);
  if (origin.empty()) return;
  status["tasks"]["cloned"] = cloned;
  set_condition(status["conditions"],
                {"Resumed", true, "Cloned",
                 "reused " + std::to_string(cloned) + " successful task(s) of run " + origin},
                generation, now);
}

json resume_failure_status(const json& status, const ResumeError& error, std::int64_t generation,
                           const std::string& now) {
  json updated = status;
  updated["observedGeneration"] = generation;
  json& conditions = updated["conditions"];
  set_condition(conditions, {"Resumed", false, error.reason(), error.what()}, generation, now);
  if (error.permanent()) {
    updated["phase"] = "Failed";
    updated["completionTime"] = now;
    set_condition(conditions, {"Running", false, error.reason(), ""}, generation, now);
    set_condition(conditions, {"Failed", true, error.reason(), error.what()}, generation, now);
  } else {
    set_condition(conditions, {"Running", true, error.reason(), error.what()}, generation, now);
  }
  return updated;
}

}  // namespace podflow::reconcile
