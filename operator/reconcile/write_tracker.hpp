// Our own writes, remembered until the watch brings them back. A reconcile that starts from a
// cached object our last write has already replaced would decide on old facts and end in a 409;
// it waits for the write's watch event instead (which wakes the key again).
#pragma once

#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace podflow::reconcile {

class WriteTracker {
 public:
  // A write of `key` replaced resourceVersion `before` with `after`.
  void wrote(const std::string& key, const std::string& before, const std::string& after) {
    std::lock_guard lock(mutex_);
    versions_[key] = {before, after};
  }

  // True while the cache still holds the version our last write replaced. Once the cache has
  // moved on (to our write or anyone's), the entry is dropped.
  bool is_stale(const std::string& key, const std::string& cached_version) {
    std::lock_guard lock(mutex_);
    auto found = versions_.find(key);
    if (found == versions_.end()) return false;
    if (found->second.first == cached_version) return true;
    versions_.erase(found);
    return false;
  }

  void forget(const std::string& key) {
    std::lock_guard lock(mutex_);
    versions_.erase(key);
  }

 private:
  std::mutex mutex_;
  std::unordered_map<std::string, std::pair<std::string, std::string>> versions_;
};

}  // namespace podflow::reconcile
