#include "flow/flow_decoder.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <regex>
#include <set>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "flow/defaults.hpp"
#include "flow/names.hpp"
#include "flow/parameters.hpp"
#include "flow/suggestion.hpp"
#include "flow/yaml_value.hpp"

namespace podflow::flow {
namespace {

using FieldList = std::vector<std::string>;

const FieldList kTopFields{"apiVersion", "kind", "metadata", "spec", "status"};
// ObjectMeta as the API server returns it, so a Flow read back from a cluster decodes too.
const FieldList kMetadataFields{"name",
                                "namespace",
                                "labels",
                                "annotations",
                                "uid",
                                "resourceVersion",
                                "generation",
                                "creationTimestamp",
                                "managedFields",
                                "generateName",
                                "ownerReferences",
                                "finalizers",
                                "deletionTimestamp",
                                "deletionGracePeriodSeconds",
                                "selfLink"};
const FieldList kSpecFields{"image", "parameters", "defaults", "steps"};
const FieldList kSettingsFields{"image",
                                "resources",
                                "timeoutSeconds",
                                "retry",
                                "env",
                                "secrets",
                                "serviceAccount",
                                "namespace",
                                "nodeSelector",
                                "tolerations",
                                "labels",
                                "annotations",
                                "persistentVolumeClaims",
                                "sharedMemory",
                                "tmpfs",
                                "qos",
                                "port",
                                "priorityClassName",
                                "runOn",
                                "parallelism"};
const FieldList kTmpfsFields{"size", "path", "tempdir"};
const FieldList kStepOnlyFields{"name", "command", "next", "foreach", "join"};
const FieldList kResourceFields{"cpu", "memory", "disk", "gpu", "gpuVendor"};
const FieldList kRetryFields{"times", "delaySeconds"};
const FieldList kEnvFields{"name", "value"};
const FieldList kTolerationFields{"key", "operator", "value", "effect", "tolerationSeconds"};
const FieldList kParameterFields{"name", "default", "type", "help"};
const FieldList kParameterTypes{"string", "integer", "number", "boolean", "json"};

FieldList step_fields() {
  FieldList fields = kStepOnlyFields;
  fields.insert(fields.end(), kSettingsFields.begin(), kSettingsFields.end());
  return fields;
}

// Reads one document, collecting every problem instead of stopping at the first.
class Decoder {
 public:
  explicit Decoder(Diagnostics& diagnostics) : diagnostics_(diagnostics) {}

  FlowSpec decode(const YAML::Node& document) {
    FlowSpec flow;
    if (!expect_map(document, "the document")) return flow;
    check_fields(document, kTopFields, "the document");
    flow.apiVersion = required_string(document, "apiVersion", "the document",
                                      "; add apiVersion: " + std::string(defaults::kApiVersion))
                          .value_or("");
    if (document["apiVersion"] && !flow.apiVersion.empty() &&
        flow.apiVersion != defaults::kApiVersion) {
      error(document["apiVersion"], "apiVersion is '" + flow.apiVersion +
                                        "'; a Flow has apiVersion " +
                                        std::string(defaults::kApiVersion));
    }
    flow.kind = required_string(document, "kind", "the document", "; add kind: Flow").value_or("");
    decode_metadata(document, flow);
    const YAML::Node spec = document["spec"];
    if (!spec) {
      error(document,
            "the document has no 'spec'; add spec.steps with at least a start and an end step");
      return flow;
    }
    if (!expect_map(spec, "spec")) return flow;
    check_fields(spec, kSpecFields, "spec");
    flow.image = optional_string(spec, "image", "spec");
    decode_parameters(spec["parameters"], flow);
    if (const YAML::Node defaults = spec["defaults"]) {
      if (expect_map(defaults, "spec.defaults")) {
        check_fields(defaults, kSettingsFields, "spec.defaults");
        decode_settings(defaults, "spec.defaults", flow.defaults);
      }
    }
    decode_steps(spec, flow);
    return flow;
  }

 private:
  void error(const YAML::Node& node, std::string message) {
    diagnostics_.push_back(Diagnostic{mark_of(node), step_, std::move(message)});
  }

  bool expect_map(const YAML::Node& node, const std::string& what) {
    if (node.IsMap()) return true;
    error(node, what + " must be a mapping (key: value lines), not " + describe_node(node));
    return false;
  }

  bool expect_list(const YAML::Node& node, const std::string& what, const std::string& example) {
    if (node.IsSequence()) return true;
    error(node, what + " must be a list, not " + describe_node(node) + "; for example " + example);
    return false;
  }

  void check_fields(const YAML::Node& map, const FieldList& known, const std::string& what) {
    std::set<std::string> seen;
    for (const auto& entry : map) {
      const YAML::Node key = entry.first;
      if (!key.IsScalar()) {
        error(key, what + " has a key that is " + describe_node(key) + "; keys are field names");
        continue;
      }
      const std::string& name = key.Scalar();
      if (!seen.insert(name).second) {
        error(key, what + " sets '" + name + "' twice; keep one");
      }
      if (std::find(known.begin(), known.end(), name) != known.end()) continue;
      std::string message = what + " has an unknown field '" + name + "'";
      const std::string suggestion = closest_match(name, known);
      if (!suggestion.empty()) {
        message += "; did you mean '" + suggestion + "'?";
      } else {
        message += "; known fields are ";
        for (std::size_t i = 0; i < known.size(); ++i) message += (i ? ", " : "") + known[i];
      }
      error(key, message);
    }
  }

  // A string field. Plain scalars that YAML reads as numbers or booleans are not strings, exactly
  // as `kubectl apply` would say.
  std::optional<std::string> string_value(const YAML::Node& node, const std::string& what) {
    if (node.IsScalar() && scalar_kind(node) == ScalarKind::String) return node.Scalar();
    if (node.IsScalar() && scalar_kind(node) != ScalarKind::Null) {
      error(node, what + " must be a string, not " + describe_node(node) + "; quote it (\"" +
                      node.Scalar() + "\")");
    } else {
      error(node, what + " must be a string, not " + describe_node(node));
    }
    return std::nullopt;
  }

