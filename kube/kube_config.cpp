#include "kube/kube_config.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <vector>

#include <openssl/evp.h>
#include <yaml-cpp/yaml.h>

namespace podflow::kube {
namespace {

std::string read_text_file(const std::filesystem::path& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(what + ": cannot read " + path.string());
  std::ostringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string base64_decode(const std::string& text, const std::string& what) {
  std::string compact;
  for (char c : text) {
    if (c != '\n' && c != '\r' && c != ' ' && c != '\t') compact += c;
  }
  if (compact.size() % 4 != 0) throw ConfigError(what + ": not valid base64");
  std::string out(compact.size() / 4 * 3, '\0');
  int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                               reinterpret_cast<const unsigned char*>(compact.data()),
                               static_cast<int>(compact.size()));
  if (length < 0) throw ConfigError(what + ": not valid base64");
  std::size_t padding = 0;
  if (!compact.empty() && compact.back() == '=') ++padding;
  if (compact.size() > 1 && compact[compact.size() - 2] == '=') ++padding;
  out.resize(static_cast<std::size_t>(length) - padding);
  return out;
}

std::string trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) {
    text.pop_back();
  }
  std::size_t start = 0;
  while (start < text.size() && (text[start] == ' ' || text[start] == '\n')) ++start;
  return text.substr(start);
}

// The entry named `name` of a kubeconfig list (clusters, users, contexts), its inner map.
YAML::Node find_named(const YAML::Node& root, const std::string& list, const std::string& name,
                      const std::string& file) {
  auto entries = root[list];
  if (entries && entries.IsSequence()) {
    for (const auto& entry : entries) {
      if (entry["name"] && entry["name"].as<std::string>() == name) {
        auto inner = entry[list.substr(0, list.size() - 1)];  // "clusters" -> "cluster"
        if (!inner || !inner.IsMap()) {
          throw ConfigError(file + ": " + list + "[name=" + name + "]: missing field \"" +
                            list.substr(0, list.size() - 1) + "\"");
        }
        return inner;
      }
    }
  }
  throw ConfigError(file + ": " + list + ": no entry named \"" + name + "\"");
}

std::string scalar(const YAML::Node& map, const char* field) {
  auto node = map[field];
  if (!node || node.IsNull()) return "";
  if (!node.IsScalar()) throw ConfigError(std::string("field ") + field + " is not a string");
  return node.as<std::string>();
}

std::filesystem::path resolve(const std::filesystem::path& origin, const std::string& path) {
  std::filesystem::path candidate(path);
  if (candidate.is_absolute() || origin.empty()) return candidate;
  return origin.parent_path() / candidate;
}

// "<field>-data" (base64) wins over "<field>" (a file), as in client-go.
std::string data_or_file(const YAML::Node& map, const std::string& field,
                         const std::filesystem::path& origin, const std::string& where) {
  std::string data;
  std::string file;
  try {
    data = scalar(map, (field + "-data").c_str());
    file = scalar(map, field.c_str());
  } catch (const ConfigError& error) {
    throw ConfigError(where + ": " + error.what());
  }
  if (!data.empty()) return base64_decode(data, where + "." + field + "-data");
  if (!file.empty()) return read_text_file(resolve(origin, file), where + "." + field);
  return "";
}

}  // namespace

