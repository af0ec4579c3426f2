#include <doctest/doctest.h>

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "runtime/task_spec.hpp"

using podflow::runtime::parent_tasks;
using podflow::runtime::task_spec_from_json;
using podflow::runtime::task_spec_to_json;
using podflow::runtime::TaskSpecError;

namespace {

nlohmann::json full_spec() {
  return nlohmann::json::parse(R"({
    "datastore": "/abs/.podflow", "flow": "fanout", "run": "15", "step": "join",
    "task": "join", "attempt": 1, "splitPath": [],
    "command": ["python3", "steps.py", "join"], "workingDir": "/abs/dir",
    "env": [{"name": "MODE", "value": "fast"}],
    "parameters": [{"name": "count", "value": "1000", "type": "integer"}, {"name": "label", "value": "x"}],
    "cpu": 0.5, "timeoutSeconds": 60, "graceSeconds": 3, "join": true,
    "parents": [{"step": "square", "prefix": [], "splits": 3, "attempts": {"square.1": 2}}],
    "foreach": {"artifact": "items", "maxNumSplits": 7},
    "workDir": "/abs/.podflow/_work/15/join/1"
  })");
}

void check_refused(nlohmann::json spec, const std::string& message) {
  CAPTURE(spec.dump());
  CHECK_THROWS_WITH_AS(task_spec_from_json(spec.dump()), doctest::Contains(message.c_str()),
                       TaskSpecError);
}

}  // namespace

TEST_CASE("task spec: every field is read") {
  const auto spec = task_spec_from_json(full_spec().dump());
  CHECK(spec.datastore == "/abs/.podflow");
  CHECK(spec.flow == "fanout");
  CHECK(spec.run == "15");
  CHECK(spec.task == "join");
  CHECK(spec.attempt == 1);
  CHECK(spec.command.size() == 3);
  CHECK(spec.workingDir == "/abs/dir");
  CHECK(spec.env.at(0).value == "fast");
  CHECK(spec.parameters.at(0).name == "count");
  CHECK(spec.parameterTypes == std::map<std::string, std::string>{{"count", "integer"}});
  CHECK(task_spec_from_json(task_spec_to_json(spec)).parameterTypes == spec.parameterTypes);
  CHECK(spec.cpu == doctest::Approx(0.5));
  CHECK(spec.timeoutSeconds == 60);
  CHECK(spec.graceSeconds == 3);
  CHECK(spec.join);
  CHECK(spec.foreach->maxNumSplits == 7);
  CHECK(spec.workDir == "/abs/.podflow/_work/15/join/1");
  CHECK(task_spec_from_json(task_spec_to_json(spec)).parents.at(0).splits == 3);
}

TEST_CASE("task spec: defaults for the optional fields") {
  auto document = full_spec();
  for (const char* field : {"splitPath", "workingDir", "env", "parameters", "cpu", "timeoutSeconds",
                            "graceSeconds", "join", "parents", "foreach"}) {
    document.erase(field);
  }
  const auto spec = task_spec_from_json(document.dump());
  CHECK(spec.cpu == 1);
  CHECK(spec.timeoutSeconds == 432000);
  CHECK(spec.graceSeconds == 10);
  CHECK_FALSE(spec.join);
  CHECK_FALSE(spec.workingDir.has_value());
  CHECK_FALSE(spec.foreach.has_value());
  CHECK(spec.parents.empty());
}

TEST_CASE("task spec: parent groups expand to task ids with their attempts") {
  auto document = full_spec();
  document["parents"] = nlohmann::json::parse(R"([
    {"step": "train", "prefix": [1]},
    {"step": "square", "prefix": [4], "splits": 3, "attempts": {"square.4.1": 2}},
    {"step": "start", "prefix": []}])");
  const auto parents = parent_tasks(task_spec_from_json(document.dump()));
  REQUIRE(parents.size() == 5);
  CHECK(parents[0].task == "train.1");
  CHECK(parents[1].task == "square.4.0");
  CHECK(parents[2].task == "square.4.1");
  CHECK(parents[2].attempt == 2);
  CHECK(parents[3].attempt == 0);
  CHECK(parents[4].task == "start");
  CHECK(parents[4].step == "start");
}

TEST_CASE("task spec: malformed and unknown fields are refused by name") {
  auto spec = full_spec();
  spec["colour"] = "blue";
  check_refused(spec, "unknown field 'colour'");
  spec = full_spec();
  spec["parents"][0]["splits"] = 0;
  check_refused(spec, "field 'parents[0].splits' must be a positive integer");
  spec = full_spec();
  spec["parents"][0]["extra"] = true;
  check_refused(spec, "unknown field 'parents[0].extra'");
  spec = full_spec();
  spec.erase("workDir");
  check_refused(spec, "field 'workDir' is required");
  spec = full_spec();
  spec["workDir"] = "relative/dir";
  check_refused(spec, "field 'workDir' must be an absolute path");
  spec = full_spec();
  spec["command"] = nlohmann::json::array();
  check_refused(spec, "field 'command' must be a non-empty list");
  spec = full_spec();
  spec["command"][1] = 3;
  check_refused(spec, "field 'command[1]' must be a string");
  spec = full_spec();
  spec["attempt"] = -1;
  check_refused(spec, "field 'attempt' must be a non-negative integer");
  spec = full_spec();
  spec["parameters"][0]["type"] = "float";
  check_refused(spec,
                "field 'parameters[0].type' must be string, integer, number, boolean or json");
  spec = full_spec();
  spec["cpu"] = "2";
  check_refused(spec, "field 'cpu' must be a positive number");
  spec = full_spec();
  spec["env"][0]["name"] = "PODFLOW_STEP";
  check_refused(spec, "field 'env[0].name'");
  spec = full_spec();
  spec["task"] = "../escape";
  check_refused(spec, "field 'task'");
  spec = full_spec();
  spec["flow"] = "Not_A_Label";
  check_refused(spec, "field 'flow'");
  spec = full_spec();
  spec["foreach"]["maxNumSplits"] = 1.5;
  check_refused(spec, "field 'foreach.maxNumSplits'");
  spec = full_spec();
  spec["join"] = false;
  check_refused(spec, "field 'parents' names 3 parent tasks, but a step that is not a join");
  CHECK_THROWS_WITH_AS(task_spec_from_json("{not json"), "task spec: not valid JSON",
                       TaskSpecError);
  CHECK_THROWS_WITH_AS(task_spec_from_json("[]"), "task spec: not a JSON object", TaskSpecError);
}
