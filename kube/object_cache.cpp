#include "kube/object_cache.hpp"

#include <stdexcept>

#include "kube/kube_log.hpp"
#include "kube/resource.hpp"

namespace podflow::kube {

void ObjectCache::add_index(const std::string& name, IndexFunction function) {
  std::lock_guard lock(mutex_);
  auto& index = indexes_[name];
  index.function = std::move(function);
  index.keys_by_value.clear();
  for (const auto& [key, object] : objects_) {
    for (const auto& value : index.function(*object)) index.keys_by_value[value].insert(key);
  }
}

void ObjectCache::index_locked(const std::string& key, const nlohmann::json& object, bool insert) {
  for (auto& [name, index] : indexes_) {
    for (const auto& value : index.function(object)) {
      if (insert) {
        index.keys_by_value[value].insert(key);
      } else if (auto it = index.keys_by_value.find(value); it != index.keys_by_value.end()) {
        it->second.erase(key);
        if (it->second.empty()) index.keys_by_value.erase(it);
      }
    }
  }
}

void ObjectCache::store_locked(const std::string& key, ObjectPtr object) {
  if (auto it = objects_.find(key); it != objects_.end()) {
    index_locked(key, *it->second, false);
    it->second = object;
  } else {
    objects_.emplace(key, object);
  }
  index_locked(key, *object, true);
}

void ObjectCache::erase_locked(const std::string& key) {
  auto it = objects_.find(key);
  if (it == objects_.end()) return;
  index_locked(key, *it->second, false);
  objects_.erase(it);
}

void ObjectCache::set_transform(Transform transform) {
  transform_ = std::move(transform);
}

void ObjectCache::set_keep(Keep keep) {
  keep_ = std::move(keep);
}

ObjectPtr ObjectCache::make_object(const nlohmann::json& object) const {
  auto copy = std::make_shared<nlohmann::json>(object);
  if (transform_) transform_(*copy);
  return copy;
}

void ObjectCache::apply(const WatchEvent& event) {
  std::vector<CacheEvent> changes;
  {
    std::lock_guard lock(mutex_);
    switch (event.type) {
      case WatchEvent::Type::bookmark:
        return;
      case WatchEvent::Type::added:
      case WatchEvent::Type::modified: {
        auto object = make_object(event.object);
        auto key = object_key(*object);
        ObjectPtr old;
        if (auto it = objects_.find(key); it != objects_.end()) old = it->second;
        if (!keep_ || keep_(*object)) {
          store_locked(key, object);
        } else if (old) {
          erase_locked(key);
        }
        changes.push_back(
            {old ? CacheEvent::Type::updated : CacheEvent::Type::added, key, object, old});
        break;
      }
      case WatchEvent::Type::deleted: {
        auto key = object_key(event.object);
        ObjectPtr old;
        if (auto it = objects_.find(key); it != objects_.end()) old = it->second;
        erase_locked(key);
        changes.push_back({CacheEvent::Type::deleted, key,
                           std::make_shared<const nlohmann::json>(event.object), old});
        break;
      }
      case WatchEvent::Type::restarted: {
        std::map<std::string, ObjectPtr, std::less<>> fresh, listed_not_kept;
        for (const auto& item : event.objects) {
          auto object = make_object(item);
          (!keep_ || keep_(*object) ? fresh : listed_not_kept).emplace(object_key(*object), object);
        }
        for (const auto& [key, old] : objects_) {
          if (!fresh.count(key) && !listed_not_kept.count(key)) {
            changes.push_back({CacheEvent::Type::deleted, key, old, old});
          }
        }
        for (const auto& [key, object] : listed_not_kept) {
          auto it = objects_.find(key);
          changes.push_back(
              {it == objects_.end() ? CacheEvent::Type::added : CacheEvent::Type::updated, key,
               object, it == objects_.end() ? nullptr : it->second});
        }
        for (const auto& [key, object] : fresh) {
          auto it = objects_.find(key);
          if (it == objects_.end()) {
            changes.push_back({CacheEvent::Type::added, key, object, nullptr});
          } else if (resource_version_of(*it->second) != resource_version_of(*object)) {
            changes.push_back({CacheEvent::Type::updated, key, object, it->second});
          }
        }
        objects_ = std::move(fresh);
        for (auto& [name, index] : indexes_) {
          index.keys_by_value.clear();
          for (const auto& [key, object] : objects_) {
            for (const auto& value : index.function(*object)) {
              index.keys_by_value[value].insert(key);
            }
          }
        }
        synced_ = true;
        synced_changed_.notify_all();
        break;
      }
    }
  }
  notify(changes);
}

void ObjectCache::notify(const std::vector<CacheEvent>& events) {
  if (events.empty()) return;
  std::vector<Subscriber> current;
  {
    std::lock_guard lock(subscribers_mutex_);
    for (const auto& [id, subscriber] : subscribers_) current.push_back(subscriber);
  }
  for (const auto& event : events) {
    for (const auto& subscriber : current) {
      try {
        subscriber(event);
      } catch (const std::exception& error) {
        log(LogLevel::error, std::string("cache subscriber failed: ") + error.what());
      }
    }
  }
}

ObjectPtr ObjectCache::get(std::string_view key) const {
  std::lock_guard lock(mutex_);
  auto it = objects_.find(key);
  return it == objects_.end() ? nullptr : it->second;
}

ObjectPtr ObjectCache::get(std::string_view namespace_, std::string_view name) const {
  return get(make_key(namespace_, name));
}

std::vector<ObjectPtr> ObjectCache::list(std::string_view namespace_,
                                         const LabelSelector& selector) const {
  std::vector<ObjectPtr> result;
  std::lock_guard lock(mutex_);
  auto matches = [&](const ObjectPtr& object) {
    if (selector.empty()) return true;
    const auto& metadata = (*object)["metadata"];
    return selector.matches(metadata.contains("labels") ? metadata["labels"] : nlohmann::json());
  };
  if (namespace_.empty()) {
    for (const auto& [key, object] : objects_) {
      if (matches(object)) result.push_back(object);
    }
    return result;
  }
  std::string prefix = std::string(namespace_) + "/";
  for (auto it = objects_.lower_bound(prefix);
       it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    if (matches(it->second)) result.push_back(it->second);
  }
  return result;
}

std::vector<ObjectPtr> ObjectCache::by_index(const std::string& name,
                                             const std::string& value) const {
  std::lock_guard lock(mutex_);
  auto index = indexes_.find(name);
  if (index == indexes_.end()) throw std::invalid_argument("no cache index named " + name);
  std::vector<ObjectPtr> result;
  auto keys = index->second.keys_by_value.find(value);
  if (keys == index->second.keys_by_value.end()) return result;
  for (const auto& key : keys->second) {
    if (auto it = objects_.find(key); it != objects_.end()) result.push_back(it->second);
  }
  return result;
}

std::vector<std::string> ObjectCache::keys() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> result;
  for (const auto& [key, object] : objects_) result.push_back(key);
  return result;
}