KubeConfig parse_kubeconfig(std::string_view yaml, const std::filesystem::path& origin,
                            const std::optional<std::string>& context) {
  const std::string file = origin.empty() ? std::string("kubeconfig") : origin.string();
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& error) {
    throw ConfigError(file + ": not valid YAML: " + error.what());
  }
  if (!root.IsMap()) throw ConfigError(file + ": not a kubeconfig (expected a mapping)");

  std::string context_name = context.value_or("");
  if (context_name.empty()) {
    context_name = root["current-context"] ? root["current-context"].as<std::string>() : "";
  }
  if (context_name.empty()) {
    throw ConfigError(file + ": current-context is not set (and no context was given)");
  }
  auto context_node = find_named(root, "contexts", context_name, file);
  const std::string context_where = file + ": contexts[name=" + context_name + "].context";
  std::string cluster_name = scalar(context_node, "cluster");
  std::string user_name = scalar(context_node, "user");
  if (cluster_name.empty()) throw ConfigError(context_where + ": missing field \"cluster\"");

  KubeConfig config;
  config.source = "kubeconfig " + file + ", context " + context_name;
  if (auto ns = scalar(context_node, "namespace"); !ns.empty()) config.default_namespace = ns;

  auto cluster = find_named(root, "clusters", cluster_name, file);
  const std::string cluster_where = file + ": clusters[name=" + cluster_name + "].cluster";
  config.server = scalar(cluster, "server");
  if (config.server.empty()) throw ConfigError(cluster_where + ": missing field \"server\"");
  while (!config.server.empty() && config.server.back() == '/') config.server.pop_back();
  if (config.server.rfind("https://", 0) != 0 && config.server.rfind("http://", 0) != 0) {
    throw ConfigError(cluster_where + ".server: \"" + config.server +
                      "\" is not an http:// or https:// URL");
  }
  config.ca_pem = data_or_file(cluster, "certificate-authority", origin, cluster_where);
  if (auto skip = cluster["insecure-skip-tls-verify"]; skip && skip.IsScalar()) {
    config.insecure_skip_tls_verify = skip.as<bool>();
  }

  if (!user_name.empty()) {
    auto user = find_named(root, "users", user_name, file);
    const std::string user_where = file + ": users[name=" + user_name + "].user";
    config.client_certificate_pem = data_or_file(user, "client-certificate", origin, user_where);
    config.client_key_pem = data_or_file(user, "client-key", origin, user_where);
    if (config.client_certificate_pem.empty() != config.client_key_pem.empty()) {
      throw ConfigError(user_where + ": client-certificate and client-key must be given together");
    }
    config.token = scalar(user, "token");
    if (auto token_file = scalar(user, "tokenFile"); !token_file.empty()) {
      config.token_file = resolve(origin, token_file);
      // Fail now, naming the field, rather than on the first request.
      read_text_file(config.token_file, user_where + ".tokenFile");
    }
    if (user["exec"] || user["auth-provider"]) {
      if (config.client_certificate_pem.empty() && config.token.empty() &&
          config.token_file.empty()) {
        throw ConfigError(user_where + ": exec and auth-provider credentials are not supported; " +
                          "use a client certificate or a token");
      }
    }
  }
  return config;
}

KubeConfig load_kubeconfig(const std::filesystem::path& path,
                           const std::optional<std::string>& context) {
  return parse_kubeconfig(read_text_file(path, "kubeconfig"), path, context);
}

KubeConfig load_in_cluster_config(const std::filesystem::path& directory) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (!host || !*host || !port || !*port) {
    throw ConfigError(
        "in-cluster configuration: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be "
        "set (is this running in a pod?)");
  }
  KubeConfig config;
  std::string host_text = host;
  if (host_text.find(':') != std::string::npos) host_text = "[" + host_text + "]";  // IPv6
  config.server = "https://" + host_text + ":" + port;
  config.ca_pem = read_text_file(directory / "ca.crt", "in-cluster configuration");
  config.token_file = directory / "token";
  read_text_file(config.token_file, "in-cluster configuration");
  std::ifstream ns_file(directory / "namespace");
  if (ns_file) {
    std::string ns;
    std::getline(ns_file, ns);
    if (!trim(ns).empty()) config.default_namespace = trim(ns);
  }
  config.source = "in-cluster service account " + directory.string();
  return config;
}

KubeConfig load_default_config(const std::optional<std::filesystem::path>& explicit_path,
                               const std::optional<std::string>& context) {
  if (explicit_path) return load_kubeconfig(*explicit_path, context);
  if (const char* env = std::getenv("KUBECONFIG"); env && *env) {
    std::stringstream paths(env);
    std::string path;
    std::vector<std::string> tried;
    while (std::getline(paths, path, ':')) {
      if (path.empty()) continue;
      if (std::filesystem::exists(path)) return load_kubeconfig(path, context);
      tried.push_back(path);
    }
    throw ConfigError(std::string("KUBECONFIG=") + env + ": no such file");
  }
  if (const char* host = std::getenv("KUBERNETES_SERVICE_HOST"); host && *host) {
    return load_in_cluster_config();
  }
  const char* home = std::getenv("HOME");
  std::filesystem::path fallback = std::filesystem::path(home ? home : "") / ".kube" / "config";
  if (!std::filesystem::exists(fallback)) {
    throw ConfigError(
        "no Kubernetes configuration: give a kubeconfig, set KUBECONFIG, run in a "
        "pod, or create " +
        fallback.string());
  }
  return load_kubeconfig(fallback, context);
}

}  // namespace podflow::kube
