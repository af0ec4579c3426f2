// What the integration tests share: a Client on the test cluster's admin kubeconfig (KUBECONFIG
// from $PODFLOW_CLUSTER_DIR/env, set by ctest), a fresh namespace per test, and polling.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <string>
#include <thread>

#include <sys/wait.h>

#include "kube/kube_client.hpp"

namespace podflow::kube::testing {

// The tests create hundreds of objects: the client-side limit would make them slow, not better.
inline ClientOptions fast_options() {
  ClientOptions options;
  options.qps = 500;
  options.burst = 1000;
  options.user_agent = "podflow-kube-tests";
  return options;
}

inline Client& cluster_client() {
  static Client client(load_default_config(), fast_options());
  return client;
}

// A namespace "kube-<what>-<random>", deleted (in the background) when the test ends.
class TestNamespace {
 public:
  explicit TestNamespace(const std::string& what) {
    std::mt19937 random(std::random_device{}());
    name_ = ("kube-" + what + "-" + std::to_string(random() % 1000000)).substr(0, 63);
    cluster_client().create(resources::namespaces(), "", {{"metadata", {{"name", name_}}}});
  }
  ~TestNamespace() {
    try {
      cluster_client().remove(resources::namespaces(), "", name_);
    } catch (const std::exception&) {
    }
  }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// Polls `condition` every 50 ms until it holds or `limit` passes; its final answer.
inline bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (condition()) return true;
    } catch (const std::exception&) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return condition();
}

// Runs a shell command, returning its exit status and standard output.
inline std::pair<int, std::string> run_command(const std::string& command) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return {-1, ""};
  char buffer[4096];
  while (std::size_t n = fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

inline nlohmann::json config_map(const std::string& name, nlohmann::json data,
                                 nlohmann::json labels = nlohmann::json::object()) {
  return {{"metadata", {{"name", name}, {"labels", labels}}}, {"data", data}};
}

}  // namespace podflow::kube::testing
