#include "flow/yaml_value.hpp"

#include <regex>

namespace podflow::flow {

ScalarKind scalar_kind(const YAML::Node& node) {
  if (node.IsNull()) return ScalarKind::Null;
  // yaml-cpp tags plain scalars "?" and quoted ones "!"; an explicit tag such as !!str is a string.
  if (node.Tag() != "?") return ScalarKind::String;
  const std::string& text = node.Scalar();
  static const std::regex kNull("~|null|Null|NULL");
  static const std::regex kBoolean(
      "y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF");
  static const std::regex kInteger("[-+]?[0-9]+|0x[0-9a-fA-F]+|0o?[0-7]+|0b[01]+");
  static const std::regex kFloat(
      "[-+]?(\\.[0-9]+|[0-9]+(\\.[0-9]*)?)([eE][-+]?[0-9]+)?|[-+]?\\.(inf|Inf|INF)|\\.(nan|NaN|"
      "NAN)");
  if (text.empty() || std::regex_match(text, kNull)) return ScalarKind::Null;
  if (text.size() > 40) return ScalarKind::String;
  if (std::regex_match(text, kBoolean)) return ScalarKind::Boolean;
  if (std::regex_match(text, kInteger)) return ScalarKind::Integer;
  if (std::regex_match(text, kFloat)) return ScalarKind::Float;
  return ScalarKind::String;
}

std::string describe_node(const YAML::Node& node) {
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  switch (scalar_kind(node)) {
    case ScalarKind::Null:
      return "empty";
    case ScalarKind::Boolean:
      return "a boolean (" + node.Scalar() + ")";
    case ScalarKind::Integer:
    case ScalarKind::Float:
      return "a number (" + node.Scalar() + ")";
    case ScalarKind::String:
      break;
  }
  return "a string";
}

SourceMark mark_of(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return {};
  return SourceMark{mark.line + 1, mark.column + 1};
}

nlohmann::json yaml_to_json(const YAML::Node& node) {
  if (node.IsMap()) {
    nlohmann::json object = nlohmann::json::object();
    for (const auto& entry : node) object[entry.first.Scalar()] = yaml_to_json(entry.second);
    return object;
  }
  if (node.IsSequence()) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& item : node) list.push_back(yaml_to_json(item));
    return list;
  }
  try {
    switch (scalar_kind(node)) {
      case ScalarKind::Null:
        return nullptr;
      case ScalarKind::Boolean:
        return node.as<bool>();
      case ScalarKind::Integer:
        return node.as<long long>();
      case ScalarKind::Float:
        return node.as<double>();
      case ScalarKind::String:
        break;
    }
  } catch (const YAML::Exception&) {
    // A YAML 1.1 spelling yaml-cpp does not convert (1_000, 0b101): keep the text.
  }
  return node.Scalar();
}

nlohmann::json flow_document_json(std::string_view text) {
  for (const auto& document : YAML::LoadAll(std::string(text))) {
    if (document.IsMap() && document["kind"] && document["kind"].IsScalar() &&
        document["kind"].Scalar() == "Flow") {
      return yaml_to_json(document);
    }
  }
  throw std::runtime_error("the file holds no Flow document");
}

}  // namespace podflow::flow
