// Where the API server is and how to authenticate to it: from a kubeconfig file (what kubectl
// reads) or from the service account a pod runs as (in-cluster).
//
// The order of load_default_config matches controller-runtime's: an explicit path, then
// $KUBECONFIG, then the in-cluster service account when $KUBERNETES_SERVICE_HOST is set, then
// ~/.kube/config. Every failure throws ConfigError naming the file and the field.
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace podflow::kube {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct KubeConfig {
  std::string server;  // "https://127.0.0.1:6443" (no trailing '/')
  std::string ca_pem;  // PEM certificates to trust; empty: the system's roots
  bool insecure_skip_tls_verify = false;
  std::string client_certificate_pem;  // client TLS certificate (chain) ...
  std::string client_key_pem;          // ... and its private key
  std::string token;                   // a static bearer token
  // A bearer token re-read from this file every token_refresh (projected service-account tokens
  // rotate; kubelet rewrites the file). Wins over `token` when set.
  std::filesystem::path token_file;
  std::string default_namespace = "default";  // the context's namespace, or the pod's
  std::string source;  // for messages: "kubeconfig /root/.kube/config, context admin"
};

// Parses kubeconfig YAML. `origin` is the file it came from: relative paths in it
// (certificate-authority, client-certificate, client-key, tokenFile) are relative to the file's
// directory, and error messages name it. `context` overrides current-context.
KubeConfig parse_kubeconfig(std::string_view yaml, const std::filesystem::path& origin,
                            const std::optional<std::string>& context = std::nullopt);

// Reads the file and parses it (parse_kubeconfig).
KubeConfig load_kubeconfig(const std::filesystem::path& path,
                           const std::optional<std::string>& context = std::nullopt);

// The pod's service account: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT,
// <directory>/ca.crt, <directory>/token (as token_file, re-read), <directory>/namespace.
KubeConfig load_in_cluster_config(
    const std::filesystem::path& directory = "/var/run/secrets/kubernetes.io/serviceaccount");

// explicit_path if given; else the first existing file of $KUBECONFIG (':'-separated); else
// in-cluster when $KUBERNETES_SERVICE_HOST is set; else ~/.kube/config.
KubeConfig load_default_config(const std::optional<std::filesystem::path>& explicit_path = {},
                               const std::optional<std::string>& context = std::nullopt);

}  // namespace podflow::kube
