// The user-facing defaults, written down once. They follow Metaflow's @resources, @timeout and
// runtime options so a Metaflow user's numbers mean the same thing here.
#pragma once

#include <cstdint>
#include <string_view>

namespace podflow::flow::defaults {

inline constexpr std::string_view kApiVersion = "podflow.dev/v1alpha1";
inline constexpr std::string_view kKind = "Flow";

inline constexpr std::int64_t kCpuMillis = 1000;        // cpu 1
inline constexpr std::int64_t kMemoryMegabytes = 4096;  // memory 4096 (MB)
inline constexpr std::int64_t kDiskMegabytes = 10240;   // disk 10240 (MB)
inline constexpr std::int64_t kGpu = 0;
inline constexpr std::string_view kGpuVendor = "nvidia.com";
inline constexpr std::int64_t kTimeoutSeconds = 5 * 24 * 3600;  // 5 days

inline constexpr std::int64_t kMaxWorkers = 16;
inline constexpr std::int64_t kMaxNumSplits = 100;

inline constexpr std::int64_t kRetryTimes = 0;
inline constexpr std::int64_t kRetryMaxTimes = 5;        // Metaflow caps a task at 6 attempts.
inline constexpr std::int64_t kRetryDelaySeconds = 120;  // Metaflow's minutes_between_retries=2.
inline constexpr std::int64_t kRetryMaxDelaySeconds = 24 * 3600;

// Bounds that keep a hostile or mistaken document from costing unbounded time or memory.
inline constexpr std::size_t kMaxDocumentBytes = 4 * 1024 * 1024;
inline constexpr std::size_t kMaxSteps = 1000;
inline constexpr std::size_t kMaxNesting = 64;

}  // namespace podflow::flow::defaults
