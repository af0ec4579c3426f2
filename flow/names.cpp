#include "flow/names.hpp"

namespace podflow::flow {
namespace {

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool is_alnum(char c) {
  return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

// The name part of a qualified name, and a label value: the same character rules, at most 63.
std::string name_part_problem(std::string_view name, std::string_view what) {
  if (name.size() > 63) {
    return std::string(what) + " is " + std::to_string(name.size()) +
           " characters; Kubernetes allows at most 63";
  }
  if (!is_alnum(name.front()) || !is_alnum(name.back())) {
    return std::string(what) + " must start and end with a letter or digit";
  }
  for (char c : name) {
    if (!is_alnum(c) && c != '-' && c != '_' && c != '.') {
      return std::string(what) + " may hold only letters, digits, '-', '_' and '.'";
    }
  }
  return "";
}

// The API server's IsDNS1123Subdomain: unlike is_dns_subdomain, a part may exceed 63.
bool is_key_prefix(std::string_view prefix) {
  if (prefix.empty() || prefix.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = prefix.find('.', start);
    const std::string_view part =
        prefix.substr(start, dot == std::string_view::npos ? prefix.npos : dot - start);
    if (part.empty() || !is_lower_alnum(part.front()) || !is_lower_alnum(part.back())) return false;
    for (char c : part) {
      if (!is_lower_alnum(c) && c != '-') return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

}  // namespace

std::string qualified_name_problem(std::string_view key) {
  if (key.empty()) return "the key is empty";
  const std::size_t slash = key.find('/');
  std::string_view name = key;
  if (slash != std::string_view::npos) {
    const std::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (!is_key_prefix(prefix)) {
      return "the prefix before '/' must be a DNS subdomain (lowercase letters, digits, '-' and "
             "'.', at most 253 characters, e.g. example.com)";
    }
    if (name.find('/') != std::string_view::npos) return "a key holds at most one '/'";
  }
  if (name.empty()) return "the part after '/' is empty";
  return name_part_problem(name,
                           slash == std::string_view::npos ? "the key" : "the part after '/'");
}

std::string label_value_problem(std::string_view value) {
  if (value.empty()) return "";
  return name_part_problem(value, "the value");
}

bool is_dns_label(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (!is_lower_alnum(name.front()) || !is_lower_alnum(name.back())) return false;
  for (char c : name) {
    if (!is_lower_alnum(c) && c != '-') return false;
  }
  return true;
}

bool is_dns_subdomain(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = name.find('.', start);
    const std::string_view label =
        name.substr(start, dot == std::string_view::npos ? name.npos : dot - start);
    if (!is_dns_label(label)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool is_identifier(std::string_view name) {
  if (name.empty() || !(name.front() >= 'a' && name.front() <= 'z')) return false;
  for (char c : name) {
    if (!is_lower_alnum(c) && c != '_') return false;
  }
  return true;
}

bool is_env_name(std::string_view name) {
  if (name.empty() || (name.front() >= '0' && name.front() <= '9')) return false;
  for (char c : name) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace podflow::flow
