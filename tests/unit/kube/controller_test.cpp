#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "kube/controller.hpp"
#include "kube/kube_error.hpp"

using namespace podflow::kube;
using namespace std::chrono_literals;

namespace {

nlohmann::json object(const std::string& kind, const std::string& name, const std::string& version,
                      const std::string& owner = "") {
  nlohmann::json result = {
      {"apiVersion", kind == "Pod" ? "v1" : "podflow.dev/v1alpha1"},
      {"kind", kind},
      {"metadata", {{"namespace", "ns"}, {"name", name}, {"resourceVersion", version}}}};
  if (!owner.empty()) {
    result["metadata"]["ownerReferences"] = {{{"apiVersion", "podflow.dev/v1alpha1"},
                                              {"kind", "Task"},
                                              {"name", owner},
                                              {"uid", "u-" + owner},
                                              {"controller", true}}};
  }
  return result;
}

ControllerOptions named(const std::string& name, int workers = 2,
                        std::chrono::milliseconds base_delay = 5ms) {
  ControllerOptions options;
  options.name = name;
  options.workers = workers;
  options.queue.base_delay = base_delay;
  return options;
}

OwnerKind owner_kind(const std::string& kind, const std::string& group = "",
                     bool any_owner = false) {
  OwnerKind owner;
  owner.kind = kind;
  owner.group = group;
  owner.any_owner = any_owner;
  return owner;
}

WatchEvent added(nlohmann::json o) {
  WatchEvent e;
  e.type = WatchEvent::Type::added;
  e.object = std::move(o);
  return e;
}

WatchEvent listed(std::vector<nlohmann::json> objects) {
  WatchEvent e;
  e.type = WatchEvent::Type::restarted;
  e.objects = std::move(objects);
  return e;
}

struct Calls {
  std::mutex mutex;
  std::map<std::string, int> count;
  void add(const std::string& key) {
    std::lock_guard lock(mutex);
    ++count[key];
  }
  int of(const std::string& key) {
    std::lock_guard lock(mutex);
    return count[key];
  }
};

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds limit = 3s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return condition();
}

}  // namespace

TEST_CASE("controller: cached objects and later changes are reconciled by key") {
  ObjectCache tasks;
  tasks.apply(listed({object("Task", "t1", "1")}));
  Calls calls;
  Controller controller(
      [&](const std::string& key) {
        calls.add(key);
        return Action::await_change();
      },
      named("test", 2));
  controller.watches(tasks);
  controller.start();
  CHECK(eventually([&] { return calls.of("ns/t1") == 1; }));
  tasks.apply(added(object("Task", "t2", "2")));
  CHECK(eventually([&] { return calls.of("ns/t2") == 1; }));
  controller.stop();
  CHECK(controller.metrics().reconciles.value({"success"}) == 2);
}

TEST_CASE("controller: an owned object's change wakes its owner") {
  ObjectCache tasks, pods;
  Calls calls;
  Controller controller(
      [&](const std::string& key) {
        calls.add(key);
        return Action::await_change();
      },
      named("owner"));
  controller.watches(tasks);
  controller.owns(pods, owner_kind("Task", "podflow.dev"));
  controller.start();
  pods.apply(listed({}));
  pods.apply(added(object("Pod", "t1-pod", "5", "t1")));
  pods.apply(added(object("Pod", "orphan", "6")));
  CHECK(eventually([&] { return calls.of("ns/t1") == 1; }));
  controller.stop();
  CHECK(calls.of("ns/t1-pod") == 0);
  CHECK(calls.of("ns/orphan") == 0);
}

TEST_CASE("controller: owner_keys honours kind, group and the controller flag") {
  auto pod = object("Pod", "p", "1", "t1");
  CHECK(owner_keys(pod, owner_kind("Task")) == std::vector<std::string>{"ns/t1"});
  CHECK(owner_keys(pod, owner_kind("Task", "podflow.dev")).size() == 1);
  CHECK(owner_keys(pod, owner_kind("Task", "apps")).empty());
  CHECK(owner_keys(pod, owner_kind("FlowRun")).empty());
  pod["metadata"]["ownerReferences"][0]["controller"] = false;
  CHECK(owner_keys(pod, owner_kind("Task")).empty());
  CHECK(owner_keys(pod, owner_kind("Task", "", true)).size() == 1);
}

TEST_CASE("controller: errors requeue with growing backoff - success forgets") {
  std::atomic<int> attempts{0};
  std::vector<std::chrono::steady_clock::time_point> times;
  std::mutex mutex;
  Controller controller(
      [&](const std::string&) -> Action {
        {
          std::lock_guard lock(mutex);
          times.push_back(std::chrono::steady_clock::now());
        }
        if (++attempts < 5) throw std::runtime_error("not yet");
        return Action::await_change();
      },
      named("retry", 1, 20ms));
  controller.start();
  controller.queue().add("ns/x");
  CHECK(eventually([&] { return attempts.load() == 5; }));
  std::this_thread::sleep_for(50ms);
  controller.stop();
  CHECK(attempts == 5);
  REQUIRE(times.size() == 5);
  // 20, 40, 80, 160 ms between attempts.
  CHECK(times[1] - times[0] >= 19ms);
  CHECK(times[4] - times[3] >= 159ms);
  CHECK(controller.queue().num_requeues("ns/x") == 0);
  CHECK(controller.metrics().reconciles.value({"error"}) == 4);
  CHECK(controller.metrics().reconciles.value({"success"}) == 1);
}

TEST_CASE("controller: requeue_after and the error policy") {
  std::atomic<int> calls{0};
  Controller controller(
      [&](const std::string& key) -> Action {
        int n = ++calls;
        if (key == "ns/conflict") {
          KubeError::Details details;
          details.code = 409;
          details.reason = Reason::conflict;
          throw KubeError(details);
        }
        if (n < 3) return Action::requeue_after(10ms);
        return Action::await_change();
      },
      named("policy", 1));
  std::atomic<int> policy_calls{0};
  controller.set_error_policy(
      [&](const std::string&, const std::exception& error, int) -> std::optional<Action> {
        ++policy_calls;
        CHECK(is_conflict(error));
        return Action::await_change();  // give up on this key
      });
  controller.start();
  controller.queue().add("ns/a");
  CHECK(eventually([&] { return calls.load() == 3; }));
  controller.queue().add("ns/conflict");
  CHECK(eventually([&] { return policy_calls.load() == 1; }));
  std::this_thread::sleep_for(50ms);
  controller.stop();
  CHECK(policy_calls == 1);
  CHECK(controller.metrics().reconciles.value({"requeue"}) == 2);
}
