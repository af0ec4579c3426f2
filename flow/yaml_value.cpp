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

}  // namespace podflow::flow
