#include "datastore/artifact_transfers.hpp"

#include "datastore/parallel_for.hpp"

namespace podflow::datastore {

std::vector<BlobRef> store_artifacts(Datastore& store, const std::string& flow,
                                     const std::vector<std::filesystem::path>& paths,
                                     std::size_t threads) {
  std::vector<BlobRef> blobs(paths.size());
  parallel_for(paths.size(), threads, [&](std::size_t, std::size_t i) {
    blobs[i] = store.store_artifact(flow, paths[i]);
  });
  return blobs;
}

void fetch_artifacts(Datastore& store, const std::string& flow,
                     const std::vector<ArtifactFetch>& fetches, std::size_t threads) {
  parallel_for(fetches.size(), threads, [&](std::size_t, std::size_t i) {
    store.fetch_artifact(flow, fetches[i].blob, fetches[i].destination, fetches[i].name);
  });
}

}  // namespace podflow::datastore
