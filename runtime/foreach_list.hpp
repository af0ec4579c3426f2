// A foreach step's list: checking that the artifact is a usable JSON array, indexing its
// elements, and reading one element back for a split (docs/step-contract.md, "Foreach").
//
// The index holds, for each top-level element, its byte offset and length in the artifact as two
// little-endian uint64 (16 bytes per element), so a split reads its element with two ranged
// reads, never parsing the whole list.
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "datastore/datastore.hpp"

namespace podflow::runtime {

// A list that cannot drive a foreach; the message names the artifact and says what to do.
// Not retryable: running the step again produces the same list.
class ForeachListError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ForeachList {
  std::uint64_t count = 0;
  std::string index;  // count * 16 bytes, as described above
};

// Reads the file in constant memory (apart from the index). Throws ForeachListError when it is
// not valid JSON, not an array, empty, or longer than max_num_splits.
ForeachList index_foreach_list(const std::filesystem::path& file, const std::string& artifact,
                               std::int64_t max_num_splits);

// Element `index` of the list a foreach task committed, as JSON text, read through two ranged
// reads. Throws std::runtime_error when the manifest has no such list or element.
std::string read_foreach_item(datastore::Datastore& store, const datastore::Manifest& manifest,
                              std::uint64_t index);

}  // namespace podflow::runtime
