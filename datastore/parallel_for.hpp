// Runs body(worker, i) for i in [0, count) on up to `threads` threads; `worker` in
// [0, threads) identifies the thread, so each can own a buffer. After the first exception no new
// item starts; it is rethrown once every thread has stopped. Remote stores are latency-bound, so
// this is how one transfer keeps several requests in flight.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace podflow::datastore {

template <typename Body>
void parallel_for(std::size_t count, std::size_t threads, Body body) {
  threads = std::max<std::size_t>(1, std::min(threads, count));
  if (threads == 1) {
    for (std::size_t i = 0; i < count; ++i) body(std::size_t{0}, i);
    return;
  }
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr first_error;
  std::mutex error_mutex;
  auto work = [&](std::size_t worker) {
    for (std::size_t i = next++; i < count && !failed; i = next++) {
      try {
        body(worker, i);
      } catch (...) {
        std::lock_guard lock(error_mutex);
        if (!first_error) first_error = std::current_exception();
        failed = true;
      }
    }
  };
  // The calling thread is worker 0: one thread fewer to start and join.
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(work, t);
  work(0);
  for (auto& thread : pool) thread.join();
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace podflow::datastore
