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
      } else if (name == "qos") {
        overrides["qos"] = value;
      } else if (name == "priority_class_name") {
        overrides["priorityClassName"] = value;
      } else if (name == "port") {
        overrides["port"] = number_or_quantity(value);
      } else if (name == "parallelism") {
        // Every step's cap on its running tasks (a step's own setting wins); checked by the
        // flow's decoder like spec.defaults.parallelism.
        overrides["parallelism"] = number_or_quantity(value);
      } else if (name == "shared_memory") {
        overrides["sharedMemory"] = number_or_quantity(value);
      } else if (name == "use_tmpfs" || name == "tmpfs_tempdir") {
        if (value != "true" && value != "false") {
          parse.problems.push_back("--with kubernetes: " + name + "=" + value +
                                   " must be true or false");
          continue;
        }
        if (name == "tmpfs_tempdir") {
          overrides["tmpfs"]["tempdir"] = value == "true";
        } else if (value == "true" && !overrides.contains("tmpfs")) {
          overrides["tmpfs"] = nlohmann::json::object();
        } else if (value == "false") {
          overrides.erase("tmpfs");
        }
      } else if (name == "tmpfs_size") {
        overrides["tmpfs"]["size"] = number_or_quantity(value);
      } else if (name == "tmpfs_path") {
        overrides["tmpfs"]["path"] = value;
      } else if (name == "node_selector" || name == "labels" || name == "annotations") {
        // key=value;key=value (a value may hold '=')
        const std::string field = name == "node_selector" ? "nodeSelector" : name;
        for (const auto& pair : split(value, ';')) {
          const auto separator = pair.find('=');
          if (separator == std::string::npos || separator == 0) {
            parse.problems.push_back("--with kubernetes: " + name + ": '" + pair +
                                     "' is not key=value (several: key=value;key=value)");
            continue;
          }
          overrides[field][pair.substr(0, separator)] = pair.substr(separator + 1);
        }
      } else if (name == "tolerations") {
        // key[=value][:Effect];... as `kubectl taint` writes taints: no value means Exists
        for (const auto& item : split(value, ';')) {
          const auto colon = item.find(':');
          const std::string key_value = item.substr(0, colon);
          const std::string effect = colon == std::string::npos ? "" : item.substr(colon + 1);
          const auto equals_at = key_value.find('=');
          nlohmann::json toleration = {{"key", key_value.substr(0, equals_at)}};
          if (toleration["key"].get<std::string>().empty()) {
            parse.problems.push_back("--with kubernetes: tolerations: '" + item +
                                     "' is not key[=value][:Effect], e.g. gpu:NoSchedule or "
                                     "dedicated=ml:NoExecute");
            continue;
          }
          if (equals_at == std::string::npos) {
            toleration["operator"] = "Exists";
          } else {
            toleration["operator"] = "Equal";
            toleration["value"] = key_value.substr(equals_at + 1);
          }
          if (!effect.empty()) toleration["effect"] = effect;
          overrides["tolerations"].push_back(std::move(toleration));
        }
      } else if (name == "persistent_volume_claims") {
        // claim:/path;claim:/path, as Metaflow's persistent_volume_claims={"claim": "/path"}
        for (const auto& pair : split(value, ';')) {
          const auto separator = pair.find(':');
          if (separator == std::string::npos || separator == 0 || separator + 1 == pair.size()) {
            parse.problems.push_back("--with kubernetes: persistent_volume_claims: '" + pair +
                                     "' is not claim:/mount/path");
            continue;
          }
          overrides["persistentVolumeClaims"][pair.substr(0, separator)] =
              pair.substr(separator + 1);
        }
      } else {
        parse.problems.push_back(
            "--with kubernetes: unknown setting '" + name +
            "'; use cpu, memory, disk, gpu, gpu_vendor, image, namespace, service_account, "
            "secrets, node_selector, tolerations, labels, annotations, qos, port, "
            "shared_memory, use_tmpfs, tmpfs_size, tmpfs_path, tmpfs_tempdir, "
            "persistent_volume_claims or priority_class_name");
      }
    }
  }
  return parse;
}

}  // namespace podflow::cli