  std::optional<std::string> optional_string(const YAML::Node& map, const std::string& field,
                                             const std::string& what) {
    const YAML::Node node = map[field];
    if (!node) return std::nullopt;
    return string_value(node, what + "." + field);
  }

  std::optional<std::string> required_string(const YAML::Node& map, const std::string& field,
                                             const std::string& what,
                                             const std::string& hint = "") {
    const YAML::Node node = map[field];
    if (!node) {
      error(map, what + " has no '" + field + "'" + hint);
      return std::nullopt;
    }
    return string_value(node, field);
  }

  // `fix` explains values below `minimum`; `too_large` (when given) those above `maximum`, so a
  // huge number is not told it must be "at least 1".
  std::optional<std::int64_t> integer_value(const YAML::Node& node, const std::string& what,
                                            std::int64_t minimum, std::int64_t maximum,
                                            const std::string& fix,
                                            const std::string& too_large = "") {
    if (!node.IsScalar() || scalar_kind(node) != ScalarKind::Integer ||
        node.Scalar().find_first_of("xob") != std::string::npos) {
      error(node, what + " must be a whole number, not " + describe_node(node) + "; " + fix);
      return std::nullopt;
    }
    std::int64_t value = 0;
    try {
      std::size_t used = 0;
      value = std::stoll(node.Scalar(), &used, 10);
    } catch (const std::exception&) {
      const bool negative = !node.Scalar().empty() && node.Scalar()[0] == '-';
      error(node, what + " " + node.Scalar() + " is out of range; " +
                      (negative || too_large.empty() ? fix : too_large));
      return std::nullopt;
    }
    if (value < minimum || value > maximum) {
      error(node, what + " is " + std::to_string(value) + "; " +
                      (value > maximum && !too_large.empty() ? too_large : fix));
      return std::nullopt;
    }
    return value;
  }

  // A YAML "\0" or JSON "\u0000" escape puts a NUL byte in a string; exec cannot pass it (C
  // strings end there), so the program would silently get a shorter argument.
  // Linux also refuses any one argument or "NAME=value" string of MAX_ARG_STRLEN (128 KiB,
  // with its terminating NUL) or more: exec fails with "Argument list too long". `extra` counts
  // the "NAME=" of an environment string.
  bool check_argument(const YAML::Node& node, const std::string& what, const std::string& value,
                      std::size_t extra = 0) {
    const std::size_t nul = value.find('\0');
    if (nul != std::string::npos) {
      error(node, what + " contains a NUL byte (\\0) at offset " + std::to_string(nul) +
                      ", which a program's arguments and environment cannot carry; remove it");
      return false;
    }
    if (value.size() + extra + 1 > defaults::kMaxArgumentBytes) {
      error(node, what + " is " + std::to_string(value.size()) +
                      " bytes; Linux refuses a single argument or environment variable of 128 "
                      "KiB or more (\"Argument list too long\"). Pass large data in a file or as "
                      "an artifact instead");
      return false;
    }
    return true;
  }

  bool boolean_value(const YAML::Node& node, const std::string& what) {
    if (node.IsScalar() && scalar_kind(node) == ScalarKind::Boolean) {
      const char first = node.Scalar().empty() ? 'n' : node.Scalar()[0];
      return first == 't' || first == 'T' || first == 'y' || first == 'Y' ||
             node.Scalar() == "on" || node.Scalar() == "On" || node.Scalar() == "ON";
    }
    error(node, what + " must be true or false, not " + describe_node(node));
    return false;
  }

  std::map<std::string, std::string> string_map(const YAML::Node& node, const std::string& what) {
    std::map<std::string, std::string> result;
    if (!expect_map(node, what)) return result;
    for (const auto& entry : node) {
      if (!entry.first.IsScalar()) {
        error(entry.first, what + " keys must be strings");
        continue;
      }
      const std::string key = entry.first.Scalar();
      if (auto value = string_value(entry.second, what + "." + key)) result[key] = *value;
    }
    return result;
  }

  enum class KeyUse { ObjectLabel, PodLabel, Annotation, NodeSelector };

  // Keys (and label values) the API server would refuse, found before a run creates pods that
  // then fail one by one. A key whose node is not a string was reported by string_map.
  void check_labels(const YAML::Node& map, const std::string& what, KeyUse use) {
    if (!map.IsMap()) return;
    const bool labels = use != KeyUse::Annotation;
    for (const auto& entry : map) {
      if (!entry.first.IsScalar()) continue;
      const std::string key = entry.first.Scalar();
      const std::string kind = labels ? "label" : "annotation";
      const std::string shown = "'" + key + "'";
      if (const std::string problem = qualified_name_problem(key); !problem.empty()) {
        error(entry.first, what + ": key " + shown + " is not a valid " + kind +
                               " key: " + problem + "; e.g. tier or example.com/tier");
        continue;
      }
      // kubernetes.io/ and k8s.io/ belong to Kubernetes' own components (their subdomains, such
      // as node.kubernetes.io/, are meant for users and tools); podflow.dev/ labels are the
      // operator's, which replace the user's on every pod.
      if (use != KeyUse::NodeSelector &&
          (key.starts_with("kubernetes.io/") || key.starts_with("k8s.io/"))) {
        error(entry.first, what + ": key " + shown +
                               " uses a prefix Kubernetes reserves for itself (kubernetes.io/, "
                               "k8s.io/); use your own prefix, e.g. example.com/" +
                               key.substr(key.find('/') + 1));
        continue;
      }
      if (use == KeyUse::PodLabel && key.starts_with("podflow.dev/")) {
        error(entry.first, what + ": key " + shown +
                               " uses the prefix podflow.dev/, whose labels podflow sets on every "
                               "pod itself; use your own prefix, e.g. example.com/" +
                               key.substr(key.find('/') + 1));
        continue;
      }
      if (!labels || !entry.second.IsScalar() || scalar_kind(entry.second) != ScalarKind::String) {
        continue;
      }
      const std::string& value = entry.second.Scalar();
      if (const std::string problem = label_value_problem(value); !problem.empty()) {
        error(entry.second, what + "." + key + ": '" + value +
                                "' is not a valid label value: " + problem + "; e.g. batch-jobs");
      }
    }
  }

