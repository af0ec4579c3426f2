#include "operator/reconcile/task_group.hpp"

#include <stdexcept>

#include "pod/task_names.hpp"

namespace podflow::reconcile {

using nlohmann::json;

flow::SplitPath TaskGroup::member_path(std::int64_t index) const {
  flow::SplitPath path = prefix;
  if (indexed) path.push_back(index);
  return path;
}

std::string TaskGroup::member_task_id(std::int64_t index) const {
  return flow::task_id(step, member_path(index));
}

std::string member_id(const std::string& step, const flow::SplitPath& path) {
  return flow::task_id(step, path);
}

std::string group_name(const std::string& flowrun, const std::string& step,
                       const flow::SplitPath& prefix) {
  return pod::task_object_name(flowrun, flow::task_id(step, prefix));
}

json group_status(const TaskGroup& group, std::int64_t running, std::int64_t pending) {
  json status = json::object();
  const std::int64_t succeeded = group.succeeded.size(), failed = group.failed.size();
  std::string phase = "Pending";
  if (failed > 0) {
    phase = "Failed";
  } else if (succeeded == group.count && group.members.empty()) {
    phase = "Succeeded";
  } else if (running > 0 || succeeded > 0) {
    phase = "Running";
  }
  status["phase"] = phase;
  status["succeeded"] = succeeded;
  status["failed"] = failed;
  status["running"] = running;
  status["pending"] = pending;
  status["progress"] = std::to_string(succeeded) + "/" + std::to_string(group.count);
  status["succeededIndexes"] = group.succeeded.to_string();
  if (failed > 0) status["failedIndexes"] = group.failed.to_string();
  pod::IndexSet running_indexes;
  for (const auto& [index, member] : group.members) {
    if (member.state == Member::State::Running) running_indexes.insert(index);
  }
  status["runningIndexes"] = running_indexes.to_string();
  if (!group.retried.empty()) {
    json retried = json::array();
    for (const auto& [index, entry] : group.retried) {
      json item = {{"index", index},
                   {"attempt", entry.attempt},
                   {"failures", entry.failures},
                   {"reason", entry.reason},
                   {"message", entry.message}};
      if (entry.disruptions > 0) item["disruptions"] = entry.disruptions;
      retried.push_back(std::move(item));
    }
    status["retried"] = std::move(retried);
  }
  if (!group.split_counts.empty()) {
    json counts = json::object();
    for (const auto& [index, count] : group.split_counts) counts[std::to_string(index)] = count;
    status["splitCounts"] = std::move(counts);
  }
  if (!group.reason.empty()) status["reason"] = group.reason;
  if (!group.message.empty()) status["message"] = group.message;
  if (!group.start_time.empty()) status["startTime"] = group.start_time;
  if (!group.completion_time.empty()) status["completionTime"] = group.completion_time;
  return status;
}

TaskGroup restore_group(const json& task) {
  TaskGroup group;
  const json& metadata = task.at("metadata");
  group.name = metadata.value("name", "");
  group.uid = metadata.value("uid", "");
  group.object = task;
  const auto fail = [&](const std::string& what) {
    throw std::runtime_error("Task " + group.name + ": " + what +
                             " is not what the operator writes; delete the FlowRun and run it "
                             "again");
  };
  const json spec = task.value("spec", json::object());
  group.step = spec.value("step", "");
  group.indexed = spec.value("indexed", false);
  group.count = spec.value("count", std::int64_t{1});
  const json retry = spec.value("retry", json::object());
  group.retry_times = retry.value("times", std::int64_t{0});
  group.retry_delay_seconds = retry.value("delaySeconds", std::int64_t{0});
  for (const auto& part : spec.value("splitPrefix", json::array())) {
    if (!part.is_number_integer()) fail("spec.splitPrefix");
    group.prefix.push_back(part.get<std::int64_t>());
  }
  const json status = task.value("status", json::object());
  const auto indexes = [&](const char* field) {
    const auto parsed = pod::IndexSet::parse(status.value(field, ""));
    if (!parsed) fail(std::string("status.") + field);
    return *parsed;
  };
  group.succeeded = indexes("succeededIndexes");
  group.failed = indexes("failedIndexes");
  for (const auto& item : status.value("retried", json::array())) {
    RetriedMember entry;
    entry.attempt = item.value("attempt", std::int64_t{0});
    entry.failures = item.value("failures", std::int64_t{0});
    entry.disruptions = item.value("disruptions", std::int64_t{0});
    entry.reason = item.value("reason", "");
    entry.message = item.value("message", "");
    group.retried[item.value("index", std::int64_t{0})] = entry;
  }
  const json split_counts = status.value("splitCounts", json::object());
  for (const auto& [index, count] : split_counts.items()) {
    try {
      group.split_counts[std::stoll(index)] = count.get<std::int64_t>();
    } catch (const std::exception&) {
      fail("status.splitCounts");
    }
  }
  group.reason = status.value("reason", "");
  group.message = status.value("message", "");
  group.start_time = status.value("startTime", "");
  group.completion_time = status.value("completionTime", "");
  return group;
}

}  // namespace podflow::reconcile
