#include "kube/watcher.hpp"

#include <random>

#include "kube/backoff.hpp"
#include "kube/kube_log.hpp"

namespace podflow::kube {

std::string_view type_name(WatchEvent::Type type) {
  switch (type) {
    case WatchEvent::Type::added:
      return "added";
    case WatchEvent::Type::modified:
      return "modified";
    case WatchEvent::Type::deleted:
      return "deleted";
    case WatchEvent::Type::bookmark:
      return "bookmark";
    case WatchEvent::Type::restarted:
      return "restarted";
  }
  return "";
}

Watcher::Watcher(Client& client, ResourceRef resource, std::string namespace_, Handler handler,
                 WatcherOptions options)
    : client_(client),
      resource_(std::move(resource)),
      namespace_(std::move(namespace_)),
      handler_(std::move(handler)),
      options_(std::move(options)) {}

Watcher::~Watcher() {
  stop();
}

void Watcher::start() {
  if (thread_.joinable()) return;
  thread_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

void Watcher::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  {
    std::lock_guard lock(mutex_);
    wake_.notify_all();
  }
  thread_.join();
}

std::string Watcher::resource_version() const {
  std::lock_guard lock(mutex_);
  return resource_version_;
}

std::uint64_t Watcher::lists() const {
  std::lock_guard lock(mutex_);
  return lists_;
}

std::uint64_t Watcher::watches() const {
  std::lock_guard lock(mutex_);
  return watches_;
}

std::uint64_t Watcher::bookmarks() const {
  std::lock_guard lock(mutex_);
  return bookmarks_;
}

void Watcher::set_resource_version(const std::string& version) {
  if (version.empty()) return;
  std::lock_guard lock(mutex_);
  resource_version_ = version;
}

bool Watcher::sleep_for(std::stop_token stop, std::chrono::milliseconds duration) {
  std::unique_lock lock(mutex_);
  wake_.wait_for(lock, stop, duration, [] { return false; });
  return !stop.stop_requested();
}

void Watcher::deliver(const WatchEvent& event) {
  try {
    handler_(event);
  } catch (const std::exception& error) {
    log(LogLevel::error,
        "watch " + resource_.describe() + ": the event handler failed: " + error.what());
  }
}

bool Watcher::list_everything(std::stop_token stop) {
  ListOptions options;
  options.label_selector = options_.label_selector;
  options.field_selector = options_.field_selector;
  options.limit = options_.page_size;
  ListPage page;
  try {
    page = client_.list_all(resource_, namespace_, options);
  } catch (const std::exception& error) {
    if (!stop.stop_requested()) {
      log(LogLevel::warning, "list " + resource_.describe() + " failed: " + error.what());
    }
    return false;
  }
  if (stop.stop_requested()) return false;
  set_resource_version(page.resource_version);
  {
    std::lock_guard lock(mutex_);
    ++lists_;
  }
  WatchEvent event;
  event.type = WatchEvent::Type::restarted;
  event.objects = std::move(page.items);
  event.resource_version = page.resource_version;
  deliver(event);
  return true;
}

void Watcher::run(std::stop_token stop) {
  Backoff backoff(options_.backoff_initial, options_.backoff_max);
  std::mt19937_64 random(std::random_device{}());
  std::uniform_int_distribution<long long> timeout_spread(options_.watch_timeout_min.count(),
                                                          2 * options_.watch_timeout_min.count());
  const std::string label = resource_.describe();
  bool need_list = options_.start_resource_version.empty();
  std::string start_reason = "initial";
  set_resource_version(options_.start_resource_version);

  while (!stop.stop_requested()) {
    if (need_list) {
      client_.metrics().watch_starts.add({label, start_reason});
      if (!list_everything(stop)) {
        if (!sleep_for(stop, backoff.next())) return;
        continue;
      }
      need_list = false;
    }

    WatchOptions watch_options;
    watch_options.label_selector = options_.label_selector;
    watch_options.field_selector = options_.field_selector;
    watch_options.resource_version = resource_version();
    watch_options.timeout = std::chrono::seconds(timeout_spread(random));
    {
      std::lock_guard lock(mutex_);
      ++watches_;
    }
    auto started = std::chrono::steady_clock::now();
    std::uint64_t received = 0;
    try {
      client_.watch(
          resource_, namespace_, watch_options,
          [&](const nlohmann::json& raw) {
            ++received;
            backoff.reset();
            auto type_text = raw.value("type", "");
            client_.metrics().watch_events.add({label, type_text});
            WatchEvent event;
            event.object = raw.contains("object") ? raw["object"] : nlohmann::json::object();
            event.resource_version = resource_version_of(event.object);
            if (type_text == "ADDED") {
              event.type = WatchEvent::Type::added;
            } else if (type_text == "MODIFIED") {
              event.type = WatchEvent::Type::modified;
            } else if (type_text == "DELETED") {
              event.type = WatchEvent::Type::deleted;
            } else if (type_text == "BOOKMARK") {
              event.type = WatchEvent::Type::bookmark;
              std::lock_guard lock(mutex_);
              ++bookmarks_;
            } else {
              log(LogLevel::warning, "watch " + label + ": unknown event type " + type_text);
              return;
            }
            set_resource_version(event.resource_version);
            deliver(event);
          },
          stop);
      if (stop.stop_requested()) return;
      // The server ended the watch: watch again from where we are. A watch that ended at once
      // without events is treated as a failure so a misbehaving server is not hammered.
      start_reason = "reconnect";
      client_.metrics().watch_starts.add({label, start_reason});
      if (received == 0 && std::chrono::steady_clock::now() - started < std::chrono::seconds(1)) {
        if (!sleep_for(stop, backoff.next())) return;
      }
    } catch (const std::exception& error) {
      if (stop.stop_requested()) return;
      if (is_gone(error)) {
        log(LogLevel::info, "watch " + label + ": resourceVersion " +
                                watch_options.resource_version + " is too old; listing again");
        need_list = true;
        start_reason = "relist_gone";
        continue;
      }
      log(LogLevel::warning, "watch " + label + " failed: " + error.what());
      start_reason = "reconnect";
      client_.metrics().watch_starts.add({label, start_reason});
      if (!sleep_for(stop, backoff.next())) return;
    }
  }
}

}  // namespace podflow::kube
