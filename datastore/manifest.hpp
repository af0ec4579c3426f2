// The task manifest: the commit record of one attempt. A task without a manifest never
// happened; the manifest is always the last thing a task writes. See docs/datastore.md.
//
// {"flow": "fanout", "run": "15", "step": "start", "task": "start", "attempt": 0,
//  "artifacts": {"items": {"sha256": "...", "size": 12}, "model/weights.bin": {...}},
//  "foreach": {"artifact": "items", "count": 3, "index": "<sha256 of the index blob>"},
//  "startedAt": "2026-11-21T16:25:47.120Z", "finishedAt": "...", "exitCode": 0}
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "datastore/attempt_id.hpp"
#include "datastore/blob_ref.hpp"

namespace podflow::datastore {

// A foreach step's split list: the artifact holding the JSON array, its length, and the blob
// with each element's byte offset and length (two little-endian uint64 per element, 16 bytes),
// so split i reads its element with two ranged reads instead of parsing the whole list.
struct ForeachIndex {
  std::string artifact;
  std::uint64_t count = 0;
  std::string index;  // sha256 of the index blob

  bool operator==(const ForeachIndex&) const = default;
};

inline constexpr std::uint64_t kForeachIndexEntrySize = 16;

struct Manifest {
  AttemptId id;
  // Every artifact the task can see, and its children inherit, by name: a relative path inside
  // the outputs directory ("model/weights.bin"). For a non-join step that is its own outputs
  // plus everything its parent could see (its own win); for a join only its own outputs.
  std::map<std::string, BlobRef> artifacts;
  std::optional<ForeachIndex> foreach;  // only for a foreach step
  std::string startedAt;                // RFC 3339, UTC
  std::string finishedAt;
  int exitCode = 0;

  bool operator==(const Manifest&) const = default;
};

class ManifestError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

std::string manifest_to_json(const Manifest& manifest);
// Throws ManifestError naming the field that is missing or malformed. Unknown fields are
// ignored, so older readers accept manifests from newer writers.
Manifest manifest_from_json(std::string_view text);

}  // namespace podflow::datastore
