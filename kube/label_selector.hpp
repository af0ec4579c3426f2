// Label selectors as the API server reads them (k8s.io/apimachinery/pkg/labels): equality
// (`a=b`, `a==b`, `a!=b`), set-based (`a in (x,y)`, `a notin (x)`), existence (`a`, `!a`),
// joined by commas (AND). Used to filter the cache the same way the server filters a list.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace podflow::kube {

class LabelSelector {
 public:
  enum class Operator { equals, not_equals, in, not_in, exists, does_not_exist };
  struct Requirement {
    std::string key;
    Operator op = Operator::exists;
    std::vector<std::string> values;
  };

  LabelSelector() = default;  // matches everything
  // Throws std::invalid_argument naming the position and what was expected.
  static LabelSelector parse(std::string_view text);
  // matchLabels-style: every key equal to its value.
  static LabelSelector from_map(const std::map<std::string, std::string>& labels);
  // A metav1.LabelSelector object: {"matchLabels": {...}, "matchExpressions": [{key, operator:
  // In|NotIn|Exists|DoesNotExist, values}]}.
  static LabelSelector from_json(const nlohmann::json& selector);

  bool empty() const { return requirements_.empty(); }
  const std::vector<Requirement>& requirements() const { return requirements_; }
  // Against a labels map (an object's metadata.labels; null or absent = no labels).
  bool matches(const nlohmann::json& labels) const;
  bool matches(const std::map<std::string, std::string>& labels) const;
  // The query-string form: "a=b,c!=d,e in (x,y),!f".
  std::string to_string() const;

 private:
  std::vector<Requirement> requirements_;
};

}  // namespace podflow::kube