  std::vector<std::string> string_list(const YAML::Node& node, const std::string& what,
                                       const std::string& example) {
    std::vector<std::string> result;
    if (!expect_list(node, what, example)) return result;
    std::size_t index = 0;
    for (const auto& item : node) {
      if (auto value = string_value(item, what + "[" + std::to_string(index) + "]")) {
        result.push_back(*value);
      }
      ++index;
    }
    return result;
  }

  void decode_metadata(const YAML::Node& document, FlowSpec& flow) {
    const YAML::Node metadata = document["metadata"];
    if (!metadata) {
      error(document, "the document has no 'metadata'; add metadata.name, the flow's name");
      return;
    }
    if (!expect_map(metadata, "metadata")) return;
    check_fields(metadata, kMetadataFields, "metadata");
    if (auto name = required_string(metadata, "name", "metadata",
                                    "; add name: <flow name>, e.g. name: big-sum")) {
      flow.name = *name;
      if (!is_dns_label(*name)) {
        error(metadata["name"], "metadata.name '" + *name +
                                    "' is not a valid flow name; use at most 63 lowercase letters, "
                                    "digits and '-', starting with a letter (e.g. big-sum)");
      }
    }
    if (auto name = optional_string(metadata, "namespace", "metadata")) flow.namespace_ = *name;
    if (const YAML::Node labels = metadata["labels"]) {
      flow.metadataLabels = string_map(labels, "metadata.labels");
      check_labels(labels, "metadata.labels", KeyUse::ObjectLabel);
    }
  }

  void decode_parameters(const YAML::Node& node, FlowSpec& flow) {
    if (!node) return;
    if (!expect_list(node, "spec.parameters", "[{name: alpha, default: \"0.5\"}]")) return;
    std::set<std::string> names;
    std::size_t total_default_bytes = 0;
    for (const auto& item : node) {
      Parameter parameter;
      parameter.mark = mark_of(item);
      if (!expect_map(item, "a parameter")) continue;
      check_fields(item, kParameterFields, "parameter");
      parameter.name =
          required_string(item, "name", "a parameter", "; every parameter needs one").value_or("");
      const std::string what = "parameter '" + parameter.name + "'";
      if (!parameter.name.empty() && !is_identifier(parameter.name)) {
        error(item["name"], what +
                                ": name must be lowercase letters, digits and underscores, "
                                "starting with a letter");
      }
      if (!parameter.name.empty() && !names.insert(parameter.name).second) {
        error(item["name"], what + " is defined twice; keep one");
      }
      if (auto type = optional_string(item, "type", what)) {
        if (std::find(kParameterTypes.begin(), kParameterTypes.end(), *type) ==
            kParameterTypes.end()) {
          error(item["type"], what + ": type '" + *type +
                                  "' is unknown; use string, integer, number, boolean or json");
        } else {
          parameter.type = *type;
        }
      }
      if (auto help = optional_string(item, "help", what)) parameter.help = *help;
      if (const YAML::Node value = item["default"]) {
        parameter.defaultValue = parameter_default(value, parameter.type, what);
        // The run refuses what resolve_parameters refuses; validate says so first.
        if (parameter.defaultValue) {
          const std::string problem =
              parameter_value_problem(parameter.type, *parameter.defaultValue);
          if (!problem.empty()) {
            error(value, what + ": the default " + problem);
            parameter.defaultValue.reset();
          } else {
            total_default_bytes +=
                parameter.name.size() + json_escaped_size(*parameter.defaultValue);
          }
        }
      }
      flow.parameters.push_back(std::move(parameter));
    }
    if (total_default_bytes > defaults::kMaxParameterTotalBytes) {
      error(node, "spec.parameters: the names and defaults add up to " +
                      std::to_string(total_default_bytes) +
                      " bytes (defaults JSON-escaped); together they may be at most " +
                      std::to_string(defaults::kMaxParameterTotalBytes) +
                      " bytes (64 KiB), since every step receives them all in its environment. "
                      "Pass large data as a path (s3://... or a file) or produce it as an "
                      "artifact instead");
    }
  }

  // A parameter's default as the text a step receives. JSON parameters may be any value; the
  // conversion is budgeted so a YAML alias bomb cannot expand without bound.
  std::optional<std::string> parameter_default(const YAML::Node& node, const std::string& type,
                                               const std::string& what) {
    if (type == "json") {
      std::size_t budget = 100000;
      auto json = to_json(node, budget);
      if (!json) {
        error(node, what +
                        ": default is too large (more than 100000 values, or aliases that "
                        "expand too far); pass large data as an artifact instead");
        return std::nullopt;
      }
      return json->dump();
    }
    if (!node.IsScalar() || scalar_kind(node) == ScalarKind::Null) {
      error(node, what + ": default must be a single value, not " + describe_node(node) +
                      "; use type: json for lists and mappings");
      return std::nullopt;
    }
    const ScalarKind kind = scalar_kind(node);
    const bool fits =
        type == "string" || (type == "integer" && kind == ScalarKind::Integer) ||
        (type == "number" && (kind == ScalarKind::Integer || kind == ScalarKind::Float)) ||
        (type == "boolean" && kind == ScalarKind::Boolean);
    if (!fits) {
      error(node, what + ": default " + node.Scalar() + " is not " +
                      (type == "integer" ? "an integer" : "a " + type) +
                      "; change the default or the type");
      return std::nullopt;
    }
    if (kind == ScalarKind::Boolean) return boolean_value(node, what) ? "true" : "false";
    return node.Scalar();
  }

