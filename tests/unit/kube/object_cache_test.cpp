#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "kube/object_cache.hpp"

using namespace podflow::kube;

namespace {

nlohmann::json pod(const std::string& ns, const std::string& name, const std::string& version,
                   const std::string& owner_uid = "", nlohmann::json labels = nullptr) {
  nlohmann::json object = {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata", {{"namespace", ns}, {"name", name}, {"resourceVersion", version}}}};
  if (!labels.is_null()) object["metadata"]["labels"] = labels;
  if (!owner_uid.empty()) {
    object["metadata"]["ownerReferences"] = {{{"apiVersion", "podflow.dev/v1alpha1"},
                                              {"kind", "Task"},
                                              {"name", "t-" + owner_uid},
                                              {"uid", owner_uid},
                                              {"controller", true}}};
  }
  return object;
}

WatchEvent event(WatchEvent::Type type, nlohmann::json object) {
  WatchEvent result;
  result.type = type;
  result.object = std::move(object);
  return result;
}

WatchEvent restarted(std::vector<nlohmann::json> objects) {
  WatchEvent result;
  result.type = WatchEvent::Type::restarted;
  result.objects = std::move(objects);
  return result;
}

std::string describe(const CacheEvent& e) {
  const char* type = e.type == CacheEvent::Type::added     ? "added"
                     : e.type == CacheEvent::Type::updated ? "updated"
                                                           : "deleted";
  return std::string(type) + " " + e.key;
}

}  // namespace

TEST_CASE("cache: synced after the first list - get and list by namespace and labels") {
  ObjectCache cache;
  CHECK_FALSE(cache.synced());
  cache.apply(restarted({pod("a", "p1", "1", "", {{"app", "x"}}), pod("a", "p2", "2"),
                         pod("b", "p1", "3", "", {{"app", "x"}})}));
  CHECK(cache.synced());
  CHECK(cache.wait_synced(std::chrono::milliseconds(0)));
  CHECK(cache.size() == 3);
  REQUIRE(cache.get("a/p1"));
  CHECK(resource_version_of(*cache.get("a", "p2")) == "2");
  CHECK_FALSE(cache.get("a/p3"));
  CHECK(cache.list("a").size() == 2);
  CHECK(cache.list("").size() == 3);
  CHECK(cache.list("", LabelSelector::parse("app=x")).size() == 2);
  CHECK(cache.list("b", LabelSelector::parse("app=x")).size() == 1);
  CHECK(cache.keys() == std::vector<std::string>{"a/p1", "a/p2", "b/p1"});
}

TEST_CASE("cache: events update the store and reach subscribers in order") {
  ObjectCache cache;
  std::vector<std::string> seen;
  cache.subscribe([&](const CacheEvent& e) { seen.push_back(describe(e)); });
  cache.apply(restarted({}));
  cache.apply(event(WatchEvent::Type::added, pod("a", "p1", "1")));
  cache.apply(event(WatchEvent::Type::modified, pod("a", "p1", "2")));
  cache.apply(event(WatchEvent::Type::bookmark, {{"metadata", {{"resourceVersion", "9"}}}}));
  cache.apply(event(WatchEvent::Type::deleted, pod("a", "p1", "3")));
  CHECK(seen == std::vector<std::string>{"added a/p1", "updated a/p1", "deleted a/p1"});
  CHECK(cache.size() == 0);
}

TEST_CASE("cache: a re-list replaces the contents and announces only the differences") {
  ObjectCache cache;
  cache.apply(restarted({pod("a", "keep", "1"), pod("a", "change", "1"), pod("a", "gone", "1")}));
  std::vector<std::string> seen;
  cache.subscribe([&](const CacheEvent& e) { seen.push_back(describe(e)); }, /*replay=*/false);
  cache.apply(restarted({pod("a", "keep", "1"), pod("a", "change", "5"), pod("a", "new", "6")}));
  CHECK(seen == std::vector<std::string>{"deleted a/gone", "updated a/change", "added a/new"});
  CHECK(cache.keys() == std::vector<std::string>{"a/change", "a/keep", "a/new"});
}

TEST_CASE("cache: objects it does not keep are announced, not stored") {
  ObjectCache cache;
  // Keep only objects without the label done=true: as the operator keeps only unfinished pods.
  cache.set_keep([](const nlohmann::json& object) {
    return object["metadata"].value("labels", nlohmann::json::object()).value("done", "") != "true";
  });
  cache.apply(
      restarted({pod("a", "running", "1"), pod("a", "ended", "1", "", {{"done", "true"}})}));
  CHECK(cache.keys() == std::vector<std::string>{"a/running"});
  std::vector<std::string> seen;
  cache.subscribe([&](const CacheEvent& e) { seen.push_back(describe(e)); }, /*replay=*/false);
  cache.apply(event(WatchEvent::Type::modified, pod("a", "running", "2", "", {{"done", "true"}})));
  CHECK(cache.size() == 0);
  cache.apply(event(WatchEvent::Type::deleted, pod("a", "running", "3", "", {{"done", "true"}})));
  // A re-list announces what it does not keep again (a subscriber must not miss an end), and
  // never announces as deleted what it did not keep.
  cache.apply(restarted({pod("a", "ended", "1", "", {{"done", "true"}}), pod("a", "new", "4")}));
  CHECK(seen == std::vector<std::string>{"updated a/running", "deleted a/running", "added a/ended",
                                         "added a/new"});
  CHECK(cache.keys() == std::vector<std::string>{"a/new"});
}

TEST_CASE("cache: a late subscriber gets every existing object replayed") {
  ObjectCache cache;
  cache.apply(restarted({pod("a", "p1", "1"), pod("a", "p2", "1")}));
  std::vector<std::string> seen;
  cache.subscribe([&](const CacheEvent& e) { seen.push_back(describe(e)); });
  CHECK(seen == std::vector<std::string>{"added a/p1", "added a/p2"});
  int id = cache.subscribe([&](const CacheEvent&) { seen.push_back("second"); }, false);
  cache.unsubscribe(id);
  cache.apply(event(WatchEvent::Type::added, pod("a", "p3", "2")));
  CHECK(seen.back() == "added a/p3");
}

TEST_CASE("cache: the owner UID index follows updates and deletes") {
  ObjectCache cache;
  cache.add_index("owner", owner_uid_index);
  cache.apply(restarted(
      {pod("a", "p1", "1", "uid-1"), pod("a", "p2", "1", "uid-1"), pod("a", "p3", "1", "uid-2")}));
  CHECK(cache.by_index("owner", "uid-1").size() == 2);
  CHECK(cache.by_index("owner", "uid-2").size() == 1);
  cache.apply(event(WatchEvent::Type::modified, pod("a", "p2", "2", "uid-2")));
  CHECK(cache.by_index("owner", "uid-1").size() == 1);
  CHECK(cache.by_index("owner", "uid-2").size() == 2);
  cache.apply(event(WatchEvent::Type::deleted, pod("a", "p1", "3", "uid-1")));
  CHECK(cache.by_index("owner", "uid-1").empty());
  CHECK_THROWS_AS(cache.by_index("nope", "x"), std::invalid_argument);
  // An index added later covers what is already there.
  cache.add_index("controller", controller_owner_index);
  CHECK(cache.by_index("controller", "Task/t-uid-2").size() == 2);
}
