// Preparing a task's inputs: the parents' manifests (read in parallel), their artifacts in the
// inputs directory (hard links to the blobs of a local store, downloads from a remote one), the
// list of parent task ids, and a foreach split's item.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "datastore/datastore.hpp"
#include "runtime/task_spec.hpp"

namespace podflow::runtime {

// A blob that an input hard-links to, as it was before the step ran (small inputs are copies and
// large ones reflinks where the filesystem can: those cannot harm the blob and are not listed).
// Mode 0444 stops a step from writing to its inputs, except when it runs as root; checking the
// blob afterwards turns that mistake into a loud failure instead of a silently corrupted store.
struct LinkedInput {
  std::string name;  // as the step saw it: "a", or "<parent task>/a" in a join
  std::string sha256;
  std::string blob_key;
  std::filesystem::path blob_file;
  std::uint64_t inode = 0;
  std::int64_t modified_ns = 0;
  std::int64_t size = 0;
};

struct TaskInputs {
  // What a non-join step inherits (its parent's visible artifacts); empty for a join or start.
  std::map<std::string, datastore::BlobRef> inherited;
  std::filesystem::path directory;                         // $PODFLOW_INPUTS
  std::filesystem::path task_list;                         // $PODFLOW_INPUT_TASKS
  std::optional<std::filesystem::path> foreach_item_file;  // $PODFLOW_FOREACH_ITEM
  std::vector<LinkedInput> linked;                         // local stores only
};

// Fills <work_dir>/inputs, <work_dir>/input-tasks and, for a foreach split,
// <work_dir>/foreach-item.json. Throws (StoreError, std::runtime_error) with a message naming
// the parent task or artifact.
TaskInputs prepare_inputs(datastore::Datastore& store, const TaskSpec& spec,
                          const std::filesystem::path& work_dir);

// The first linked input whose blob changed since prepare_inputs (nullptr if none): its inode's
// size or modification time changed, or, for the first kRehashBudgetBytes of linked inputs
// (cheap: they were just read, so they are in the page cache), its bytes no longer hash to its
// name (a rewrite that kept the size and reset the time).
inline constexpr std::uint64_t kRehashBudgetBytes = 64 << 20;
const LinkedInput* find_modified_input(const TaskInputs& inputs);

}  // namespace podflow::runtime
