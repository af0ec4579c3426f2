// The in-memory store a watcher feeds (kube-rs `reflector::Store`, client-go's Indexer):
// namespace/name -> the latest object, secondary indexes, a synced flag, and subscriptions so a
// controller learns which keys changed. Reconcilers read desired and observed state from here,
// never from events.
//
// Objects are shared, immutable snapshots (ObjectPtr): get and list copy pointers, not JSON.
// Thread-safe: one watcher thread writes, any number of threads read.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "kube/label_selector.hpp"
#include "kube/watcher.hpp"

namespace podflow::kube {

using ObjectPtr = std::shared_ptr<const nlohmann::json>;

struct CacheEvent {
  enum class Type { added, updated, deleted };
  Type type = Type::added;
  std::string key;       // "<namespace>/<name>"
  ObjectPtr object;      // the new object; for deleted, the last state known
  ObjectPtr old_object;  // updated and deleted: the state before (null for added)
};

class ObjectCache {
 public:
  // The values an object is indexed under (e.g. the UIDs of its owners); may be empty.
  using IndexFunction = std::function<std::vector<std::string>(const nlohmann::json& object)>;
  // Called after the cache has changed, on the feeding thread, in order, without the cache's lock
  // held (a subscriber may read the cache). An exception from it is logged and ignored.
  using Subscriber = std::function<void(const CacheEvent& event)>;

  ObjectCache() = default;
  ObjectCache(const ObjectCache&) = delete;
  ObjectCache& operator=(const ObjectCache&) = delete;

  // Trims every object before it is stored (client-go's SetTransform): a cache of 100,000 pods
  // should not hold their managedFields and container specs. Set it before the first event.
  using Transform = std::function<void(nlohmann::json& object)>;
  void set_transform(Transform transform);
  // Which (transformed) objects are stored: the others are announced to subscribers as usual
  // (added or updated, with the object) but not kept, and one stored before is dropped without
  // a deleted event. A pod cache need not hold the 100,000 pods that ended: their subscriber
  // reads the outcome from the event. Set it before the first event.
  using Keep = std::function<bool(const nlohmann::json& object)>;
  void set_keep(Keep keep);

  // Adds a secondary index; existing objects are indexed at once.
  void add_index(const std::string& name, IndexFunction function);

  // Feeds one watcher event. `restarted` replaces the whole contents, announcing what was
  // added, changed (by resourceVersion) or deleted meanwhile, and marks the cache synced.
  void apply(const WatchEvent& event);

  ObjectPtr get(std::string_view key) const;  // null when absent
  ObjectPtr get(std::string_view namespace_, std::string_view name) const;
  // Objects in `namespace_` (empty: all) whose labels match, sorted by key.
  std::vector<ObjectPtr> list(std::string_view namespace_ = {},
                              const LabelSelector& selector = {}) const;
  // Objects indexed under `value` by the index `name`, sorted by key. Throws
  // std::invalid_argument for an unknown index.
  std::vector<ObjectPtr> by_index(const std::string& name, const std::string& value) const;
  std::vector<std::string> keys() const;
  std::size_t size() const;

  // True once the first complete list has been applied.
  bool synced() const;
  // Waits until synced; false on timeout.
  bool wait_synced(std::chrono::milliseconds timeout) const;

  // Registers a subscriber. With replay, it first gets an `added` for every object already
  // present (a late subscriber misses nothing; it may see an object twice, which is harmless
  // to a level-triggered consumer). Returns an id for unsubscribe.
  int subscribe(Subscriber subscriber, bool replay = true);
  void unsubscribe(int id);

 private:
  struct Index {
    IndexFunction function;
    std::unordered_map<std::string, std::set<std::string>> keys_by_value;
  };

  void index_locked(const std::string& key, const nlohmann::json& object, bool insert);
  void store_locked(const std::string& key, ObjectPtr object);
  void erase_locked(const std::string& key);
  void notify(const std::vector<CacheEvent>& events);

  ObjectPtr make_object(const nlohmann::json& object) const;

  Transform transform_;
  Keep keep_;
  mutable std::mutex mutex_;
  mutable std::condition_variable synced_changed_;
  std::map<std::string, ObjectPtr, std::less<>> objects_;
  std::map<std::string, Index> indexes_;
  bool synced_ = false;

  std::mutex subscribers_mutex_;
  int next_subscriber_ = 1;
  std::map<int, Subscriber> subscribers_;
};

// Index functions for add_index.
// Every ownerReferences[].uid: map Pods to their Task, Tasks to their FlowRun.
std::vector<std::string> owner_uid_index(const nlohmann::json& object);
// The ownerReference with controller: true, as "<kind>/<name>"; at most one value.
std::vector<std::string> controller_owner_index(const nlohmann::json& object);

}  // namespace podflow::kube
