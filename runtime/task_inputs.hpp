// Preparing a task's inputs: the parents' manifests (read in parallel), their artifacts in the
// inputs directory (hard links to the blobs of a local store, downloads from a remote one), the
// list of parent task ids, and a foreach split's item.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "datastore/datastore.hpp"
#include "runtime/task_spec.hpp"

namespace podflow::runtime {

struct TaskInputs {
  // What a non-join step inherits (its parent's visible artifacts); empty for a join or start.
  std::map<std::string, datastore::BlobRef> inherited;
  std::filesystem::path directory;                         // $PODFLOW_INPUTS
  std::filesystem::path task_list;                         // $PODFLOW_INPUT_TASKS
  std::optional<std::filesystem::path> foreach_item_file;  // $PODFLOW_FOREACH_ITEM
};

// Fills <work_dir>/inputs, <work_dir>/input-tasks and, for a foreach split,
// <work_dir>/foreach-item.json. Throws (StoreError, std::runtime_error) with a message naming
// the parent task or artifact.
TaskInputs prepare_inputs(datastore::Datastore& store, const TaskSpec& spec,
                          const std::filesystem::path& work_dir);

}  // namespace podflow::runtime
