#include "datastore/artifact_transfers.hpp"

#include <sys/stat.h>

#include "datastore/parallel_for.hpp"

namespace podflow::datastore {

namespace {

constexpr std::size_t kLocalParallelCount = 64;
constexpr std::uint64_t kLocalParallelBytes = 4 << 20;  // ~2 ms of SHA-256

}  // namespace

std::size_t transfer_threads(const Datastore& store, std::size_t count, std::uint64_t bytes,
                             std::size_t threads) {
  if (!store.is_local() || count >= kLocalParallelCount || bytes >= kLocalParallelBytes) {
    return threads;
  }
  return 1;
}

std::vector<BlobRef> store_artifacts(Datastore& store, const std::string& flow,
                                     const std::vector<std::filesystem::path>& paths,
                                     std::size_t threads) {
  std::vector<BlobRef> blobs(paths.size());
  if (store.is_local() && paths.size() < kLocalParallelCount) {
    std::uint64_t bytes = 0;
    for (const auto& path : paths) {
      struct stat status {};
      if (::lstat(path.c_str(), &status) == 0) bytes += static_cast<std::uint64_t>(status.st_size);
    }
    threads = transfer_threads(store, paths.size(), bytes, threads);
  }
  parallel_for(paths.size(), threads, [&](std::size_t, std::size_t i) {
    blobs[i] = store.store_artifact(flow, paths[i]);
  });
  return blobs;
}

void fetch_artifacts(Datastore& store, const std::string& flow,
                     const std::vector<ArtifactFetch>& fetches, std::size_t threads) {
  std::uint64_t bytes = 0;
  for (const auto& fetch : fetches) bytes += fetch.blob.size;
  threads = transfer_threads(store, fetches.size(), bytes, threads);
  parallel_for(fetches.size(), threads, [&](std::size_t, std::size_t i) {
    store.fetch_artifact(flow, fetches[i].blob, fetches[i].destination, fetches[i].name);
  });
}

}  // namespace podflow::datastore
