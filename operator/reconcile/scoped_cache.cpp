#include "operator/reconcile/scoped_cache.hpp"

namespace podflow::reconcile {

ScopedCache::ScopedCache(kube::Client& client, kube::ResourceRef resource,
                         const std::vector<std::string>& namespaces, kube::WatcherOptions options) {
  namespaces_ = namespaces.empty() ? std::vector<std::string>{""} : namespaces;
  for (const auto& namespace_ : namespaces_) {
    reflectors_.push_back(std::make_unique<kube::Reflector>(client, resource, namespace_, options));
  }
}

void ScopedCache::add_index(const std::string& name, kube::ObjectCache::IndexFunction function) {
  for (auto& reflector : reflectors_) reflector->cache().add_index(name, function);
}

void ScopedCache::set_transform(const kube::ObjectCache::Transform& transform) {
  for (auto& reflector : reflectors_) reflector->cache().set_transform(transform);
}

void ScopedCache::set_keep(const kube::ObjectCache::Keep& keep) {
  for (auto& reflector : reflectors_) reflector->cache().set_keep(keep);
}

void ScopedCache::start() {
  for (auto& reflector : reflectors_) reflector->start();
}

void ScopedCache::stop() {
  for (auto& reflector : reflectors_) reflector->stop();
}

bool ScopedCache::wait_synced(std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (const auto& reflector : reflectors_) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (!reflector->cache().wait_synced(std::max(left, std::chrono::milliseconds(0)))) {
      return false;
    }
  }
  return true;
}

bool ScopedCache::synced() const {
  for (const auto& reflector : reflectors_) {
    if (!reflector->cache().synced()) return false;
  }
  return true;
}

const kube::ObjectCache* ScopedCache::cache_for(std::string_view namespace_) const {
  if (namespaces_.size() == 1 && namespaces_[0].empty()) return &reflectors_[0]->cache();
  for (std::size_t i = 0; i < namespaces_.size(); ++i) {
    if (namespaces_[i] == namespace_) return &reflectors_[i]->cache();
  }
  return nullptr;
}

kube::ObjectPtr ScopedCache::get(std::string_view key) const {
  const auto [namespace_, name] = kube::split_key(key);
  const kube::ObjectCache* cache = cache_for(namespace_);
  return cache ? cache->get(key) : nullptr;
}

std::vector<kube::ObjectPtr> ScopedCache::by_index(const std::string& name,
                                                   const std::string& value) const {
  std::vector<kube::ObjectPtr> found;
  for (const auto& reflector : reflectors_) {
    auto part = reflector->cache().by_index(name, value);
    found.insert(found.end(), part.begin(), part.end());
  }
  return found;
}

std::vector<kube::ObjectPtr> ScopedCache::list(std::string_view namespace_) const {
  if (!namespace_.empty()) {
    const kube::ObjectCache* cache = cache_for(namespace_);
    return cache ? cache->list(namespace_) : std::vector<kube::ObjectPtr>{};
  }
  std::vector<kube::ObjectPtr> found;
  for (const auto& reflector : reflectors_) {
    auto part = reflector->cache().list();
    found.insert(found.end(), part.begin(), part.end());
  }
  return found;
}

std::size_t ScopedCache::size() const {
  std::size_t total = 0;
  for (const auto& reflector : reflectors_) total += reflector->cache().size();
  return total;
}

std::vector<kube::ObjectCache*> ScopedCache::caches() {
  std::vector<kube::ObjectCache*> caches;
  for (auto& reflector : reflectors_) caches.push_back(&reflector->cache());
  return caches;
}

}  // namespace podflow::reconcile
