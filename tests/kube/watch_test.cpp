// Watcher, ObjectCache and Reflector against the real kube-apiserver.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <set>
#include <vector>

#include "cluster_env.hpp"
#include "kube/reflector.hpp"
#include "kube/watcher.hpp"

using namespace podflow::kube;
using namespace podflow::kube::testing;
using namespace std::chrono_literals;

namespace {

// Records what a watcher delivers.
struct Recorder {
  std::mutex mutex;
  std::vector<std::string> events;  // "<type> <name> <data.v>"
  int restarts = 0;
  int bookmarks = 0;
  std::vector<std::size_t> restart_sizes;

  Watcher::Handler handler() {
    return [this](const WatchEvent& event) {
      std::lock_guard lock(mutex);
      if (event.type == WatchEvent::Type::restarted) {
        ++restarts;
        restart_sizes.push_back(event.objects.size());
      } else if (event.type == WatchEvent::Type::bookmark) {
        ++bookmarks;
      } else if (name_of(event.object) != "kube-root-ca.crt") {  // every namespace gets one
        std::string value;
        if (event.object.contains("data")) value = event.object["data"].value("v", "");
        events.push_back(std::string(type_name(event.type)) + " " + name_of(event.object) + " " +
                         value);
      }
    };
  }
  std::vector<std::string> snapshot() {
    std::lock_guard lock(mutex);
    return events;
  }
  int restart_count() {
    std::lock_guard lock(mutex);
    return restarts;
  }
};

}  // namespace

TEST_CASE("watch sees adds, updates and deletes in order after the initial list") {
  auto& client = cluster_client();
  TestNamespace ns("watch");
  auto cm = resources::config_maps();
  client.create(cm, ns.name(), config_map("before", {{"v", "0"}}));

  Recorder recorder;
  Watcher watcher(client, cm, ns.name(), recorder.handler());
  watcher.start();
  REQUIRE(eventually([&] { return recorder.restart_count() == 1; }, 10s));
  CHECK(recorder.restart_sizes.front() >= 1);  // "before" (and kube-root-ca.crt) came with the list

  client.create(cm, ns.name(), config_map("w", {{"v", "1"}}));
  client.merge_patch(cm, ns.name(), "w", {{"data", {{"v", "2"}}}});
  client.merge_patch(cm, ns.name(), "w", {{"data", {{"v", "3"}}}});
  client.remove(cm, ns.name(), "w");
  client.remove(cm, ns.name(), "before");
  std::vector<std::string> expected{"added w 1", "modified w 2", "modified w 3", "deleted w 3",
                                    "deleted before 0"};
  CHECK(eventually([&] { return recorder.snapshot().size() >= expected.size(); }, 10s));
  CHECK(recorder.snapshot() == expected);
  CHECK_FALSE(watcher.resource_version().empty());

  auto started = std::chrono::steady_clock::now();
  watcher.stop();
  CHECK(std::chrono::steady_clock::now() - started < 1s);  // stop closes the connection
  CHECK(watcher.lists() == 1);
}

TEST_CASE("bookmarks arrive on a watch that allows them") {
  auto& client = cluster_client();
  TestNamespace ns("bookmarks");
  auto cm = resources::config_maps();
  auto list = client.list(cm, ns.name());
  // The API server sends a bookmark shortly before a watch's timeout (and about once a minute),
  // but only with a resourceVersion newer than the watcher's last: its cache of ConfigMaps must
  // have moved on. On a quiet cluster nothing else writes one, so this test does, where the
  // watch does not look.
  TestNamespace elsewhere("bookmarks-elsewhere");
  client.create(cm, elsewhere.name(), config_map("progress", {{"v", "1"}}));
  WatchOptions options;
  options.resource_version = list.resource_version;
  options.timeout = 8s;
  std::vector<std::string> bookmarks;
  auto started = std::chrono::steady_clock::now();
  client.watch(cm, ns.name(), options, [&](const nlohmann::json& event) {
    if (event["type"] == "BOOKMARK") {
      bookmarks.push_back(event["object"]["metadata"].value("resourceVersion", ""));
    }
  });
  auto elapsed = std::chrono::steady_clock::now() - started;
  CHECK(elapsed >= 6s);  // the server ended it at its timeout
  CHECK(elapsed < 20s);
  REQUIRE_FALSE(bookmarks.empty());
  CHECK_FALSE(bookmarks.front().empty());
}

TEST_CASE("the cache follows the server, with a label selector and the owner index") {
  auto& client = cluster_client();
  TestNamespace ns("cache");
  auto cm = resources::config_maps();
  auto owner = client.create(cm, ns.name(), config_map("owner", {{"v", "0"}}, {{"app", "x"}}));
  WatcherOptions options;
  options.label_selector = "app=x";
  options.page_size = 2;  // the initial list takes several pages
  for (int i = 0; i < 5; ++i) {
    auto child = config_map("child-" + std::to_string(i), {{"v", "0"}}, {{"app", "x"}});
    child["metadata"]["ownerReferences"] = {controller_reference(owner)};
    client.create(cm, ns.name(), child);
  }
  client.create(cm, ns.name(), config_map("other", {{"v", "0"}}, {{"app", "y"}}));

  Reflector reflector(client, cm, ns.name(), options);
  reflector.cache().add_index("owner", owner_uid_index);
  std::mutex mutex;
  std::vector<std::string> changes;
  reflector.cache().subscribe([&](const CacheEvent& event) {
    std::lock_guard lock(mutex);
    changes.push_back(event.key);
  });
  reflector.start();
  REQUIRE(reflector.cache().wait_synced(10s));
  CHECK(reflector.cache().size() == 6);
  CHECK(reflector.cache().by_index("owner", uid_of(owner)).size() == 5);
  CHECK_FALSE(reflector.cache().get(ns.name(), "other"));

  client.remove(cm, ns.name(), "child-0");
  client.merge_patch(cm, ns.name(), "other", {{"metadata", {{"labels", {{"app", "x"}}}}}});
  CHECK(eventually([&] { return reflector.cache().get(ns.name(), "other") != nullptr; }, 10s));
  CHECK(eventually([&] { return reflector.cache().size() == 6; }, 10s));
  CHECK(reflector.cache().by_index("owner", uid_of(owner)).size() == 4);
  CHECK(reflector.cache().list(ns.name(), LabelSelector::parse("app=x")).size() == 6);
  reflector.stop();
}