  std::optional<nlohmann::json> to_json(const YAML::Node& node, std::size_t& budget) {
    if (budget == 0) return std::nullopt;
    --budget;
    if (node.IsSequence()) {
      nlohmann::json array = nlohmann::json::array();
      for (const auto& item : node) {
        auto value = to_json(item, budget);
        if (!value) return std::nullopt;
        array.push_back(std::move(*value));
      }
      return array;
    }
    if (node.IsMap()) {
      nlohmann::json object = nlohmann::json::object();
      for (const auto& entry : node) {
        auto value = to_json(entry.second, budget);
        if (!value) return std::nullopt;
        object[entry.first.Scalar()] = std::move(*value);
      }
      return object;
    }
    switch (scalar_kind(node)) {
      case ScalarKind::Null:
        return nlohmann::json(nullptr);
      case ScalarKind::Boolean:
        return nlohmann::json(boolean_value(node, "value"));
      case ScalarKind::Integer:
      case ScalarKind::Float: {
        auto parsed = nlohmann::json::parse(node.Scalar(), nullptr, false);
        if (!parsed.is_discarded()) return parsed;
        return nlohmann::json(node.Scalar());
      }
      case ScalarKind::String:
        break;
    }
    return nlohmann::json(node.Scalar());
  }

  void decode_steps(const YAML::Node& spec, FlowSpec& flow) {
    const YAML::Node node = spec["steps"];
    if (!node) {
      error(spec,
            "spec has no 'steps'; add a list of steps with at least a start and an "
            "end step");
      return;
    }
    if (!expect_list(node, "spec.steps", "[{name: start, command: [...], next: [end]}, ...]")) {
      return;
    }
    if (node.size() > defaults::kMaxSteps) {
      error(node, "spec.steps has " + std::to_string(node.size()) +
                      " steps; a flow may have at most " + std::to_string(defaults::kMaxSteps) +
                      " (use foreach to run one step many times)");
      return;
    }
    const FieldList fields = step_fields();
    std::size_t index = 0;
    for (const auto& item : node) {
      step_.clear();
      const std::string position = "spec.steps[" + std::to_string(index++) + "]";
      if (!expect_map(item, position)) continue;
      Step step;
      step.mark = mark_of(item);
      if (const YAML::Node name = item["name"]) {
        step.name = string_value(name, position + ".name").value_or("");
      } else {
        error(item, position + " has no 'name'; every step needs one");
      }
      step_ = step.name;
      check_fields(item, fields, "the step");
      if (const YAML::Node command = item["command"]) {
        step.command = string_list(command, "command", "[python3, train.py]");
        if (command.IsSequence()) {
          for (std::size_t i = 0; i < step.command.size() && i < command.size(); ++i) {
            check_argument(command[i], "command[" + std::to_string(i) + "]", step.command[i]);
          }
        }
        if (command.IsSequence() && step.command.empty() && command.size() == 0) {
          error(command,
                "command is empty; give the program and its arguments, e.g. "
                "[python3, train.py]");
        } else if (!step.command.empty() && step.command.front().empty()) {
          error(command, "command[0] is empty; it must name the program to run");
        }
      } else {
        error(item,
              "the step has no 'command'; add the program to run as a list, e.g. "
              "command: [python3, train.py]");
      }
      if (const YAML::Node next = item["next"]) {
        step.nextMark = mark_of(next);
        if (next.IsScalar() && scalar_kind(next) == ScalarKind::String) {
          error(next, "next must be a list of step names; write next: [" + next.Scalar() + "]");
        } else {
          step.next = string_list(next, "next", "next: [end]");
          if (next.IsSequence() && next.size() == 0) {
            error(next,
                  "next is empty; name the step(s) that follow, or remove next from the end "
                  "step");
          }
        }
      }
      if (const YAML::Node foreach = item["foreach"]) {
        step.foreachMark = mark_of(foreach);
        step.foreach = string_value(foreach, "foreach");
        if (step.foreach && step.foreach->empty()) {
          error(foreach, "foreach is empty; name the artifact that holds the list to fan out over");
        }
      }
      if (const YAML::Node join = item["join"]) step.join = boolean_value(join, "join");
      decode_settings(item, "", step.settings);
      flow.steps.push_back(std::move(step));
    }
    step_.clear();
  }

