#include <doctest/doctest.h>

#include "flow/flow_decoder.hpp"
#include "flow/lint.hpp"
#include "flow/parameters.hpp"
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

// Parameters: resolve_parameters is what `podflow run` and the operator's FlowRun path call, so
// these are the refusals both get. (Kept here until tests/unit/CMakeLists.txt lists a
// parameters_test.cpp of its own.)
namespace {

podflow::flow::FlowSpec parameter_flow() {
  return podflow::test::valid_flow(
      podflow::test::flow_yaml({{"start", {"end"}, ""}, {"end", {}, ""}},
                               "  parameters:\n"
                               "    - {name: size, type: integer, default: 8}\n"
                               "    - {name: alpha, type: number, default: 0.5}\n"
                               "    - {name: label}\n"));
}

std::string problems_of(const std::vector<std::string>& assignments) {
  std::string text;
  for (const auto& problem :
       podflow::flow::resolve_parameters(parameter_flow(), assignments).problems) {
    text += problem + "\n";
  }
  return text;
}

}  // namespace

TEST_CASE("a parameter given twice is refused, naming both values and their positions") {
  CHECK(problems_of({"size=1", "label=x", "size=2"}) ==
        "--param size is given twice: size=1 (the 1st --param) and size=2 (the 3rd --param); "
        "give it once\n");
  CHECK(problems_of({"size=1", "label=x"}).empty());
}

TEST_CASE("integer parameters hold decimal int64 values only") {
  for (const std::string value : {"1e3", "0x10", " 5", "5 ", "", "1.0", "+"}) {
    CAPTURE(value);
    CHECK(
        problems_of({"label=x", "size=" + value}) ==
        "--param size=" + value + ": '" + value +
            "' is not an integer value; write decimal digits with an optional sign, e.g. 42 or -7 "
            "(no spaces, exponent, fraction or 0x prefix)\n");
  }
  CHECK(problems_of({"label=x", "size=9223372036854775808"}) ==
        "--param size=9223372036854775808: '9223372036854775808' is out of range: an integer "
        "parameter is between -9223372036854775808 and 9223372036854775807 (64 bits); use type: "
        "string for larger numbers\n");
  CHECK(problems_of({"label=x", "size=-9223372036854775809"}).find("is out of range") !=
        std::string::npos);
  CHECK(problems_of({"label=x", "size=9223372036854775807"}).empty());
  CHECK(problems_of({"label=x", "size=-9223372036854775808"}).empty());
}

TEST_CASE("number parameters are finite") {
  CHECK(problems_of({"label=x", "alpha=1e999"}) ==
        "--param alpha=1e999: '1e999' is out of range: a number parameter is a 64-bit "
        "floating-point number, at most about 1.8e308 in magnitude\n");
  for (const std::string value : {"nan", "inf", "-inf", "0x1p3"}) {
    CAPTURE(value);
    CHECK(problems_of({"label=x", "alpha=" + value}).find("is not a number value;") !=
          std::string::npos);
  }
  CHECK(problems_of({"label=x", "alpha=1e-300"}).empty());
  // A NUL cannot reach a step's environment (a FlowRun's JSON may hold "\u0000"), and the
  // message shows it escaped rather than cut short by it.
  CHECK(problems_of({std::string("label=a\0b", 9)}) ==
        "--param label=a\\x00b: 'a\\x00b' contains a NUL byte (\\0), which an environment "
        "variable cannot carry; remove it\n");
}

TEST_CASE("a parameter value too large for a step's environment is refused with the fix") {
  const std::string big(32 * 1024 + 1, 'x');
  const std::string problems = problems_of({"label=" + big});
  CHECK(problems.find(": the value is 32769 bytes (JSON-escaped); a parameter value may be at "
                      "most 32768 bytes (32 KiB)") != std::string::npos);
  CHECK(problems.find("Pass large data as a path") != std::string::npos);
  CHECK(problems.size() < 600);  // the value itself is not echoed in full
  // Cut where a UTF-8 sequence starts, so the message stays valid text: 59 'x' and then 'é'
  // (2 bytes) straddling byte 60.
  CHECK(problems_of({"label=" + std::string(59, 'x') + "\xc3\xa9" + std::string(40000, 'z')})
            .starts_with("--param label=" + std::string(59, 'x') + "... (40061 bytes): the value"));
  CHECK(problems_of({"label=" + std::string(32 * 1024, 'x')}).empty());
  // Control characters take 6 bytes each as JSON, which is how PODFLOW_TASK carries them.
  CHECK(problems_of({"label=" + std::string(6000, '\x01')}).find("36000 bytes") !=
        std::string::npos);
}

TEST_CASE("all parameter values together are limited to 64 KiB") {
  const auto flow = podflow::test::valid_flow(
      podflow::test::flow_yaml({{"start", {"end"}, ""}, {"end", {}, ""}},
                               "  parameters: [{name: a}, {name: b}, {name: c}]\n"));
  const std::string value(30000, 'v');
  const auto resolved =
      podflow::flow::resolve_parameters(flow, {"a=" + value, "b=" + value, "c=" + value});
  REQUIRE(resolved.problems.size() == 1);
  CHECK(resolved.problems[0].starts_with(
      "the parameters' names and values add up to 90003 bytes (values JSON-escaped); together "
      "they may be at most 65536 bytes (64 KiB)"));
  CHECK(podflow::flow::resolve_parameters(flow, {"a=" + value, "b=" + value, "c=x"})
            .problems.empty());
}