std::size_t ObjectCache::size() const {
  std::lock_guard lock(mutex_);
  return objects_.size();
}

bool ObjectCache::synced() const {
  std::lock_guard lock(mutex_);
  return synced_;
}

bool ObjectCache::wait_synced(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  return synced_changed_.wait_for(lock, timeout, [this] { return synced_; });
}

int ObjectCache::subscribe(Subscriber subscriber, bool replay) {
  int id;
  {
    std::lock_guard lock(subscribers_mutex_);
    id = next_subscriber_++;
    subscribers_[id] = subscriber;
  }
  if (replay) {
    std::vector<std::pair<std::string, ObjectPtr>> snapshot;
    {
      std::lock_guard lock(mutex_);
      snapshot.assign(objects_.begin(), objects_.end());
    }
    for (const auto& [key, object] : snapshot) {
      try {
        subscriber({CacheEvent::Type::added, key, object, nullptr});
      } catch (const std::exception& error) {
        log(LogLevel::error, std::string("cache subscriber failed: ") + error.what());
      }
    }
  }
  return id;
}

void ObjectCache::unsubscribe(int id) {
  std::lock_guard lock(subscribers_mutex_);
  subscribers_.erase(id);
}

std::vector<std::string> owner_uid_index(const nlohmann::json& object) {
  std::vector<std::string> values;
  const auto& metadata = object.contains("metadata") ? object["metadata"] : nlohmann::json();
  if (!metadata.is_object() || !metadata.contains("ownerReferences")) return values;
  for (const auto& owner : metadata["ownerReferences"]) {
    if (owner.is_object() && owner.contains("uid")) values.push_back(owner.value("uid", ""));
  }
  return values;
}

std::vector<std::string> controller_owner_index(const nlohmann::json& object) {
  std::vector<std::string> values;
  const auto& metadata = object.contains("metadata") ? object["metadata"] : nlohmann::json();
  if (!metadata.is_object() || !metadata.contains("ownerReferences")) return values;
  for (const auto& owner : metadata["ownerReferences"]) {
    if (owner.is_object() && owner.value("controller", false)) {
      values.push_back(owner.value("kind", "") + "/" + owner.value("name", ""));
      break;
    }
  }
  return values;
}

}  // namespace podflow::kube
