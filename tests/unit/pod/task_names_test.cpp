#include "pod/task_names.hpp"

#include <doctest/doctest.h>

#include <set>
#include <stdexcept>
#include <string>

using podflow::pod::is_label_value;
using podflow::pod::label_value;
using podflow::pod::task_object_name;

namespace {

std::string name_error(const std::string& flowrun, const std::string& task_id) {
  try {
    task_object_name(flowrun, task_id);
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("task names: FlowRun dot task id, underscores written as dashes") {
  CHECK(task_object_name("bigsum", "train.1.3") == "bigsum.train.1.3");
  CHECK(task_object_name("bigsum", "start") == "bigsum.start");
  CHECK(task_object_name("nightly-2026.11", "train_model.0") == "nightly-2026.11.train-model.0");
  CHECK(task_object_name("r", "a__b_c.12.0") == "r.a--b-c.12.0");
  // The API server allows parts longer than a hostname's 63 characters in object names.
  const std::string run(100, 'r');
  CHECK(task_object_name(run, "start") == run + ".start");
}

TEST_CASE("task names: 253 characters is the limit and the error says to shorten the FlowRun") {
  const std::string task_id = "train_model.1.3";  // 15 characters, so the run may have 237
  const std::string longest(237, 'r');
  CHECK(task_object_name(longest, task_id).size() == 253);

  const std::string message = name_error(longest + "r", task_id);
  CHECK(contains(message, "'" + longest + "r.train-model.1.3'"));
  CHECK(contains(message, "254 characters"));
  CHECK(contains(message, "limit of 253"));
  CHECK(contains(message, "shorter FlowRun name (at most 237 characters"));
}

TEST_CASE("task names: a name that is not a DNS subdomain is refused with the reason") {
  const std::string upper = name_error("BigSum", "start");
  CHECK(contains(upper, "'BigSum.start'"));
  CHECK(contains(upper, "DNS subdomain"));
  CHECK(contains(upper, "FlowRun name"));

  // A step ending in '_' leaves a '-' before the next dot.
  const std::string step = name_error("bigsum", "train_.3");
  CHECK(contains(step, "'bigsum.train-.3'"));
  CHECK(contains(step, "rename the step"));

  CHECK_THROWS_AS(task_object_name("", "start"), std::invalid_argument);
  CHECK_THROWS_AS(task_object_name("big..sum", "start"), std::invalid_argument);
  CHECK_THROWS_AS(task_object_name("bigsum-", "start"), std::invalid_argument);
  CHECK_THROWS_AS(task_object_name("bigsum", ""), std::invalid_argument);
}

TEST_CASE("label values: valid values are kept as they are") {
  CHECK(label_value("") == "");
  CHECK(label_value("train_model.1.3") == "train_model.1.3");
  CHECK(label_value("ML-team") == "ML-team");
  const std::string longest(63, 'x');
  CHECK(label_value(longest) == longest);
  CHECK(is_label_value(longest));
  CHECK_FALSE(is_label_value(longest + "x"));
  CHECK_FALSE(is_label_value("-a"));
  CHECK_FALSE(is_label_value("a."));
  CHECK_FALSE(is_label_value("a b"));
}

TEST_CASE("label values: long values are cut and end with their hash") {
  const std::string value(64, 'x');
  const std::string label = label_value(value);
  // sha256("x" * 64) starts 7ce100971f; 52 readable characters, '-', 10 hex digits.
  CHECK(label == std::string(52, 'x') + "-7ce100971f");
  CHECK(label.size() == 63);
  CHECK(is_label_value(label));
  CHECK(label_value(value) == label);  // deterministic: the same task always gets the same label
}

TEST_CASE("label values: values differing only after the cut stay distinct") {
  std::set<std::string> labels;
  const std::string prefix(100, 'a');
  for (const char* end : {"1", "2", "3", "10", "-"}) {
    const std::string label = label_value(prefix + end);
    CHECK(is_label_value(label));
    labels.insert(label);
  }
  CHECK(labels.size() == 5);
}

TEST_CASE("label values: invalid characters become dashes and the ends are trimmed") {
  CHECK(label_value("ml team/\xCE\xB1") == "ml-team-5e158808a0");
  CHECK(label_value("///") == "732c4e9711");  // nothing readable: the hash alone
  const std::string trimmed = label_value("-leading and trailing.");
  CHECK(trimmed.rfind("leading-and-trailing-", 0) == 0);
  CHECK(is_label_value(trimmed));
  // Replaced characters must not merge distinct values.
  CHECK(label_value("a b") != label_value("a/b"));
  CHECK(label_value("a b") != "a-b");
}