TEST_CASE("parameter names count toward the 64 KiB, as they reach the environment too") {
  const std::string name(70000, 'n');
  const std::string yaml = podflow::test::flow_yaml({{"start", {"end"}, ""}, {"end", {}, ""}},
                                                    "  parameters: [{name: " + name + "}]\n");
  const auto decoded = podflow::flow::decode_flow(yaml);
  REQUIRE(decoded.flow.has_value());
  const auto resolved = podflow::flow::resolve_parameters(*decoded.flow, {name + "=1"});
  REQUIRE(resolved.problems.size() == 1);
  CHECK(resolved.problems[0].starts_with("the parameters' names and values add up to 70001 bytes"));
  const auto validated =
      validate_flow(podflow::test::flow_yaml({{"start", {"end"}, ""}, {"end", {}, ""}},
                                             "  parameters: [{name: " + name + ", default: x}]\n"));
  REQUIRE(validated.diagnostics.size() == 1);
  CHECK(podflow::flow::format_diagnostic("f.yaml", validated.diagnostics[0])
            .starts_with("f.yaml:6:15: spec.parameters: the names and defaults add up to 70001"));
}

TEST_CASE("validate refuses parameter defaults that a run would refuse") {
  const std::string big(40000, 'd');
  const auto one = validate_flow(
      podflow::test::flow_yaml({{"start", {"end"}, ""}, {"end", {}, ""}},
                               "  parameters:\n    - {name: blob, default: \"" + big + "\"}\n"));
  REQUIRE(one.diagnostics.size() == 1);
  CHECK(podflow::flow::format_diagnostic("f.yaml", one.diagnostics[0])
            .starts_with("f.yaml:7:29: parameter 'blob': the default is 40000 bytes "
                         "(JSON-escaped); a parameter value may be at most 32768 bytes"));
  const std::string part(30000, 'd');
  const auto total = validate_flow(podflow::test::flow_yaml(
      {{"start", {"end"}, ""}, {"end", {}, ""}},
      "  parameters:\n    - {name: a, default: " + part + "}\n    - {name: b, default: " + part +
          "}\n    - {name: c, type: json, default: [\"" + part + "\"]}\n"));
  REQUIRE(total.diagnostics.size() == 1);
  CHECK(podflow::flow::format_diagnostic("f.yaml", total.diagnostics[0])
            .starts_with(
                "f.yaml:7:5: spec.parameters: the names and defaults add up to 90009 bytes"));
}

TEST_CASE("annotations over Kubernetes' 256 KiB are refused") {
  const std::string value(200 * 1024, 'a');
  const auto result = validate_flow(podflow::test::flow_yaml(
      {{"start", {"end"}, "annotations: {a: " + value + ", b: " + value + "}"}, {"end", {}, ""}}));
  REQUIRE(result.diagnostics.size() == 1);
  CHECK(podflow::flow::format_diagnostic("f.yaml", result.diagnostics[0]) ==
        "f.yaml:10:20: step 'start': annotations hold 400.0 KiB; Kubernetes allows at most "
        "256 KiB of annotations on a pod. Keep data out of annotations: pass it as a parameter "
        "or an artifact");
}

TEST_CASE("a step's annotations and spec.defaults' together are limited to 256 KiB") {
  const std::string value(150 * 1024, 'a');
  const auto result = validate_flow(podflow::test::flow_yaml(
      {{"start", {"end"}, "annotations: {b: " + value + "}"}, {"end", {}, ""}},
      "  defaults:\n    annotations: {a: " + value + "}\n"));
  REQUIRE(result.diagnostics.size() == 1);
  CHECK(podflow::flow::format_diagnostic("f.yaml", result.diagnostics[0]) ==
        "f.yaml:9:7: step 'start': the step's annotations and spec.defaults.annotations together "
        "hold 300.0 KiB; Kubernetes allows at most 256 KiB of annotations on a pod. Keep data out "
        "of annotations: pass it as a parameter or an artifact");
}

TEST_CASE("an argument or environment value exec would refuse as too long is refused") {
  const auto flow = [](std::size_t argument, std::size_t value) {
    return "apiVersion: podflow.dev/v1alpha1\nkind: Flow\nmetadata:\n  name: test\nspec:\n"
           "  steps:\n"
           "    - name: start\n      command: [echo, " +
           std::string(argument, 'a') +
           "]\n      next: [end]\n"
           "    - name: end\n      command: [echo]\n      env: [{name: AB, value: " +
           std::string(value, 'b') + "}]\n";
  };
  // 128 KiB counts the terminating NUL, and "AB=" for the environment string.
  const auto result = validate_flow(flow(128 * 1024, 128 * 1024 - 3));
  REQUIRE(result.diagnostics.size() == 2);
  CHECK(podflow::flow::format_diagnostic("f.yaml", result.diagnostics[0]) ==
        "f.yaml:8:23: step 'start': command[1] is 131072 bytes; Linux refuses a single argument "
        "or environment variable of 128 KiB or more (\"Argument list too long\"). Pass large "
        "data in a file or as an artifact instead");
  CHECK(podflow::flow::format_diagnostic("f.yaml", result.diagnostics[1])
            .starts_with("f.yaml:12:31: step 'end': env.AB is 131069 bytes; Linux refuses"));
  CHECK(validate_flow(flow(128 * 1024 - 1, 128 * 1024 - 4)).diagnostics.empty());
}