TEST_CASE(
    "the cache converges after the API server restarts, and a too-old version gets 410 and a "
    "re-list") {
  auto& client = cluster_client();
  TestNamespace ns("restart");
  auto cm = resources::config_maps();
  for (int i = 0; i < 3; ++i) {
    client.create(cm, ns.name(), config_map("keep-" + std::to_string(i), {{"v", "0"}}));
  }
  WatcherOptions options;
  options.backoff_max = 2000ms;  // reconnect quickly once the server is back
  Reflector reflector(client, cm, ns.name(), options);
  reflector.start();
  REQUIRE(reflector.cache().wait_synced(10s));
  CHECK(reflector.cache().get(ns.name(), "keep-2") != nullptr);

  const std::string before_restart = client.list(cm, ns.name()).resource_version;
  const char* dir = std::getenv("PODFLOW_CLUSTER_SCRIPTS");
  std::string script = std::string(dir ? dir : "tests/cluster") + "/restart-apiserver 2";
  auto restarted = run_command(script + " 2>&1");
  INFO(restarted.second);
  REQUIRE(restarted.first == 0);

  // Changes made after the restart reach the cache through the re-established watch.
  auto retrying = [&](const std::function<void()>& write) {
    return eventually(
        [&] {
          write();
          return true;
        },
        30s);
  };
  CHECK(retrying([&] { client.remove(cm, ns.name(), "keep-0"); }));
  CHECK(retrying([&] { client.merge_patch(cm, ns.name(), "keep-1", {{"data", {{"v", "9"}}}}); }));
  CHECK(retrying([&] {
    if (!client.get(cm, ns.name(), "new")) client.create(cm, ns.name(), config_map("new", {}));
  }));
  CHECK(eventually(
      [&] {
        auto server = client.list_all(cm, ns.name());
        if (server.items.size() != reflector.cache().size()) return false;
        for (const auto& item : server.items) {
          auto cached = reflector.cache().get(object_key(item));
          if (!cached || resource_version_of(*cached) != resource_version_of(item)) return false;
        }
        return true;
      },
      60s));
  CHECK_FALSE(reflector.cache().get(ns.name(), "keep-0"));
  CHECK((*reflector.cache().get(ns.name(), "keep-1"))["data"]["v"] == "9");
  CHECK(reflector.watcher().watches() >= 2);  // at least one reconnect

  // A version from before the restart is older than the new API server's watch cache; with etcd
  // compacted up to now (as kube-apiserver does every five minutes) nothing can serve it: 410.
  auto now = client.list(cm, ns.name()).resource_version;
  const char* port = std::getenv("PODFLOW_ETCD_PORT");
  auto compacted =
      run_command("curl -sS -X POST http://127.0.0.1:" + std::string(port ? port : "27379") +
                  "/v3/kv/compaction -d '{\"revision\":\"" + now + "\"}' 2>&1");
  INFO(compacted.second);
  CHECK(compacted.first == 0);
  WatchOptions old_watch;
  old_watch.resource_version = before_restart;
  old_watch.timeout = 5s;
  try {
    client.watch(cm, ns.name(), old_watch, [](const nlohmann::json&) {});
    FAIL("a watch from before the restart must be refused");
  } catch (const KubeError& error) {
    CHECK(error.code() == 410);
    CHECK(is_gone(error));
  }
  // The watcher resuming from that version re-lists and hands over the full set.
  Recorder recorder;
  WatcherOptions resume;
  resume.start_resource_version = before_restart;
  auto relists = client.metrics().watch_starts.value({"configmaps", "relist_gone"});
  Watcher watcher(client, cm, ns.name(), recorder.handler(), resume);
  watcher.start();
  CHECK(eventually([&] { return recorder.restart_count() == 1; }, 20s));
  CHECK(client.metrics().watch_starts.value({"configmaps", "relist_gone"}) == relists + 1);
  watcher.stop();

  // Leave the cluster as the next tests expect it: kube-controller-manager's controllers need a
  // while after the restart (RBAC caches, their own watch backoff) before, e.g., a new namespace
  // gets its default service account again.
  TestNamespace probe("after-restart");
  CHECK(eventually(
      [&] {
        return client.get(resources::service_accounts(), probe.name(), "default").has_value();
      },
      120s));
  auto reconnects = client.metrics().watch_starts.value({"configmaps", "reconnect"}) +
                    client.metrics().watch_starts.value({"configmaps", "relist_gone"});
  CHECK(reconnects >= 1);
  reflector.stop();
}
