#include "cli/with_option.hpp"

#include <regex>

namespace podflow::cli {
namespace {

// Metaflow's integers are MB (memory, disk) and cores; anything else is a Kubernetes quantity.
nlohmann::json number_or_quantity(const std::string& value) {
  static const std::regex integer("[0-9]+");
  if (std::regex_match(value, integer)) return std::stoll(value);
  return value;
}

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::string part;
  for (char c : text) {
    if (c == separator) {
      parts.push_back(part);
      part.clear();
    } else {
      part += c;
    }
  }
  parts.push_back(part);
  return parts;
}

}  // namespace

WithParse parse_with(const std::vector<std::string>& specs) {
  WithParse parse;
  nlohmann::json& overrides = parse.options.overrides;
  for (const auto& spec : specs) {
    const auto colon = spec.find(':');
    const std::string decorator = spec.substr(0, colon);
    if (decorator != "kubernetes") {
      parse.problems.push_back("--with " + spec + ": podflow knows --with kubernetes[:cpu=4,...]");
      continue;
    }
    parse.options.kubernetes = true;
    if (colon == std::string::npos) continue;
    for (const auto& assignment : split(spec.substr(colon + 1), ',')) {
      const auto equals = assignment.find('=');
      if (equals == std::string::npos || equals == 0 || equals + 1 == assignment.size()) {
        parse.problems.push_back("--with " + spec + ": '" + assignment +
                                 "' is not name=value, e.g. cpu=4");
        continue;
      }
      const std::string name = assignment.substr(0, equals);
      const std::string value = assignment.substr(equals + 1);
      if (name == "cpu" || name == "memory" || name == "disk") {
        overrides["resources"][name] = number_or_quantity(value);
      } else if (name == "gpu") {
        const nlohmann::json count = number_or_quantity(value);
        if (!count.is_number_integer()) {
          parse.problems.push_back("--with kubernetes: gpu=" + value + " must be a whole number");
          continue;
        }
        overrides["resources"]["gpu"] = count;
      } else if (name == "gpu_vendor") {
        overrides["resources"]["gpuVendor"] = value;
      } else if (name == "image" || name == "namespace") {
        overrides[name] = value;
      } else if (name == "service_account") {
        overrides["serviceAccount"] = value;
      } else if (name == "secrets") {
        overrides["secrets"] = split(value, ';');
      } else {
        parse.problems.push_back("--with kubernetes: unknown setting '" + name +
                                 "'; use cpu, memory, disk, gpu, gpu_vendor, image, namespace, "
                                 "service_account or secrets");
      }
    }
  }
  return parse;
}

}  // namespace podflow::cli