  // The fields a step shares with spec.defaults. `prefix` is "spec.defaults" or "" for a step.
  void decode_settings(const YAML::Node& map, const std::string& prefix, StepSettings& settings) {
    const auto field = [&](const std::string& name) {
      return prefix.empty() ? name : prefix + "." + name;
    };
    settings.image = optional_string(map, "image", prefix.empty() ? "the step" : prefix);
    if (settings.image && settings.image->empty()) {
      error(map["image"], field("image") + " is empty; name a container image or remove the field");
    }
    if (const YAML::Node resources = map["resources"]) {
      decode_resources(resources, field("resources"), settings.resources);
    }
    if (const YAML::Node timeout = map["timeoutSeconds"]) {
      settings.timeoutSeconds =
          integer_value(timeout, field("timeoutSeconds"), 1, defaults::kMaxTimeoutSeconds,
                        "a timeout must be a positive number of seconds (the default is 432000, "
                        "5 days)",
                        "a timeout may be at most " + std::to_string(defaults::kMaxTimeoutSeconds) +
                            " seconds (365 days); the default is 432000 (5 days)");
    }
    if (const YAML::Node retry = map["retry"]) {
      if (expect_map(retry, field("retry"))) {
        check_fields(retry, kRetryFields, field("retry"));
        if (const YAML::Node times = retry["times"]) {
          settings.retry.times = integer_value(
              times, field("retry.times"), 0, defaults::kRetryMaxTimes,
              "retry.times must be between 0 and " + std::to_string(defaults::kRetryMaxTimes));
        }
        if (const YAML::Node delay = retry["delaySeconds"]) {
          settings.retry.delaySeconds =
              integer_value(delay, field("retry.delaySeconds"), 0, defaults::kRetryMaxDelaySeconds,
                            "retry.delaySeconds must be between 0 and " +
                                std::to_string(defaults::kRetryMaxDelaySeconds));
        }
      }
    }
    if (const YAML::Node env = map["env"]) decode_env(env, field("env"), settings.env);
    if (const YAML::Node secrets = map["secrets"]) {
      settings.secrets = string_list(secrets, field("secrets"), "secrets: [s3-credentials]");
      for (const auto& secret : settings.secrets) {
        if (!is_dns_subdomain(secret)) {
          error(secrets, field("secrets") + ": '" + secret +
                             "' is not a valid Secret name (lowercase letters, digits, '-', '.')");
        }
      }
    }
    if (auto account =
            optional_string(map, "serviceAccount", prefix.empty() ? "the step" : prefix)) {
      if (!is_dns_subdomain(*account)) {
        error(map["serviceAccount"],
              field("serviceAccount") + " '" + *account + "' is not a valid ServiceAccount name");
      }
      settings.serviceAccount = account;
    }
    if (auto ns = optional_string(map, "namespace", prefix.empty() ? "the step" : prefix)) {
      if (!is_dns_label(*ns)) {
        error(map["namespace"],
              field("namespace") + " '" + *ns +
                  "' is not a valid namespace name (at most 63 lowercase letters, "
                  "digits and '-')");
      }
      settings.namespace_ = ns;
    }
    if (const YAML::Node selector = map["nodeSelector"]) {
      settings.nodeSelector = string_map(selector, field("nodeSelector"));
      check_labels(selector, field("nodeSelector"), KeyUse::NodeSelector);
    }
    if (const YAML::Node tolerations = map["tolerations"]) {
      decode_tolerations(tolerations, field("tolerations"), settings.tolerations);
    }
    if (const YAML::Node labels = map["labels"]) {
      settings.labels = string_map(labels, field("labels"));
      check_labels(labels, field("labels"), KeyUse::PodLabel);
    }
    decode_pod_options(map, prefix, settings);
    if (const YAML::Node annotations = map["annotations"]) {
      settings.annotations = string_map(annotations, field("annotations"));
      check_labels(annotations, field("annotations"), KeyUse::Annotation);
      std::size_t bytes = 0;
      for (const auto& [key, value] : settings.annotations) bytes += key.size() + value.size();
      if (bytes > defaults::kMaxAnnotationBytes) {
        error(annotations, field("annotations") + " hold " + describe_bytes(double(bytes)) +
                               "; Kubernetes allows at most 256 KiB of annotations on a pod. "
                               "Keep data out of annotations: pass it as a parameter or an "
                               "artifact");
      }
    }
  }

  // Metaflow's other @kubernetes options (persistent_volume_claims, shared_memory, use_tmpfs and
  // its tmpfs_*, qos, port) and a priority class: they shape the pod only.
  void decode_pod_options(const YAML::Node& map, const std::string& prefix,
                          StepSettings& settings) {
    const auto field = [&](const std::string& name) {
      return prefix.empty() ? name : prefix + "." + name;
    };
    if (const YAML::Node claims = map["persistentVolumeClaims"]) {
      settings.persistentVolumeClaims = string_map(claims, field("persistentVolumeClaims"));
      std::set<std::string> paths;
      for (const auto& [claim, path] : settings.persistentVolumeClaims) {
        const std::string what = field("persistentVolumeClaims") + "." + claim;
        if (!is_dns_subdomain(claim)) {
          error(claims, what + ": '" + claim +
                            "' is not a valid PersistentVolumeClaim name (lowercase letters, "
                            "digits, '-', '.'); write {claim-name: /mount/path}");
        }
        check_mount_path(claims, what, path);
        if (!paths.insert(path).second) {
          error(claims, what + ": the mount path " + path + " is used by another claim");
        }
      }
    }
    if (const YAML::Node shm = map["sharedMemory"]) {
      settings.sharedMemory = byte_quantity(
          shm, field("sharedMemory"), "1024 (MB) or \"1Gi\"", defaults::kMaxMemoryBytes,
          "sharedMemory counts against the step's memory; it may be at most 64 TiB");
    }
    if (const YAML::Node tmpfs = map["tmpfs"]) {
      const std::string what = field("tmpfs");
      if (expect_map(tmpfs, what)) {
        check_fields(tmpfs, kTmpfsFields, what);
        Tmpfs value;
        if (const YAML::Node size = tmpfs["size"]) {
          value.size =
              byte_quantity(size, what + ".size", "1024 (MB) or \"1Gi\"", defaults::kMaxMemoryBytes,
                            "tmpfs counts against the step's memory; it may be at most "
                            "64 TiB");
        }
        if (auto path = optional_string(tmpfs, "path", what)) {
          check_mount_path(tmpfs["path"], what + ".path", *path);
          value.path = path;
        }
        if (const YAML::Node tempdir = tmpfs["tempdir"]) {
          value.tempdir = boolean_value(tempdir, what + ".tempdir");
        }
        settings.tmpfs = value;
      }
    }
    if (auto qos = optional_string(map, "qos", prefix.empty() ? "the step" : prefix)) {
      if (*qos != "Burstable" && *qos != "Guaranteed") {
        error(map["qos"], field("qos") + " '" + *qos +
                              "' is not a QoS class podflow sets; use Burstable (the default: no "
                              "cpu limit) or Guaranteed (cpu limit = request)");
      } else {
        settings.qos = qos;
      }
    }
    // Not a pod option: where the step runs. Decoded here with its siblings.
    if (auto run_on = optional_string(map, "runOn", prefix.empty() ? "the step" : prefix)) {
      if (*run_on != "Local" && *run_on != "Kubernetes") {
        error(map["runOn"], field("runOn") + " '" + *run_on +
                                "' is not a place podflow runs steps; use Kubernetes (a pod in "
                                "the current kubeconfig's cluster) or Local (the default: where "
                                "the run runs)");
      } else {
        settings.runOn = run_on;
      }
    }
    // Not a pod option either: how many of the step's tasks run at once.
    if (const YAML::Node parallelism = map["parallelism"]) {
      const std::string range =
          "it caps how many of the step's tasks run at once: a whole number from 1 to " +
          std::to_string(defaults::kMaxParallelism) +
          ", or leave it out for no cap but max-workers";
      settings.parallelism = integer_value(parallelism, field("parallelism"), 1,
                                           defaults::kMaxParallelism, range, range);
    }
    if (const YAML::Node port = map["port"]) {
      settings.port = integer_value(port, field("port"), 1, 65535,
                                    "port is a container port number, from 1 to 65535",
                                    "port is a container port number, from 1 to 65535");
    }
    if (auto priority =
            optional_string(map, "priorityClassName", prefix.empty() ? "the step" : prefix)) {
      if (!is_dns_subdomain(*priority)) {
        error(map["priorityClassName"], field("priorityClassName") + " '" + *priority +
                                            "' is not a valid PriorityClass name (lowercase "
                                            "letters, digits, '-', '.')");
      } else {
        settings.priorityClassName = priority;
      }
    }
  }

