// The shapes of names: Kubernetes object names, step and parameter identifiers, variables.
#pragma once

#include <string>
#include <string_view>

namespace podflow::flow {

// RFC 1123 label: at most 63 of [a-z0-9-], starting and ending alphanumeric.
bool is_dns_label(std::string_view name);
// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
bool is_dns_subdomain(std::string_view name);
// Step and parameter names: [a-z][a-z0-9_]*.
bool is_identifier(std::string_view name);
// Environment variable names: [A-Za-z_][A-Za-z0-9_]*.
bool is_env_name(std::string_view name);

// Why `key` cannot be a Kubernetes label or annotation key (a qualified name: an optional
// DNS-subdomain prefix of at most 253 and '/', then a name of at most 63 of [A-Za-z0-9-_.]
// starting and ending alphanumeric), as "the part after '/' is empty"; "" when it can.
std::string qualified_name_problem(std::string_view key);
// Why `value` cannot be a Kubernetes label value (empty, or at most 63 of [A-Za-z0-9-_.]
// starting and ending alphanumeric); "" when it can.
std::string label_value_problem(std::string_view value);

}  // namespace podflow::flow
