#include "runtime/task_result.hpp"

#include <stdexcept>

#include <nlohmann/json.hpp>

namespace podflow::runtime {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxReasonBytes = 1024;

std::string dump(const json& document) {
  return document.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Keeps the last `bytes` bytes, without starting inside a UTF-8 sequence.
std::string tail(const std::string& text, std::size_t bytes) {
  if (text.size() <= bytes) return text;
  std::size_t start = text.size() - bytes;
  while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
  return text.substr(start);
}

std::string head(const std::string& text, std::size_t bytes) {
  if (text.size() <= bytes) return text;
  std::size_t end = bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end) + "...";
}

TaskResult task_result_from_document(const nlohmann::json& document) {
  TaskResult result;
  const std::string status = document["status"].get<std::string>();
  if (status == "succeeded") {
    result.status = TaskStatus::succeeded;
  } else if (status == "killed") {
    result.status = TaskStatus::killed;
  } else if (status == "failed") {
    result.status = TaskStatus::failed;
  } else {
    throw std::runtime_error("not a podflow-runtime result: unknown status '" + status + "'");
  }
  result.reason = document.value("reason", "");
  result.exitCode = document.value("exitCode", -1);
  if (document.contains("splitCount"))
    result.splitCount = document["splitCount"].get<std::int64_t>();
  if (document.contains("manifest")) result.manifest = document["manifest"].get<std::string>();
  result.retryable = document.value("retryable", true);
  if (const auto timings = document.find("timings"); timings != document.end()) {
    result.timings.prepareMs = timings->value("prepareMs", std::int64_t{0});
    result.timings.commandMs = timings->value("commandMs", std::int64_t{0});
    result.timings.commitMs = timings->value("commitMs", std::int64_t{0});
  }
  result.stderrTail = document.value("stderrTail", "");
  return result;
}

}  // namespace

std::string_view task_status_name(TaskStatus status) {
  switch (status) {
    case TaskStatus::succeeded:
      return "succeeded";
    case TaskStatus::killed:
      return "killed";
    case TaskStatus::failed:
      break;
  }
  return "failed";
}

std::string task_result_to_json(const TaskResult& result) {
  json document = {{"status", task_status_name(result.status)}};
  if (!result.reason.empty()) document["reason"] = head(result.reason, kMaxReasonBytes);
  document["exitCode"] = result.exitCode;
  if (result.splitCount) document["splitCount"] = *result.splitCount;
  if (result.manifest) document["manifest"] = *result.manifest;
  document["retryable"] = result.retryable;
  document["timings"] = {{"prepareMs", result.timings.prepareMs},
                         {"commandMs", result.timings.commandMs},
                         {"commitMs", result.timings.commitMs}};
  std::string text = dump(document);
  if (result.status == TaskStatus::succeeded || result.stderrTail.empty()) return text;
  // Escaping can make each byte up to six, so shrink the tail until the whole fits.
  for (std::size_t budget = 1024; budget > 0; budget /= 2) {
    document["stderrTail"] = tail(result.stderrTail, budget);
    std::string with_tail = dump(document);
    if (with_tail.size() <= kMaxResultBytes) return with_tail;
  }
  return text;
}

TaskResult task_result_from_json(std::string_view text) {
  const json document = json::parse(text, nullptr, false);
  if (document.is_discarded() || !document.is_object() || !document.contains("status") ||
      !document["status"].is_string()) {
    throw std::runtime_error("not a podflow-runtime result");
  }
  try {
    return task_result_from_document(document);
  } catch (const json::exception& error) {
    throw std::runtime_error(std::string("not a podflow-runtime result: ") + error.what());
  }
}

}  // namespace podflow::runtime
