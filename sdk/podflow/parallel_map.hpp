// parallel_map for C++ steps: Metaflow's parallel_map, with threads. A step that asks for
// `resources: {cpu: 8}` uses 8 cores by calling parallel_map without a worker count: it reads the
// cores the step was given from PODFLOW_CPU (see docs/step-contract.md).
//
//   #include <podflow/parallel_map.hpp>
//   std::vector<double> sums = podflow::parallel_map(rows, [](const Row& row) { return sum(row);
//   });
//
// Header-only, C++17 or later; link with -pthread.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <thread>
#include <type_traits>
#include <vector>

namespace podflow {

// The cores this step was given: PODFLOW_CPU rounded up (at least 1), or the machine's cores
// when the variable is absent (a program run by hand).
inline unsigned step_cores() {
  if (const char* cpu = std::getenv("PODFLOW_CPU")) {
    char* end = nullptr;
    const double value = std::strtod(cpu, &end);
    if (end != cpu && value > 0) return static_cast<unsigned>(std::ceil(value));
  }
  return std::max(1u, std::thread::hardware_concurrency());
}

// Calls fn(i) for every i in [0, count) on `workers` threads, handing out indices in small
// batches so uneven work balances. The first exception thrown by fn is rethrown here, after
// every thread has stopped.
template <typename Fn>
void parallel_for(std::size_t count, Fn&& fn, unsigned workers = step_cores()) {
  workers = static_cast<unsigned>(std::max<std::size_t>(1, std::min<std::size_t>(workers, count)));
  const std::size_t batch =
      std::max<std::size_t>(1, count / (static_cast<std::size_t>(workers) * 16));
  std::atomic<std::size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto work = [&] {
    try {
      for (std::size_t begin = next.fetch_add(batch); begin < count;
           begin = next.fetch_add(batch)) {
        const std::size_t end = std::min(count, begin + batch);
        for (std::size_t i = begin; i < end; ++i) fn(i);
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(failure_mutex);
      if (!failure) failure = std::current_exception();
      next = count;  // stop handing out work
    }
  };
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < workers; ++t) threads.emplace_back(work);
  work();
  for (auto& thread : threads) thread.join();
  if (failure) std::rethrow_exception(failure);
}

// Returns {fn(items[0]), fn(items[1]), ...}, computed on `workers` threads, in order.
template <typename Item, typename Fn>
auto parallel_map(const std::vector<Item>& items, Fn&& fn, unsigned workers = step_cores()) {
  using Result = std::decay_t<std::invoke_result_t<Fn&, const Item&>>;
  std::vector<Result> results(items.size());
  parallel_for(
      items.size(), [&](std::size_t i) { results[i] = fn(items[i]); }, workers);
  return results;
}

}  // namespace podflow
