#include <doctest/doctest.h>

#include "flow/flow_decoder.hpp"
#include "flow/lint.hpp"
#include "test_flows.hpp"

using podflow::flow::decode_flow;
using podflow::flow::validate_flow;

namespace {

std::string only_message(const std::string& yaml) {
  const auto result = validate_flow(yaml);
  REQUIRE(result.diagnostics.size() == 1);
  return podflow::flow::format_diagnostic("f.yaml", result.diagnostics.front());
}

const std::string kLinear = podflow::test::flow_yaml({{"start", {"end"}, ""}, {"end", {}, ""}});

}  // namespace

TEST_CASE("a minimal flow decodes with the seeds' defaults") {
  const auto flow = podflow::test::valid_flow(kLinear);
  CHECK(flow.name == "test");
  REQUIRE(flow.steps.size() == 2);
  const auto settings = podflow::flow::effective_settings(flow, flow.steps[0]);
  CHECK(settings.cpu.text == "1");
  CHECK(settings.memory.text == "4096M");
  CHECK(settings.disk.text == "10240M");
  CHECK(settings.timeoutSeconds == 432000);
  CHECK(settings.gpu == 0);
}

TEST_CASE("the same flow reads from JSON") {
  const auto flow = podflow::test::valid_flow(R"({
    "apiVersion": "podflow.dev/v1alpha1", "kind": "Flow", "metadata": {"name": "j"},
    "spec": {"steps": [{"name": "start", "command": ["echo", "10"], "next": ["end"],
                        "resources": {"memory": 60000, "cpu": "500m"}},
                       {"name": "end", "command": ["echo"]}]}})");
  CHECK(flow.steps[0].command == std::vector<std::string>{"echo", "10"});
  CHECK(flow.steps[0].settings.resources.memory->text == "60000M");
  CHECK(flow.steps[0].settings.resources.cpu->value == doctest::Approx(0.5));
}

TEST_CASE("messages point at line and column in the user's file") {
  const std::string yaml =
      podflow::test::flow_yaml({{"start", {"end"}, "resources: {memory: lots}"}, {"end", {}, ""}});
  CHECK(only_message(yaml) ==
        "f.yaml:10:27: step 'start': resources.memory 'lots' is not a quantity; write megabytes as "
        "an integer or a string with a unit, e.g. 60000 (MB) or \"60Gi\"");
}

TEST_CASE("YAML 1.1 booleans and numbers are not strings, as kubectl apply would say") {
  const std::string yaml =
      podflow::test::flow_yaml({{"start", {"end"}, "labels: {enabled: yes}"}, {"end", {}, ""}});
  CHECK(only_message(yaml) ==
        "f.yaml:10:25: step 'start': labels.enabled must be a string, not a boolean (yes); quote "
        "it (\"yes\")");
}

TEST_CASE("every problem in a document is reported, not just the first") {
  const std::string yaml = podflow::test::flow_yaml(
      {{"start", {"end"}, "timeoutSeconds: 0\n      retry: {times: 7}"}, {"end", {}, "gpu: 1"}});
  const auto result = validate_flow(yaml);
  CHECK(result.diagnostics.size() == 3);
  CHECK_FALSE(result.flow.has_value());
}

TEST_CASE("hostile documents get a clear error, not a crash") {
  SUBCASE("a document larger than the limit") {
    const std::string big(50 * 1024 * 1024, '#');
    const auto result = decode_flow(big);
    REQUIRE(result.diagnostics.size() == 1);
    CHECK(result.diagnostics[0].message.rfind(
              "the document is 50.0 MiB; a flow document may be at most 4.0 MiB", 0) == 0);
  }
  SUBCASE("a NUL byte") {
    const auto result = decode_flow(std::string("kind: Flow\n\0\0", 13));
    REQUIRE(result.diagnostics.size() == 1);
    CHECK(result.diagnostics[0].mark.line == 2);
    CHECK(result.diagnostics[0].message.find("binary byte (0x00)") != std::string::npos);
  }
  SUBCASE("flow-style nesting a million deep") {
    const std::string deep = std::string(1000000, '[') + std::string(1000000, ']');
    const auto result = decode_flow(deep);
    REQUIRE(result.diagnostics.size() == 1);
    CHECK(result.diagnostics[0].message.find("nests lists or mappings 1000000 deep") !=
          std::string::npos);
  }
  SUBCASE("block-style nesting") {
    std::string deep = "spec:\n  steps:\n    ";
    for (int i = 0; i < 100000; ++i) deep += "- ";
    deep += "x\n";
    const auto result = decode_flow(deep);
    REQUIRE(result.diagnostics.size() == 1);
    CHECK(result.diagnostics[0].message.find("nests too deep") != std::string::npos);
  }
  SUBCASE("an alias bomb that would expand to 10^9 values") {
    std::string yaml =
        podflow::test::flow_yaml({{"start", {"end"}, ""}, {"end", {}, ""}},
                                 "  parameters:\n    - name: bomb\n      type: json\n"
                                 "      default:\n        a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (char c = 'b'; c <= 'i'; ++c) {
      const std::string prev(1, static_cast<char>(c - 1));
      yaml.insert(yaml.find("  steps:"), std::string("        ") + c + ": &" + c + " [*" + prev +
                                             ", *" + prev + ", *" + prev + ", *" + prev + ", *" +
                                             prev + ", *" + prev + ", *" + prev + ", *" + prev +
                                             ", *" + prev + ", *" + prev + "]\n");
    }
    const auto result = validate_flow(yaml);
    REQUIRE(result.diagnostics.size() == 1);
    CHECK(result.diagnostics[0].message.find("default is too large") != std::string::npos);
  }
  SUBCASE("random bytes") {
    std::string noise;
    unsigned state = 12345;
    for (int i = 0; i < 100000; ++i) {
      state = state * 1103515245 + 12345;
      noise += static_cast<char>((state >> 16) & 0x7f);
    }
    const auto result = validate_flow(noise);
    CHECK_FALSE(result.diagnostics.empty());
  }
}

TEST_CASE("a FlowRun kept in the same file is skipped") {
  const std::string yaml = kLinear +
                           "---\napiVersion: podflow.dev/v1alpha1\nkind: FlowRun\n"
                           "metadata: {name: test-1}\nspec: {flowRef: {name: test}}\n";
  CHECK(podflow::test::valid_flow(yaml).name == "test");
}
