// The CRDs in crds/ against the C++ model: the Flow schema has exactly the fields the decoder
// accepts (the decoder's own field tables, read through its "known fields are ..." message), every
// valid corpus document and example fits the schema, the copies of the Flow spec and of the step
// settings agree, and the numbers (defaults, limits) are flow/defaults.hpp's.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "flow/defaults.hpp"
#include "flow/flow_decoder.hpp"
#include "flow/yaml_value.hpp"

namespace fs = std::filesystem;
using podflow::flow::scalar_kind;
using podflow::flow::ScalarKind;

namespace {

using Names = std::set<std::string>;

YAML::Node load_crd(const std::string& file) {
  return YAML::LoadFile((fs::path(PODFLOW_CRDS) / file).string());
}

YAML::Node version_of(const YAML::Node& crd) {
  REQUIRE(crd["spec"]["versions"].size() == 1);
  return crd["spec"]["versions"][0];
}

YAML::Node root_schema(const YAML::Node& crd) {
  return version_of(crd)["schema"]["openAPIV3Schema"];
}

// The schema at a dotted path of property names; "[]" steps into a list's items.
YAML::Node schema_at(YAML::Node schema, const std::string& path) {
  std::istringstream parts(path);
  std::string part;
  while (std::getline(parts, part, '.')) {
    if (part == "[]") {
      REQUIRE_MESSAGE(schema["items"], path);
      schema.reset(schema["items"]);  // rebinds; `=` would overwrite the node it refers to
    } else {
      REQUIRE_MESSAGE(schema["properties"][part], path << ": no property " << part);
      schema.reset(schema["properties"][part]);
    }
  }
  return schema;
}

Names properties_of(const YAML::Node& schema) {
  Names names;
  for (const auto& entry : schema["properties"]) names.insert(entry.first.Scalar());
  return names;
}

std::string text_of(const YAML::Node& node) {
  YAML::Emitter out;
  out << node;
  return out.c_str();
}

std::string join(const Names& names) {
  std::string text;
  for (const auto& name : names) text += (text.empty() ? "" : ", ") + name;
  return text;
}

// A field name no known field is close to, so the decoder lists all the fields it knows.
const std::string kProbe(70, 'q');

// The fields the decoder accepts where `document` has the probe field: its "unknown field"
// message ends with "known fields are a, b, c".
Names decoder_fields(const std::string& document) {
  const auto result = podflow::flow::decode_flow(document);
  for (const auto& diagnostic : result.diagnostics) {
    if (diagnostic.message.find("unknown field '" + kProbe + "'") == std::string::npos) continue;
    const std::string marker = "known fields are ";
    const auto at = diagnostic.message.find(marker);
    REQUIRE_MESSAGE(at != std::string::npos, diagnostic.message);
    Names names;
    std::istringstream list(diagnostic.message.substr(at + marker.size()));
    std::string name;
    while (std::getline(list, name, ',')) {
      name.erase(0, name.find_first_not_of(' '));
      names.insert(name);
    }
    return names;
  }
  FAIL("the decoder did not report the probe field in:\n" << document);
  return {};
}

// A valid flow with the probe field placed by `where`: "top", "spec", "defaults", "step",
// "resources", "retry", "env", "toleration" or "parameter".
std::string probe_document(const std::string& where) {
  const auto probe = [&](const std::string& place) {
    return place == where ? kProbe + (place == "top" ? ": 1\n" : ": 1, ") : std::string();
  };
  return probe("top") + "apiVersion: podflow.dev/v1alpha1\nkind: Flow\nmetadata: {name: probe}\n" +
         "spec: {" + probe("spec") + "parameters: [{" + probe("parameter") + "name: p}], " +
         "defaults: {" + probe("defaults") + "image: i}, steps: [" + "{" + probe("step") +
         "name: start, command: [echo], next: [end], resources: {" + probe("resources") +
         "cpu: 1}, retry: {" + probe("retry") + "times: 1}, env: [{" + probe("env") +
         "name: A}], tolerations: [{" + probe("toleration") + "key: k}]}, " +
         "{name: end, command: [echo]}]}\n";
}

// Where each decoder table lives in the Flow schema (relative to the root).
struct Place {
  std::string where;
  std::string schema_path;
};
const std::vector<Place> kPlaces{
    {"top", ""},
    {"spec", "spec"},
    {"parameter", "spec.parameters.[]"},
    {"defaults", "spec.defaults"},
    {"step", "spec.steps.[]"},
    {"resources", "spec.steps.[].resources"},
    {"retry", "spec.steps.[].retry"},
    {"env", "spec.steps.[].env.[]"},
    {"toleration", "spec.steps.[].tolerations.[]"},
};

// A small structural validator: what kubectl apply's schema check does for types, fields,
// required fields, enums, ranges, patterns and sizes (CEL rules are the API server's, see
// tests/crds). Problems are appended as "path: what".
void validate(const YAML::Node& node, const YAML::Node& schema, const std::string& path,
              std::vector<std::string>& problems) {
  const auto problem = [&](const std::string& what) { problems.push_back(path + ": " + what); };
  if (path == ".metadata") return;  // ObjectMeta: the API server's own
  if (schema["x-kubernetes-int-or-string"]) {
    const auto kind = node.IsScalar() ? scalar_kind(node) : ScalarKind::Null;
    if (kind != ScalarKind::Integer && kind != ScalarKind::String) {
      problem("must be an integer or a string");
    }
    return;
  }
  const std::string type = schema["type"] ? schema["type"].Scalar() : "";
  if (type.empty()) {
    if (!schema["x-kubernetes-preserve-unknown-fields"]) problem("schema without a type");
    return;
  }
  if (type == "object") {
    if (!node.IsMap()) return problem("must be a mapping");
    for (const auto& entry : node) {
      const std::string key = entry.first.Scalar();
      if (schema["properties"] && schema["properties"][key]) {
        validate(entry.second, schema["properties"][key], path + "." + key, problems);
      } else if (schema["additionalProperties"]) {
        validate(entry.second, schema["additionalProperties"], path + "." + key, problems);
      } else if (!schema["x-kubernetes-preserve-unknown-fields"]) {
        problem("unknown field " + key);
      }
    }
    for (const auto& required : schema["required"]) {
      if (!node[required.Scalar()]) problem("missing required field " + required.Scalar());
    }
    if (schema["maxProperties"] && node.size() > schema["maxProperties"].as<std::size_t>()) {
      problem("too many entries");
    }
    return;
  }
  if (type == "array") {
    if (!node.IsSequence()) return problem("must be a list");
    if (schema["minItems"] && node.size() < schema["minItems"].as<std::size_t>()) {
      problem("too few items");
    }
    if (schema["maxItems"] && node.size() > schema["maxItems"].as<std::size_t>()) {
      problem("too many items");
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      validate(node[i], schema["items"], path + "[" + std::to_string(i) + "]", problems);
    }
    return;
  }
  if (!node.IsScalar()) return problem("must be a " + type);
  const auto kind = scalar_kind(node);
  if (type == "string") {
    if (kind != ScalarKind::String) return problem("must be a string");
    const std::string& text = node.Scalar();
    if (schema["minLength"] && text.size() < schema["minLength"].as<std::size_t>()) {
      problem("too short");
    }
    if (schema["maxLength"] && text.size() > schema["maxLength"].as<std::size_t>()) {
      problem("too long");
    }
    if (schema["pattern"] && !std::regex_search(text, std::regex(schema["pattern"].Scalar()))) {
      problem("does not match " + schema["pattern"].Scalar());
    }
    if (schema["enum"]) {
      bool listed = false;
      for (const auto& value : schema["enum"]) listed = listed || value.Scalar() == text;
      if (!listed) problem("not one of the enum values");
    }
  } else if (type == "integer") {
    if (kind != ScalarKind::Integer) return problem("must be an integer");
    const auto value = node.as<long long>();
    if (schema["minimum"] && value < schema["minimum"].as<long long>()) problem("below minimum");
    if (schema["maximum"] && value > schema["maximum"].as<long long>()) problem("above maximum");
  } else if (type == "boolean") {
    if (kind != ScalarKind::Boolean) problem("must be a boolean");
  } else if (type == "number") {
    if (kind != ScalarKind::Integer && kind != ScalarKind::Float) problem("must be a number");
  }
}

std::vector<fs::path> flow_documents() {
  std::vector<fs::path> paths;
  for (const auto& entry : fs::directory_iterator(fs::path(PODFLOW_LINT_CORPUS) / "valid")) {
    paths.push_back(entry.path());
  }
  for (const auto& entry : fs::recursive_directory_iterator(PODFLOW_EXAMPLES)) {
    if (entry.path().filename() == "flow.yaml") paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

}  // namespace

TEST_CASE("the Flow schema has exactly the fields the decoder accepts at every level") {
  const YAML::Node root = root_schema(load_crd("flows.yaml"));
  for (const auto& place : kPlaces) {
    CAPTURE(place.where);
    const Names decoder = decoder_fields(probe_document(place.where));
    const Names schema =
        properties_of(place.schema_path.empty() ? root : schema_at(root, place.schema_path));
    CHECK_MESSAGE(decoder == schema, "decoder: " << join(decoder) << "\nschema:  " << join(schema));
  }
}

TEST_CASE("the probe finds the decoder's tables and would see a field missing from the schema") {
  // The comparison above is only as good as the probe: it must see step-only fields and the
  // settings, and a schema without one of them must differ.
  const Names step = decoder_fields(probe_document("step"));
  for (const std::string field :
       {"name", "command", "next", "foreach", "join", "image", "resources", "timeoutSeconds",
        "retry", "env", "secrets", "serviceAccount", "namespace", "nodeSelector", "tolerations",
        "labels", "annotations", "runOn", "parallelism"}) {
    CHECK_MESSAGE(step.count(field) == 1, field);
  }
  YAML::Node steps = YAML::Clone(schema_at(root_schema(load_crd("flows.yaml")), "spec.steps.[]"));
  steps["properties"].remove("foreach");
  CHECK(properties_of(steps) != step);
}

TEST_CASE("every valid corpus document and every example fits the Flow schema") {
  const YAML::Node root = root_schema(load_crd("flows.yaml"));
  const auto paths = flow_documents();
  CHECK(paths.size() >= 10);
  for (const auto& path : paths) {
    CAPTURE(path.string());
    std::size_t flows = 0;
    for (const auto& document : YAML::LoadAllFromFile(path.string())) {
      if (document["kind"].Scalar() != "Flow") continue;
      ++flows;
      std::vector<std::string> problems;
      validate(document, root, "", problems);
      std::string text;
      for (const auto& problem : problems) text += problem + "\n";
      CHECK_MESSAGE(problems.empty(), text);
    }
    CHECK(flows == 1);
  }
}

TEST_CASE("the schema check rejects what the decoder rejects for types and fields") {
  // The validator above is the test's own: make sure it can fail.
  const YAML::Node root = root_schema(load_crd("flows.yaml"));
  for (const std::string name :
       {"command-number-argument", "cpu-fraction", "label-value-number", "next-is-a-string",
        "resources-unknown-field", "retry-too-many", "timeout-zero", "step-name-starts-with-digit",
        "env-bad-name", "toleration-bad-operator", "parameter-unknown-type"}) {
    CAPTURE(name);
    const auto document =
        YAML::LoadFile((fs::path(PODFLOW_LINT_CORPUS) / "invalid" / (name + ".yaml")).string());
    std::vector<std::string> problems;
    validate(document, root, "", problems);
    CHECK_FALSE(problems.empty());
  }
}

TEST_CASE("every step setting has the same schema in a step, spec.defaults and overrides") {
  const YAML::Node flow = root_schema(load_crd("flows.yaml"));
  const YAML::Node defaults = schema_at(flow, "spec.defaults");
  const YAML::Node step = schema_at(flow, "spec.steps.[]");
  const Names settings = decoder_fields(probe_document("defaults"));
  CHECK(properties_of(defaults) == settings);
  for (const auto& name : settings) {
    CAPTURE(name);
    REQUIRE(step["properties"][name]);
    CHECK(text_of(step["properties"][name]) == text_of(defaults["properties"][name]));
  }
  const YAML::Node overrides = schema_at(root_schema(load_crd("flowruns.yaml")), "spec.overrides");
  CHECK(text_of(overrides["properties"]) == text_of(defaults["properties"]));
}

TEST_CASE("FlowRun.spec.flow is Flow.spec") {
  const YAML::Node flow_spec = schema_at(root_schema(load_crd("flows.yaml")), "spec");
  const YAML::Node inline_flow = schema_at(root_schema(load_crd("flowruns.yaml")), "spec.flow");
  YAML::Node a = YAML::Clone(flow_spec);
  YAML::Node b = YAML::Clone(inline_flow);
  a.remove("description");
  b.remove("description");
  CHECK(text_of(a) == text_of(b));
}

TEST_CASE("the Task spec's step settings are the Flow's") {
  const YAML::Node task = schema_at(root_schema(load_crd("tasks.yaml")), "spec");
  const YAML::Node defaults = schema_at(root_schema(load_crd("flows.yaml")), "spec.defaults");
  for (const std::string name : {"retry", "secrets", "serviceAccount", "nodeSelector",
                                 "tolerations", "labels", "annotations"}) {
    CAPTURE(name);
    CHECK(text_of(task["properties"][name]) == text_of(defaults["properties"][name]));
  }
  for (const std::string name : {"flowRun", "step", "indexed", "splitPrefix", "count", "image",
                                 "resources", "timeoutSeconds"}) {
    CHECK_MESSAGE(task["properties"][name], name);
  }
  // A Task holds its members' common settings, not one task's runtime spec (docs/api.md).
  CHECK_FALSE(task["properties"]["runtime"]);
  CHECK_FALSE(task["properties"]["taskId"]);
}

TEST_CASE("the numbers in the schema are flow/defaults.hpp's") {
  namespace defaults = podflow::flow::defaults;
  const YAML::Node flow = root_schema(load_crd("flows.yaml"));
  const YAML::Node run = root_schema(load_crd("flowruns.yaml"));
  CHECK(schema_at(run, "spec.maxWorkers")["default"].as<std::int64_t>() == defaults::kMaxWorkers);
  CHECK(schema_at(run, "spec.maxWorkers")["minimum"].as<std::int64_t>() == 1);
  CHECK(schema_at(run, "spec.maxNumSplits")["default"].as<std::int64_t>() ==
        defaults::kMaxNumSplits);
  CHECK(schema_at(run, "spec.maxNumSplits")["minimum"].as<std::int64_t>() == 1);
  CHECK(schema_at(flow, "spec.steps")["maxItems"].as<std::size_t>() == defaults::kMaxSteps);
  CHECK(schema_at(flow, "spec.steps.[].retry.times")["maximum"].as<std::int64_t>() ==
        defaults::kRetryMaxTimes);
  CHECK(schema_at(flow, "spec.steps.[].retry.delaySeconds")["maximum"].as<std::int64_t>() ==
        defaults::kRetryMaxDelaySeconds);
  CHECK(schema_at(flow, "spec.steps.[].timeoutSeconds")["minimum"].as<std::int64_t>() == 1);
  CHECK(schema_at(flow, "spec.steps.[].parallelism")["minimum"].as<std::int64_t>() == 1);
  CHECK(schema_at(flow, "spec.steps.[].parallelism")["maximum"].as<std::int64_t>() ==
        defaults::kMaxParallelism);
  CHECK(schema_at(run, "spec.overrides.parallelism")["maximum"].as<std::int64_t>() ==
        defaults::kMaxParallelism);
  CHECK(schema_at(flow, "spec.steps.[].name")["maxLength"].as<std::size_t>() == 40);
}

TEST_CASE("the three CRDs have the API contract's names, version and columns") {
  const std::string api_version(podflow::flow::defaults::kApiVersion);
  struct Expected {
    std::string file, kind, plural, short_name;
    std::vector<std::string> columns;
  };
  const std::vector<Expected> expected{
      {"flows.yaml", "Flow", "flows", "fl", {"Valid", "Age"}},
      {"flowruns.yaml",
       "FlowRun",
       "flowruns",
       "fr",
       {"Phase", "Succeeded", "Total", "Running", "Failed", "Age"}},
      {"tasks.yaml",
       "Task",
       "tasks",
       "tk",
       {"Step", "Completions", "Running", "Failed", "Phase", "Reason", "Age"}},
  };
  for (const auto& want : expected) {
    CAPTURE(want.file);
    const YAML::Node crd = load_crd(want.file);
    const YAML::Node spec = crd["spec"];
    CHECK(crd["metadata"]["name"].Scalar() == want.plural + ".podflow.dev");
    CHECK(spec["group"].Scalar() + "/" + version_of(crd)["name"].Scalar() == api_version);
    CHECK(spec["scope"].Scalar() == "Namespaced");
    CHECK(spec["names"]["kind"].Scalar() == want.kind);
    CHECK(spec["names"]["shortNames"][0].Scalar() == want.short_name);
    CHECK(spec["names"]["categories"][0].Scalar() == "podflow");
    CHECK(version_of(crd)["served"].as<bool>());
    CHECK(version_of(crd)["storage"].as<bool>());
    CHECK(version_of(crd)["subresources"]["status"].IsMap());
    std::vector<std::string> columns;
    for (const auto& column : version_of(crd)["additionalPrinterColumns"]) {
      columns.push_back(column["name"].Scalar());
    }
    CHECK(columns == want.columns);
  }
}
