// Many artifacts at once. A remote store answers each request in a round trip, so storing or
// fetching 10,000 small artifacts one after the other costs 10,000 (or 20,000) round trips; these
// keep up to `threads` of them in flight. Memory stays bounded: large blobs share the store's
// transfer slots (see S3ObjectStore), small ones use buffers of their own of at most 1 MiB.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

#include "datastore/blob_ref.hpp"
#include "datastore/datastore.hpp"

namespace podflow::datastore {

inline constexpr std::size_t kArtifactTransferThreads = 32;

// How many threads `count` transfers of `bytes` in all deserve: `threads` for a remote store,
// whose requests wait on round trips; for a local one, 1 unless there are many files or many
// bytes to hash, since each thread costs about what a small local artifact does (a stack, a
// malloc arena, a clone and a join: ~0.1 ms).
std::size_t transfer_threads(const Datastore& store, std::size_t count, std::uint64_t bytes,
                             std::size_t threads);

// Datastore::store_artifact for each file, in parallel (transfer_threads); the references come
// back in the order of `paths`. CONSUMES the files, as store_artifact does. The first failure is
// thrown once the transfers in flight have finished (no new one starts after it).
std::vector<BlobRef> store_artifacts(Datastore& store, const std::string& flow,
                                     const std::vector<std::filesystem::path>& paths,
                                     std::size_t threads = kArtifactTransferThreads);

struct ArtifactFetch {
  BlobRef blob;
  std::filesystem::path destination;  // must not exist; its directory must
  std::string name;                   // for messages
};

// Datastore::fetch_artifact for each, in parallel (each verified: size and SHA-256).
void fetch_artifacts(Datastore& store, const std::string& flow,
                     const std::vector<ArtifactFetch>& fetches,
                     std::size_t threads = kArtifactTransferThreads);

}  // namespace podflow::datastore