  // A container mount path: absolute, normalised, and not one podflow mounts itself.
  void check_mount_path(const YAML::Node& node, const std::string& what, const std::string& path) {
    if (path.empty() || path.front() != '/' || path == "/") {
      error(node, what + ": the mount path '" + path +
                      "' must be an absolute directory other than /, such as /data");
    } else if (path.find("//") != std::string::npos || path.find("/./") != std::string::npos ||
               path.find("/../") != std::string::npos || path.ends_with("/..") ||
               path.ends_with("/.") || path.back() == '/') {
      error(node, what + ": the mount path '" + path +
                      "' is not normalised; write it without '.', '..', '//' or a trailing '/'");
    } else if (path == "/podflow" || path.starts_with("/podflow/") || path == "/dev/shm" ||
               path == "/tmp" || path == "/dev/termination-log") {
      error(node, what + ": the mount path '" + path +
                      "' is podflow's own (the runtime's /podflow/..., /dev/shm, /tmp); choose "
                      "another");
    }
  }

  void decode_resources(const YAML::Node& node, const std::string& what, Resources& resources) {
    if (!expect_map(node, what)) return;
    check_fields(node, kResourceFields, what);
    if (const YAML::Node cpu = node["cpu"]) resources.cpu = cpu_quantity(cpu, what + ".cpu");
    if (const YAML::Node memory = node["memory"]) {
      resources.memory = byte_quantity(
          memory, what + ".memory", "60000 (MB) or \"60Gi\"", defaults::kMaxMemoryBytes,
          "no node has that much memory: memory may be at most 64 TiB (\"64Ti\", "
          "or 70368744 as megabytes); the largest machines sold today have 32 to "
          "48 TiB");
    }
    if (const YAML::Node disk = node["disk"]) {
      resources.disk =
          byte_quantity(disk, what + ".disk", "10240 (MB) or \"10Gi\"", defaults::kMaxDiskBytes,
                        "no node has that much local disk: disk may be at most 1 PiB "
                        "(\"1Pi\", or 1125899906 as megabytes)");
    }
    if (const YAML::Node gpu = node["gpu"]) {
      resources.gpu = integer_value(
          gpu, what + ".gpu", 0, defaults::kMaxGpu, "gpu is a count of devices, 0 or more",
          "gpu may be at most " + std::to_string(defaults::kMaxGpu) +
              " devices: no node has more (the largest machines have 8 to 16 GPUs)");
    }
    if (const YAML::Node vendor = node["gpuVendor"]) {
      resources.gpuVendor = string_value(vendor, what + ".gpuVendor");
      if (resources.gpuVendor && !is_dns_subdomain(*resources.gpuVendor)) {
        error(vendor, what + ".gpuVendor '" + *resources.gpuVendor +
                          "' is not a resource vendor domain; use e.g. nvidia.com or amd.com");
        resources.gpuVendor.reset();
      }
    }
  }

  // parse_quantity refuses a number beyond a double's range ("1e400"); that is a quantity too
  // large, not a malformed one, and the message should say so.
  static bool overflows(const std::string& text) {
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    return end != text.c_str() && std::isinf(value) && value > 0 &&
           text.find_first_of("xXnN") == std::string::npos;  // not hex, inf or nan
  }

  // What to say about more cpu than any node has; decimal, so it reads like the user's number.
  static std::string cpu_ceiling() {
    return "no node has that many cores: cpu may be at most " +
           std::to_string(static_cast<long long>(defaults::kMaxCpuCores)) +
           " (the largest machines sold today have about 1,000 cores)";
  }

  std::optional<Quantity> cpu_quantity(const YAML::Node& node, const std::string& what) {
    if (node.IsScalar() && scalar_kind(node) == ScalarKind::Float) {
      const double value = std::strtod(node.Scalar().c_str(), nullptr);
      if (std::isnan(value)) {
        error(node, what + " " + node.Scalar() +
                        " is not a number; write a number of cores (2) or a string such as "
                        "\"500m\"");
      } else if (value > defaults::kMaxCpuCores) {
        error(node, what + " " + node.Scalar() + " is too large; " + cpu_ceiling());
      } else if (value >= 1 && value == std::floor(value)) {
        error(node, what + " " + node.Scalar() +
                        " is written as a floating-point number; write the whole number " +
                        std::to_string(static_cast<long long>(value)) +
                        " or a quantity string such as \"" + node.Scalar() + "\"");
      } else {
        error(node, what + " " + node.Scalar() +
                        " has a fraction; write it as a quantity string such as \"" +
                        node.Scalar() +
                        "\" or \"500m\" (Kubernetes accepts whole numbers or strings)");
      }
      return std::nullopt;
    }
    if (node.IsScalar() && scalar_kind(node) == ScalarKind::Integer) {
      auto cores = integer_value(node, what, 1, static_cast<std::int64_t>(defaults::kMaxCpuCores),
                                 "cpu must be at least 1 core (or a string "
                                 "such as \"500m\" for less)",
                                 cpu_ceiling());
      if (!cores) return std::nullopt;
      return Quantity{std::to_string(*cores), static_cast<double>(*cores)};
    }
    if (node.IsScalar() && scalar_kind(node) == ScalarKind::String) {
      auto quantity = parse_quantity(node.Scalar());
      if (!quantity && overflows(node.Scalar())) {
        error(node, what + " '" + node.Scalar() + "' is too large; " + cpu_ceiling());
        return std::nullopt;
      }
      if (!quantity) {
        error(node, what + " '" + node.Scalar() +
                        "' is not a quantity; write a number of cores (2) or a string such as "
                        "\"500m\" or \"1.5\"");
        return std::nullopt;
      }
      if (quantity->value < 0.001) {
        error(node, what + " '" + node.Scalar() + "' must be more than zero (at least \"1m\")");
        return std::nullopt;
      }
      if (quantity->value > defaults::kMaxCpuCores) {
        error(node, what + " '" + node.Scalar() + "' is too large; " + cpu_ceiling());
        return std::nullopt;
      }
      return quantity;
    }
    error(node,
          what + " must be a number of cores or a quantity string, not " + describe_node(node));
    return std::nullopt;
  }

