#include "kube/label_selector.hpp"

#include <algorithm>
#include <cctype>
#include <optional>
#include <stdexcept>

namespace podflow::kube {
namespace {

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  std::vector<LabelSelector::Requirement> parse() {
    std::vector<LabelSelector::Requirement> requirements;
    skip_spaces();
    if (at_end()) return requirements;
    for (;;) {
      requirements.push_back(requirement());
      skip_spaces();
      if (at_end()) break;
      expect(',');
    }
    return requirements;
  }

 private:
  using Op = LabelSelector::Operator;

  LabelSelector::Requirement requirement() {
    skip_spaces();
    LabelSelector::Requirement result;
    if (peek() == '!') {
      ++position_;
      skip_spaces();
      result.key = word("a label key after '!'");
      result.op = Op::does_not_exist;
      return result;
    }
    result.key = word("a label key");
    skip_spaces();
    if (at_end() || peek() == ',') {
      result.op = Op::exists;
      return result;
    }
    if (consume("==") || consume("=")) {
      result.op = Op::equals;
      skip_spaces();
      result.values.push_back(value());
    } else if (consume("!=")) {
      result.op = Op::not_equals;
      skip_spaces();
      result.values.push_back(value());
    } else if (consume_word("notin")) {
      result.op = Op::not_in;
      result.values = value_set();
    } else if (consume_word("in")) {
      result.op = Op::in;
      result.values = value_set();
    } else {
      fail("'=', '==', '!=', 'in', 'notin', ',' or the end");
    }
    return result;
  }

  std::vector<std::string> value_set() {
    skip_spaces();
    expect('(');
    std::vector<std::string> values;
    for (;;) {
      skip_spaces();
      values.push_back(value());
      skip_spaces();
      if (consume(")")) break;
      expect(',');
    }
    return values;
  }

  static bool word_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == '/';
  }

  std::string word(const char* what) {
    auto start = position_;
    while (!at_end() && word_char(peek())) ++position_;
    if (start == position_) fail(what);
    return std::string(text_.substr(start, position_ - start));
  }

  // A value may be empty ("a=").
  std::string value() {
    auto start = position_;
    while (!at_end() && word_char(peek())) ++position_;
    return std::string(text_.substr(start, position_ - start));
  }

  bool consume(std::string_view token) {
    if (text_.substr(position_, token.size()) != token) return false;
    position_ += token.size();
    return true;
  }

  bool consume_word(std::string_view token) {
    if (text_.substr(position_, token.size()) != token) return false;
    auto after = position_ + token.size();
    if (after < text_.size() && word_char(text_[after])) return false;
    position_ = after;
    return true;
  }

  void expect(char c) {
    if (at_end() || peek() != c) fail(std::string("'") + c + "'");
    ++position_;
  }

  [[noreturn]] void fail(const std::string& expected) const {
    throw std::invalid_argument("label selector \"" + std::string(text_) + "\": expected " +
                                expected + " at position " + std::to_string(position_ + 1));
  }

  void skip_spaces() {
    while (!at_end() && std::isspace(static_cast<unsigned char>(peek()))) ++position_;
  }
  bool at_end() const { return position_ >= text_.size(); }
  char peek() const { return text_[position_]; }

  std::string_view text_;
  std::size_t position_ = 0;
};

template <typename Lookup>
bool matches_with(const std::vector<LabelSelector::Requirement>& requirements, Lookup lookup) {
  using Op = LabelSelector::Operator;
  for (const auto& requirement : requirements) {
    std::optional<std::string> value = lookup(requirement.key);
    auto in_values = [&] {
      return value && std::find(requirement.values.begin(), requirement.values.end(), *value) !=
                          requirement.values.end();
    };
    bool ok = false;
    switch (requirement.op) {
      case Op::equals:
        ok = in_values();
        break;
      case Op::in:
        ok = in_values();
        break;
      case Op::not_equals:
        ok = !in_values();
        break;
      case Op::not_in:
        ok = !in_values();
        break;
      case Op::exists:
        ok = value.has_value();
        break;
      case Op::does_not_exist:
        ok = !value.has_value();
        break;
    }
    if (!ok) return false;
  }
  return true;
}

}  // namespace

LabelSelector LabelSelector::parse(std::string_view text) {
  LabelSelector selector;
  selector.requirements_ = Parser(text).parse();
  return selector;
}

LabelSelector LabelSelector::from_map(const std::map<std::string, std::string>& labels) {
  LabelSelector selector;
  for (const auto& [key, value] : labels) {
    selector.requirements_.push_back({key, Operator::equals, {value}});
  }
  return selector;
}

LabelSelector LabelSelector::from_json(const nlohmann::json& selector) {
  LabelSelector result;
  if (!selector.is_object()) return result;
  if (auto labels = selector.find("matchLabels"); labels != selector.end() && labels->is_object()) {
    for (const auto& [key, value] : labels->items()) {
      result.requirements_.push_back({key, Operator::equals, {value.get<std::string>()}});
    }
  }
  if (auto expressions = selector.find("matchExpressions");
      expressions != selector.end() && expressions->is_array()) {
    for (const auto& expression : *expressions) {
      Requirement requirement;
      requirement.key = expression.value("key", "");
      auto op = expression.value("operator", "");
      if (op == "In") {
        requirement.op = Operator::in;
      } else if (op == "NotIn") {
        requirement.op = Operator::not_in;
      } else if (op == "Exists") {
        requirement.op = Operator::exists;
      } else if (op == "DoesNotExist") {
        requirement.op = Operator::does_not_exist;
      } else {
        throw std::invalid_argument("label selector: unknown operator \"" + op + "\"");
      }
      if (auto values = expression.find("values");
          values != expression.end() && values->is_array()) {
        for (const auto& value : *values) requirement.values.push_back(value.get<std::string>());
      }
      result.requirements_.push_back(std::move(requirement));
    }
  }
  return result;
}

bool LabelSelector::matches(const nlohmann::json& labels) const {
  return matches_with(requirements_, [&](const std::string& key) -> std::optional<std::string> {
    if (!labels.is_object()) return std::nullopt;
    auto it = labels.find(key);
    if (it == labels.end() || !it->is_string()) return std::nullopt;
    return it->get<std::string>();
  });
}

bool LabelSelector::matches(const std::map<std::string, std::string>& labels) const {
  return matches_with(requirements_, [&](const std::string& key) -> std::optional<std::string> {
    auto it = labels.find(key);
    if (it == labels.end()) return std::nullopt;
    return it->second;
  });
}

std::string LabelSelector::to_string() const {
  std::string out;
  for (const auto& requirement : requirements_) {
    if (!out.empty()) out += ',';
    auto joined = [&] {
      std::string values;
      for (const auto& value : requirement.values) {
        if (!values.empty()) values += ',';
        values += value;
      }
      return values;
    };
    switch (requirement.op) {
      case Operator::equals:
        out += requirement.key + "=" + joined();
        break;
      case Operator::not_equals:
        out += requirement.key + "!=" + joined();
        break;
      case Operator::in:
        out += requirement.key + " in (" + joined() + ")";
        break;
      case Operator::not_in:
        out += requirement.key + " notin (" + joined() + ")";
        break;
      case Operator::exists:
        out += requirement.key;
        break;
      case Operator::does_not_exist:
        out += "!" + requirement.key;
        break;
    }
  }
  return out;
}

}  // namespace podflow::kube
