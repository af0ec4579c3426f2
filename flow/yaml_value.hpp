// How a YAML scalar reads once it reaches Kubernetes: the API server decodes YAML 1.1 style, so
// `yes` is a boolean and `10` a number. Knowing this lets podflow reject `command: [sleep, 10]`
// locally with the same verdict `kubectl apply` would give.
#pragma once

#include <string>
#include <string_view>

#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "flow/diagnostic.hpp"

namespace podflow::flow {

enum class ScalarKind { Null, Boolean, Integer, Float, String };

// The kind of a scalar node: quoted scalars are always strings.
ScalarKind scalar_kind(const YAML::Node& node);

// "a string", "a number", "a list", ... for messages.
std::string describe_node(const YAML::Node& node);

SourceMark mark_of(const YAML::Node& node);

// The node as the API server would store it: scalars typed as scalar_kind says.
nlohmann::json yaml_to_json(const YAML::Node& node);

// The Flow document of a (possibly multi-document) text as JSON, for sending to the API server.
// Call it on text validate_flow accepted. Throws std::runtime_error when there is no Flow.
nlohmann::json flow_document_json(std::string_view text);

}  // namespace podflow::flow