  // `ceiling` is in bytes: more than any node has; `too_large` says so and gives the limit.
  std::optional<Quantity> byte_quantity(const YAML::Node& node, const std::string& what,
                                        const std::string& example, double ceiling,
                                        const std::string& too_large) {
    if (node.IsScalar() && scalar_kind(node) == ScalarKind::Integer) {
      auto megabytes = integer_value(
          node, what, 1, static_cast<std::int64_t>(ceiling / 1e6),
          "an integer is megabytes and must be at least 1, e.g. " + example, too_large);
      if (!megabytes) return std::nullopt;
      return quantity_from_megabytes(*megabytes);
    }
    if (node.IsScalar() && scalar_kind(node) == ScalarKind::String) {
      auto quantity = parse_quantity(node.Scalar());
      if (!quantity && overflows(node.Scalar())) {
        error(node, what + " '" + node.Scalar() + "' is too large; " + too_large);
        return std::nullopt;
      }
      if (!quantity) {
        error(node,
              what + " '" + node.Scalar() +
                  "' is not a quantity; write megabytes as an integer or a string with a unit, "
                  "e.g. " +
                  example);
        return std::nullopt;
      }
      if (quantity->value < 1) {
        error(node, what + " '" + node.Scalar() + "' must be more than zero, e.g. " + example);
        return std::nullopt;
      }
      if (quantity->value > ceiling) {
        error(node, what + " '" + node.Scalar() + "' is too large; " + too_large);
        return std::nullopt;
      }
      return quantity;
    }
    error(node, what + " must be megabytes (an integer) or a quantity string, not " +
                    describe_node(node) + ", e.g. " + example);
    return std::nullopt;
  }

  void decode_env(const YAML::Node& node, const std::string& what, std::vector<EnvVar>& env) {
    if (!expect_list(node, what, "[{name: MODE, value: fast}]")) return;
    std::set<std::string> names;
    for (const auto& item : node) {
      if (!expect_map(item, what + " entry")) continue;
      check_fields(item, kEnvFields, what + " entry");
      EnvVar var;
      var.name = required_string(item, "name", what + " entry").value_or("");
      if (const YAML::Node value = item["value"]) {
        var.value = string_value(value, what + "." + var.name).value_or("");
        check_argument(value, what + "." + var.name, var.value, var.name.size() + 1);
      }
      if (var.name.empty()) continue;
      if (!is_env_name(var.name)) {
        error(item["name"],
              what + ": '" + var.name +
                  "' is not a valid variable name (letters, digits, '_', not starting "
                  "with a digit)");
      } else if (var.name.rfind("PODFLOW_", 0) == 0) {
        error(item["name"],
              what + ": '" + var.name +
                  "' starts with PODFLOW_, which the step contract reserves; rename it");
      } else if (!names.insert(var.name).second) {
        error(item["name"], what + " sets '" + var.name + "' twice; keep one");
      }
      env.push_back(std::move(var));
    }
  }

  void decode_tolerations(const YAML::Node& node, const std::string& what,
                          std::vector<Toleration>& tolerations) {
    if (!expect_list(node, what, "[{key: gpu, operator: Exists, effect: NoSchedule}]")) return;
    for (const auto& item : node) {
      if (!expect_map(item, what + " entry")) continue;
      check_fields(item, kTolerationFields, what + " entry");
      Toleration toleration;
      toleration.key = optional_string(item, "key", what).value_or("");
      if (!toleration.key.empty()) {
        if (const std::string problem = qualified_name_problem(toleration.key); !problem.empty()) {
          error(item["key"], what + ": key '" + toleration.key + "' is not a valid taint key: " +
                                 problem + "; e.g. gpu or example.com/gpu");
        }
      }
      toleration.operator_ = optional_string(item, "operator", what).value_or("");
      toleration.value = optional_string(item, "value", what).value_or("");
      toleration.effect = optional_string(item, "effect", what).value_or("");
      if (!toleration.operator_.empty() && toleration.operator_ != "Exists" &&
          toleration.operator_ != "Equal") {
        error(item["operator"],
              what + ": operator '" + toleration.operator_ + "' is unknown; use Exists or Equal");
      }
      if (toleration.operator_ == "Exists" && !toleration.value.empty()) {
        error(item["value"], what + ": a toleration with operator Exists takes no value");
      }
      static const FieldList kEffects{"NoSchedule", "PreferNoSchedule", "NoExecute"};
      if (!toleration.effect.empty() &&
          std::find(kEffects.begin(), kEffects.end(), toleration.effect) == kEffects.end()) {
        error(item["effect"], what + ": effect '" + toleration.effect +
                                  "' is unknown; use NoSchedule, PreferNoSchedule or NoExecute");
      }
      if (const YAML::Node seconds = item["tolerationSeconds"]) {
        toleration.tolerationSeconds =
            integer_value(seconds, what + ".tolerationSeconds", 0, INT64_C(1) << 40,
                          "tolerationSeconds must be 0 or more",
                          "tolerationSeconds may be at most 1099511627776 (2^40); leave it out to "
                          "tolerate the taint forever");
      }
      tolerations.push_back(std::move(toleration));
    }
  }

