// The user-facing defaults, written down once. They follow Metaflow's @resources, @timeout and
// runtime options so a Metaflow user's numbers mean the same thing here.
#pragma once

#include <cstddef>
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

inline constexpr std::string_view kTmpfsPath = "/podflow_temp";  // Metaflow's /metaflow_temp

inline constexpr std::int64_t kMaxWorkers = 16;
inline constexpr std::int64_t kMaxNumSplits = 100;
// A step's `parallelism` (how many of its tasks run at once): 1 up to this. More than any run
// has workers (max-workers) or a cluster has pods; a bigger number is a typo.
inline constexpr std::int64_t kMaxParallelism = 100000;

inline constexpr std::int64_t kRetryTimes = 0;
inline constexpr std::int64_t kRetryMaxTimes = 5;        // Metaflow caps a task at 6 attempts.
inline constexpr std::int64_t kRetryDelaySeconds = 120;  // Metaflow's minutes_between_retries=2.
inline constexpr std::int64_t kRetryMaxDelaySeconds = 24 * 3600;

// Bounds that keep a hostile or mistaken document from costing unbounded time or memory.
inline constexpr std::size_t kMaxDocumentBytes = 4 * 1024 * 1024;
inline constexpr std::size_t kMaxSteps = 1000;
inline constexpr std::size_t kMaxNesting = 64;

// Ceilings on what one task may ask for. A request no node can meet leaves the pod Pending
// forever (and a huge one overflows the int64 milli-units Kubernetes counts in), so validate
// refuses it. The largest single machines sold today have about 1,000 cores (about 2,000
// hardware threads, which Kubernetes counts as cpu) and 32-48 TiB of memory; the ceilings leave
// room above that. GPU device plugins that share a device advertise many "gpus" per node, so
// that ceiling is generous.
inline constexpr double kMaxCpuCores = 4096;
inline constexpr double kMaxMemoryBytes = 64.0 * 1024 * 1024 * 1024 * 1024;  // 64 TiB
inline constexpr double kMaxDiskBytes = 1024.0 * 1024 * 1024 * 1024 * 1024;  // 1 PiB
inline constexpr std::int64_t kMaxGpu = 1024;
// A year: longer is surely a typo, and a few orders of magnitude more overflow the nanosecond
// clocks of the runner.
inline constexpr std::int64_t kMaxTimeoutSeconds = 365 * 24 * 3600;

// Parameters reach every step as environment variables (PODFLOW_PARAM_<NAME>) and, on a cluster,
// all of them together inside PODFLOW_TASK. Linux refuses any single environment string over
// 128 KiB (MAX_ARG_STRLEN) with "Argument list too long", so one value may be at most 32 KiB
// and all names and values together 64 KiB, values counted as JSON-escaped text (a control
// character can take 6 bytes there): PODFLOW_TASK, which also holds the task's other fields,
// stays under 128 KiB.
inline constexpr std::size_t kMaxParameterValueBytes = 32 * 1024;
inline constexpr std::size_t kMaxParameterTotalBytes = 64 * 1024;

// Linux's MAX_ARG_STRLEN: the longest single argument or environment string exec accepts,
// counting its terminating NUL.
inline constexpr std::size_t kMaxArgumentBytes = 128 * 1024;

// Kubernetes' limit on the keys and values of an object's annotations together.
inline constexpr std::size_t kMaxAnnotationBytes = 256 * 1024;

}  // namespace podflow::flow::defaults
