#include "runner/run_record.hpp"

#include <ctime>
#include <stdexcept>

namespace podflow::runner {

std::string RunRecord::shown_state() const {
  if (state != "running") return state;
  const RunnerProcess runner{host, boot_id, pid, pid_start_ticks};
  return runner_state(runner) == RunnerState::gone ? "lost" : state;
}

std::string RunRecord::lost_reason() const {
  if (shown_state() != "lost") return "";
  return "its podflow process (pid " + std::to_string(pid) + " on " + host +
         ") ended without finishing the run (killed, or the machine restarted); its committed "
         "tasks are kept: podflow resume " +
         run;
}

nlohmann::json RunRecord::to_json() const {
  nlohmann::json steps_json = nlohmann::json::array();
  for (const auto& step : steps) {
    steps_json.push_back(
        {{"name", step.name},
         {"succeeded", step.succeeded},
         {"failed", step.failed},
         {"running", step.running},
         {"durationMs", {{"min", step.min_ms}, {"median", step.median_ms}, {"max", step.max_ms}}}});
  }
  nlohmann::json failures_json = nlohmann::json::array();
  for (const auto& failure : failures) {
    failures_json.push_back({{"task", failure.task},
                             {"step", failure.step},
                             {"attempt", failure.attempt},
                             {"reason", failure.reason},
                             {"stderrTail", failure.stderr_tail}});
  }
  return {{"run", run},
          {"flow", flow},
          {"flowFile", flow_file},
          {"flowText", flow_text},
          {"state", state},
          {"startedAt", started_at},
          {"finishedAt", finished_at},
          {"user", user},
          {"pid", pid},
          {"host", host},
          {"bootId", boot_id},
          {"pidStartTicks", pid_start_ticks},
          {"parameters", parameters},
          {"maxWorkers", max_workers},
          {"maxNumSplits", max_num_splits},
          {"resumedFrom", resumed_from},
          {"failure", failure},
          {"steps", steps_json},
          {"failures", failures_json},
          {"runningPods", running_pods}};
}

RunRecord RunRecord::from_json(const nlohmann::json& json) {
  try {
    RunRecord record;
    record.run = json.at("run").get<std::string>();
    record.flow = json.at("flow").get<std::string>();
    record.flow_file = json.value("flowFile", "");
    record.flow_text = json.value("flowText", "");
    record.state = json.value("state", "");
    record.started_at = json.value("startedAt", "");
    record.finished_at = json.value("finishedAt", "");
    record.user = json.value("user", "");
    record.pid = json.value("pid", std::int64_t{0});
    record.host = json.value("host", "");
    record.boot_id = json.value("bootId", "");
    record.pid_start_ticks = json.value("pidStartTicks", std::int64_t{0});
    record.parameters = json.value("parameters", std::map<std::string, std::string>{});
    record.max_workers = json.value("maxWorkers", std::int64_t{0});
    record.max_num_splits = json.value("maxNumSplits", std::int64_t{0});
    record.resumed_from = json.value("resumedFrom", "");
    record.failure = json.value("failure", "");
    record.running_pods = json.value("runningPods", std::map<std::string, std::string>{});
    for (const auto& step : json.value("steps", nlohmann::json::array())) {
      StepSummary summary;
      summary.name = step.at("name").get<std::string>();
      summary.succeeded = step.value("succeeded", std::int64_t{0});
      summary.failed = step.value("failed", std::int64_t{0});
      summary.running = step.value("running", std::int64_t{0});
      const auto durations = step.value("durationMs", nlohmann::json::object());
      summary.min_ms = durations.value("min", std::int64_t{0});
      summary.median_ms = durations.value("median", std::int64_t{0});
      summary.max_ms = durations.value("max", std::int64_t{0});
      record.steps.push_back(std::move(summary));
    }
    for (const auto& failure : json.value("failures", nlohmann::json::array())) {
      record.failures.push_back({failure.value("task", ""), failure.value("step", ""),
                                 failure.value("attempt", std::int64_t{0}),
                                 failure.value("reason", ""), failure.value("stderrTail", "")});
    }
    return record;
  } catch (const nlohmann::json::exception& error) {
    throw std::runtime_error(std::string("not a run record: ") + error.what());
  }
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  std::tm parts{};
  gmtime_r(&now, &parts);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return text;
}

}  // namespace podflow::runner
