#include <doctest/doctest.h>

#include <cstdlib>
#include <string>

#include "kube/kube_config.hpp"
#include "scratch_dir.hpp"

using namespace podflow::kube;
using podflow::kube::testing::ScratchDir;

namespace {

// base64 of "CA-PEM\n", "CERT-PEM\n", "KEY-PEM\n"
constexpr const char* kInline = R"(apiVersion: v1
kind: Config
current-context: admin@local
preferences: {}
clusters:
- name: other
  cluster:
    server: https://10.0.0.1:6443
- name: local
  cluster:
    server: https://127.0.0.1:27443/
    certificate-authority-data: Q0EtUEVNCg==
contexts:
- name: admin@local
  context:
    cluster: local
    user: admin
    namespace: podflow-runs
- name: robot@other
  context:
    cluster: other
    user: robot
users:
- name: admin
  user:
    client-certificate-data: Q0VSVC1QRU0K
    client-key-data: S0VZLVBFTQo=
- name: robot
  user:
    token: s3cr3t
)";

std::string error_of(const std::string& yaml, const std::string& origin = "/etc/kc.yaml") {
  try {
    parse_kubeconfig(yaml, origin);
  } catch (const ConfigError& error) {
    return error.what();
  }
  return "";
}

}  // namespace

TEST_CASE("kubeconfig with inline data: current context, cluster, user, namespace") {
  auto config = parse_kubeconfig(kInline, "/home/me/.kube/config");
  CHECK(config.server == "https://127.0.0.1:27443");  // trailing '/' dropped
  CHECK(config.ca_pem == "CA-PEM\n");
  CHECK(config.client_certificate_pem == "CERT-PEM\n");
  CHECK(config.client_key_pem == "KEY-PEM\n");
  CHECK(config.token.empty());
  CHECK(config.default_namespace == "podflow-runs");
  CHECK_FALSE(config.insecure_skip_tls_verify);
  CHECK(config.source == "kubeconfig /home/me/.kube/config, context admin@local");
}

TEST_CASE("kubeconfig: an explicit context wins over current-context") {
  auto config = parse_kubeconfig(kInline, "/k", std::string("robot@other"));
  CHECK(config.server == "https://10.0.0.1:6443");
  CHECK(config.token == "s3cr3t");
  CHECK(config.ca_pem.empty());
  CHECK(config.default_namespace == "default");
}

TEST_CASE("kubeconfig with files relative to the kubeconfig's directory") {
  ScratchDir dir;
  dir.write("pki/ca.crt", "FILE-CA");
  dir.write("pki/admin.crt", "FILE-CERT");
  dir.write("pki/admin.key", "FILE-KEY");
  dir.write("token", "file-token\n");
  auto path = dir.write("kubeconfig", R"(
current-context: c
clusters:
- name: k
  cluster:
    server: https://127.0.0.1:1
    certificate-authority: pki/ca.crt
    insecure-skip-tls-verify: true
contexts:
- name: c
  context: {cluster: k, user: u}
users:
- name: u
  user:
    client-certificate: pki/admin.crt
    client-key: )" + (dir.path() / "pki/admin.key").string() +
                                          R"(
    tokenFile: token
)");
  auto config = load_kubeconfig(path);
  CHECK(config.ca_pem == "FILE-CA");
  CHECK(config.insecure_skip_tls_verify);
  CHECK(config.client_certificate_pem == "FILE-CERT");
  CHECK(config.client_key_pem == "FILE-KEY");
  CHECK(config.token_file == dir.path() / "token");
}

TEST_CASE("kubeconfig errors name the file and the field") {
  CHECK(error_of("current-context: x\ncontexts: []\n") ==
        "/etc/kc.yaml: contexts: no entry named \"x\"");
  CHECK(error_of("clusters: []\n") ==
        "/etc/kc.yaml: current-context is not set (and no context was given)");
  CHECK(error_of(R"(current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {certificate-authority-data: QUJD}}]
)") == "/etc/kc.yaml: clusters[name=k].cluster: missing field \"server\"");
  CHECK(error_of(R"(current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "https://a", certificate-authority-data: "!!notbase64"}}]
)") == "/etc/kc.yaml: clusters[name=k].cluster.certificate-authority-data: not valid base64");
  CHECK(error_of(R"(current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "https://a"}}]
users: [{name: u, user: {client-certificate: /nonexistent/cert.pem, client-key: /x}}]
)") == "/etc/kc.yaml: users[name=u].user.client-certificate: cannot read /nonexistent/cert.pem");
  CHECK(error_of(R"(current-context: c
contexts: [{name: c, context: {cluster: k, user: u}}]
clusters: [{name: k, cluster: {server: "https://a"}}]
users: [{name: u, user: {client-certificate-data: QUJD}}]
)") == "/etc/kc.yaml: users[name=u].user: client-certificate and client-key must be given "
       "together");
  CHECK(error_of(R"(current-context: c
contexts: [{name: c, context: {cluster: k}}]
clusters: [{name: k, cluster: {server: "ftp://a"}}]
)") == "/etc/kc.yaml: clusters[name=k].cluster.server: \"ftp://a\" is not an http:// or "
       "https:// URL");
  CHECK(error_of("[1, 2").find("/etc/kc.yaml: not valid YAML") == 0);
  CHECK(error_of("- a\n- b\n") == "/etc/kc.yaml: not a kubeconfig (expected a mapping)");
}

TEST_CASE("in-cluster configuration from the service account directory") {
  ScratchDir dir;
  dir.write("ca.crt", "SA-CA");
  dir.write("token", "sa-token\n");
  dir.write("namespace", "podflow-system\n");
  setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  auto config = load_in_cluster_config(dir.path());
  CHECK(config.server == "https://10.96.0.1:443");
  CHECK(config.ca_pem == "SA-CA");
  CHECK(config.token_file == dir.path() / "token");
  CHECK(config.default_namespace == "podflow-system");

  setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
  CHECK(load_in_cluster_config(dir.path()).server == "https://[fd00::1]:443");

  unsetenv("KUBERNETES_SERVICE_HOST");
  CHECK_THROWS_WITH_AS(load_in_cluster_config(dir.path()),
                       doctest::Contains("KUBERNETES_SERVICE_HOST"), ConfigError);
  unsetenv("KUBERNETES_SERVICE_PORT");
}

TEST_CASE("load_default_config: explicit path, then KUBECONFIG (first existing file)") {
  ScratchDir dir;
  auto path = dir.write("config", kInline);
  auto old = std::getenv("KUBECONFIG");
  std::string saved = old ? old : "";
  setenv("KUBECONFIG", ("/nonexistent/a:" + path.string()).c_str(), 1);
  CHECK(load_default_config().server == "https://127.0.0.1:27443");
  CHECK(load_default_config(path, std::string("robot@other")).token == "s3cr3t");
  setenv("KUBECONFIG", "/nonexistent/a", 1);
  CHECK_THROWS_WITH_AS(load_default_config(), "KUBECONFIG=/nonexistent/a: no such file",
                       ConfigError);
  if (old) {
    setenv("KUBECONFIG", saved.c_str(), 1);
  } else {
    unsetenv("KUBECONFIG");
  }
}