  Diagnostics& diagnostics_;
  std::string step_;  // the step being decoded, for messages
};

// Checks that cost one pass over the bytes, before any parser sees them.
std::optional<Diagnostic> check_text(std::string_view text) {
  if (text.size() > defaults::kMaxDocumentBytes) return oversized_document(text.size());
  int line = 1;
  int column = 1;
  std::size_t depth = 0;
  std::size_t max_depth = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte == 0 || (byte < 0x20 && byte != '\n' && byte != '\r' && byte != '\t')) {
      return Diagnostic{{line, column},
                        "",
                        "the document contains a binary byte (0x" +
                            std::string(1, "0123456789abcdef"[byte >> 4]) +
                            std::string(1, "0123456789abcdef"[byte & 15]) +
                            "); a flow is a YAML or JSON text file. Is this the right file?"};
    }
    if (byte >= 0x80) {
      // Validate one UTF-8 sequence.
      const std::size_t length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 0;
      bool valid = length != 0 && byte < 0xF5 && i + length <= text.size();
      for (std::size_t k = 1; valid && k < length; ++k) {
        valid = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
      }
      if (!valid) {
        return Diagnostic{{line, column},
                          "",
                          "the document is not valid UTF-8 text; a flow is a YAML or JSON text "
                          "file. Is this the right file?"};
      }
      i += length - 1;
    }
    // Flow-style nesting ([[[[...) is the cheap way to build a document deep enough to hurt a
    // recursive parser; block nesting is bounded by yaml-cpp's own depth guard.
    if (byte == '[' || byte == '{') max_depth = std::max(max_depth, ++depth);
    if ((byte == ']' || byte == '}') && depth > 0) --depth;
    if (byte == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  if (max_depth > defaults::kMaxNesting) {
    return Diagnostic{{},
                      "",
                      "the document nests lists or mappings " + std::to_string(max_depth) +
                          " deep; a flow never needs more than " +
                          std::to_string(defaults::kMaxNesting) + ". Is this the right file?"};
  }
  return std::nullopt;
}

// yaml-cpp reads JSON leniently (",," becomes an empty key), so a document that is JSON is first
// held to JSON's own grammar; yaml-cpp then reads it for the line:column of every node.
std::optional<Diagnostic> check_json_syntax(std::string_view text) {
  const std::size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || text[first] != '{') return std::nullopt;
  if (nlohmann::json::accept(text)) return std::nullopt;
  try {
    const auto parsed = nlohmann::json::parse(text);  // throws, with the position of the error
    return std::nullopt;
  } catch (const nlohmann::json::parse_error& error) {
    const std::size_t offset =
        std::min<std::size_t>(error.byte > 0 ? error.byte - 1 : 0, text.size());
    int line = 1;
    int column = 1;
    for (std::size_t i = 0; i < offset; ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::string message = error.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 55: syntax error while
    // parsing object key - unexpected ','; expected string literal" -> the part after the colon.
    const std::size_t reason = message.find(": ");
    if (reason != std::string::npos) message = message.substr(reason + 2);
    return Diagnostic{{line, column}, "", "the document is not valid JSON: " + message};
  }
}

std::string parser_message(const YAML::Exception& exception) {
  std::string message = exception.msg;
  if (!message.empty()) message[0] = static_cast<char>(std::tolower(message[0]));
  return "the document is not valid YAML or JSON: " + message;
}

}  // namespace

Diagnostic oversized_document(std::size_t bytes) {
  return Diagnostic{{},
                    "",
                    "the document is " + describe_bytes(static_cast<double>(bytes)) +
                        "; a flow document may be at most " +
                        describe_bytes(static_cast<double>(defaults::kMaxDocumentBytes)) +
                        ". Is this the right file? Keep data out of the flow: pass it as a "
                        "parameter or produce it as an artifact"};
}

DecodeResult decode_flow(std::string_view text) {
  DecodeResult result;
  if (auto problem = check_text(text)) {
    result.diagnostics.push_back(*problem);
    return result;
  }
  if (auto problem = check_json_syntax(text)) {
    result.diagnostics.push_back(*problem);
    return result;
  }
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(text));
  } catch (const YAML::DeepRecursion& exception) {
    result.diagnostics.push_back({{exception.mark.line + 1, exception.mark.column + 1},
                                  "",
                                  "the document nests too deep to be a flow (more than " +
                                      std::to_string(exception.depth()) +
                                      " levels). Is this the right file?"});
    return result;
  } catch (const YAML::Exception& exception) {
    SourceMark mark;
    if (!exception.mark.is_null()) mark = {exception.mark.line + 1, exception.mark.column + 1};
    result.diagnostics.push_back({mark, "", parser_message(exception)});
    return result;
  }
  const YAML::Node* flow_document = nullptr;
  std::size_t flows = 0;
  for (const auto& document : documents) {
    if (document.IsNull()) continue;
    // A FlowRun kept in the same file (for `kubectl apply -f`) is not this reader's business.
    const bool is_other_kind =
        document.IsMap() && document["kind"] && document["kind"].IsScalar() &&
        (document["kind"].Scalar() == "FlowRun" || document["kind"].Scalar() == "Task");
    if (is_other_kind) continue;
    if (flows++ == 0) flow_document = &document;
  }
  if (flows == 0) {
    result.diagnostics.push_back({{},
                                  "",
                                  "the file holds no Flow document; start it with apiVersion: " +
                                      std::string(defaults::kApiVersion) + " and kind: Flow"});
    return result;
  }
  if (flows > 1) {
    result.diagnostics.push_back(
        {{},
         "",
         "the file holds " + std::to_string(flows) +
             " Flow documents; podflow reads one Flow per file. Split them into files"});
    return result;
  }
  try {
    Decoder decoder(result.diagnostics);
    result.flow = decoder.decode(*flow_document);
    if (result.flow->kind != defaults::kKind && !result.flow->kind.empty()) {
      result.diagnostics.push_back(
          {mark_of((*flow_document)["kind"]), "",
           "kind is '" + result.flow->kind + "'; a flow document has kind: Flow"});
    }
  } catch (const YAML::Exception& exception) {
    // Reading a node the parser left half-built; report it rather than crash.
    result.diagnostics.push_back({{}, "", parser_message(exception)});
  }
  return result;
}

}  // namespace podflow::flow
