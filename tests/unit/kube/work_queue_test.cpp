#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include "kube/work_queue.hpp"

using namespace podflow::kube;
using namespace std::chrono_literals;

TEST_CASE("work queue: a queued key is queued once, in FIFO order") {
  WorkQueue queue;
  queue.add("a");
  queue.add("b");
  queue.add("a");
  queue.add("c");
  CHECK(queue.depth() == 3);
  CHECK(queue.get_for(0ms) == "a");
  CHECK(queue.get_for(0ms) == "b");
  CHECK(queue.get_for(0ms) == "c");
  CHECK_FALSE(queue.get_for(10ms).has_value());
  CHECK(queue.metrics().adds.value({"add"}) == 4);
}

TEST_CASE("work queue: a key being processed is not handed out again until done") {
  WorkQueue queue;
  queue.add("a");
  auto first = queue.get_for(0ms);
  REQUIRE(first == "a");
  queue.add("a");  // changed while a worker holds it: deferred
  queue.add("a");
  CHECK(queue.depth() == 0);
  CHECK_FALSE(queue.get_for(20ms).has_value());
  queue.done("a");
  CHECK(queue.depth() == 1);  // once, however many adds came meanwhile
  CHECK(queue.get_for(0ms) == "a");
  queue.done("a");
  CHECK_FALSE(queue.get_for(10ms).has_value());
}

TEST_CASE("work queue: many workers never hold the same key at once") {
  WorkQueue queue;
  std::mutex mutex;
  std::set<std::string> held;
  std::atomic<int> violations{0}, processed{0};
  std::vector<std::thread> workers;
  for (int i = 0; i < 4; ++i) {
    workers.emplace_back([&] {
      while (auto key = queue.get()) {
        {
          std::lock_guard lock(mutex);
          if (!held.insert(*key).second) ++violations;
        }
        std::this_thread::sleep_for(200us);
        {
          std::lock_guard lock(mutex);
          held.erase(*key);
        }
        ++processed;
        queue.done(*key);
      }
    });
  }
  for (int round = 0; round < 300; ++round) {
    queue.add("key-" + std::to_string(round % 5));
    if (round % 7 == 0) std::this_thread::sleep_for(100us);
  }
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while ((queue.depth() > 0 || queue.processing() > 0) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  queue.shut_down();
  for (auto& worker : workers) worker.join();
  CHECK(violations == 0);
  CHECK(processed >= 5);
  CHECK(processed <= 300);
}

TEST_CASE("work queue: per-key backoff doubles from 5 ms to the cap - forget resets it") {
  ItemBackoff backoff(5ms, 1000s);
  CHECK(backoff.when("a") == 5ms);
  CHECK(backoff.when("a") == 10ms);
  CHECK(backoff.when("a") == 20ms);
  CHECK(backoff.when("b") == 5ms);  // per key
  for (int i = 0; i < 30; ++i) backoff.when("a");
  CHECK(backoff.when("a") == 1000s);
  CHECK(backoff.failures("a") == 34);
  backoff.forget("a");
  CHECK(backoff.failures("a") == 0);
  CHECK(backoff.when("a") == 5ms);
}

TEST_CASE("work queue: add_rate_limited takes the larger of key backoff and the bucket") {
  WorkQueue queue({.name = "t", .base_delay = 5ms, .max_delay = 1000s, .qps = 10, .burst = 2});
  CHECK(queue.rate_limit_delay("a") == 5ms);  // bucket token 1 of 2
  CHECK(queue.rate_limit_delay("b") == 5ms);  // bucket token 2 of 2
  auto third = queue.rate_limit_delay("c");   // bucket empty: ~100 ms
  CHECK(third >= 95ms);
  CHECK(third <= 101ms);
  queue.add_rate_limited("a");  // "a" now at its 2nd failure: 10 ms (bucket says ~200 ms)
  CHECK(queue.num_requeues("a") == 2);
  queue.forget("a");
  CHECK(queue.num_requeues("a") == 0);
}

TEST_CASE("work queue: add_after delays, the earliest time wins, and add is immediate") {
  WorkQueue queue;
  auto start = std::chrono::steady_clock::now();
  queue.add_after("late", 300ms);
  queue.add_after("soon", 50ms);
  queue.add_after("late", 100ms);  // earlier: replaces 300 ms
  queue.add_after("soon", 500ms);  // later: ignored
  CHECK(queue.delayed() == 2);
  CHECK(queue.depth() == 0);
  auto first = queue.get_for(2s);
  auto first_at = std::chrono::steady_clock::now() - start;
  auto second = queue.get_for(2s);
  auto second_at = std::chrono::steady_clock::now() - start;
  CHECK(first == "soon");
  CHECK(second == "late");
  CHECK(first_at >= 50ms);
  CHECK(second_at >= 100ms);
  CHECK(second_at < 290ms);
  CHECK(queue.delayed() == 0);
  queue.add_after("now", 0ms);
  CHECK(queue.depth() == 1);
}

TEST_CASE("work queue: a delayed key already queued is not duplicated") {
  WorkQueue queue;
  queue.add("a");
  queue.add_after("a", 20ms);
  CHECK(queue.get_for(0ms) == "a");
  queue.done("a");
  CHECK(queue.get_for(200ms) == "a");  // the delayed add fires after the first was done
  queue.done("a");
  CHECK_FALSE(queue.get_for(50ms).has_value());
}

TEST_CASE("work queue: shut_down wakes blocked workers and ignores later adds") {
  WorkQueue queue;
  std::optional<std::string> got = "sentinel";
  std::thread worker([&] { got = queue.get(); });
  std::this_thread::sleep_for(20ms);
  queue.shut_down();
  worker.join();
  CHECK_FALSE(got.has_value());
  CHECK(queue.shutting_down());
  queue.add("x");
  CHECK(queue.depth() == 0);
}

TEST_CASE("work queue: metrics count wait and work time") {
  WorkQueueOptions options;
  options.name = "m";
  WorkQueue queue(options);
  queue.add("a");
  std::this_thread::sleep_for(10ms);
  auto key = queue.get();
  std::this_thread::sleep_for(10ms);
  queue.done(*key);
  CHECK(queue.metrics().wait_seconds.count() == 1);
  CHECK(queue.metrics().wait_seconds.sum() >= 0.009);
  CHECK(queue.metrics().work_seconds.count() == 1);
  CHECK(queue.metrics().work_seconds.sum() >= 0.009);
  CHECK(queue.metrics().depth.value() == 0);
}
