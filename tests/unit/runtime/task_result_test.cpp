#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "runtime/task_result.hpp"

using podflow::runtime::task_result_from_json;
using podflow::runtime::task_result_to_json;
using podflow::runtime::TaskResult;
using podflow::runtime::TaskStatus;

TEST_CASE("task result: the documented fields, and a round trip") {
  TaskResult result;
  result.status = TaskStatus::succeeded;
  result.exitCode = 0;
  result.splitCount = 1000;
  result.manifest = "fanout/15/start/start/0/manifest.json";
  result.timings = {1, 2, 3};
  const auto document = nlohmann::json::parse(task_result_to_json(result));
  CHECK(document["status"] == "succeeded");
  CHECK(document["splitCount"] == 1000);
  CHECK(document["timings"]["commandMs"] == 2);
  CHECK_FALSE(document.contains("stderrTail"));
  const auto back = task_result_from_json(task_result_to_json(result));
  CHECK(back.manifest == result.manifest);
  CHECK(back.splitCount == 1000);
  CHECK(back.status == TaskStatus::succeeded);
}

TEST_CASE("task result: at most 4 KiB, however long and binary the stderr and reason") {
  TaskResult result;
  result.status = TaskStatus::failed;
  result.exitCode = 3;
  result.reason = std::string(10000, 'r');
  for (int i = 0; i < 10000; ++i) result.stderrTail.push_back(static_cast<char>(i % 256));
  const std::string text = task_result_to_json(result);
  CHECK(text.size() <= 4096);
  const auto document = nlohmann::json::parse(text);
  CHECK(document["reason"].get<std::string>().size() < 1100);
  CHECK(document["stderrTail"].get<std::string>().size() > 0);

  result.stderrTail = "Traceback\nValueError: bad\n";
  result.reason = "exit code 3";
  CHECK(nlohmann::json::parse(task_result_to_json(result))["stderrTail"] == result.stderrTail);
}
