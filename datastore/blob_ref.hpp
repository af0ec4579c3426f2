// A reference to an artifact blob: its content's SHA-256 and its size.
#pragma once

#include <cstdint>
#include <string>

namespace podflow::datastore {

struct BlobRef {
  std::string sha256;  // 64 lowercase hex digits; the blob's key is <flow>/data/<sha[0:2]>/<sha>
  std::uint64_t size = 0;

  bool operator==(const BlobRef&) const = default;
};

}  // namespace podflow::datastore
