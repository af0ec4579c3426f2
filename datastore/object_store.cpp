#include "datastore/object_store.hpp"

#include <algorithm>

#include "datastore/store_error.hpp"
#include "datastore/temporary_file.hpp"

namespace podflow::datastore {

std::optional<FileDigest> ObjectStore::get_to_file_hashed(const std::string& key,
                                                          const std::filesystem::path& path) {
  if (!get_to_file(key, path)) return std::nullopt;
  return sha256_file(path);
}

void check_key(const std::string& key) {
  if (key.empty()) throw StoreError("invalid object key: it is empty");
  if (key.front() == '/' || key.back() == '/') {
    throw StoreError("invalid object key '" + key + "': it starts or ends with '/'");
  }
  std::size_t start = 0;
  while (start <= key.size()) {
    const std::size_t end = std::min(key.find('/', start), key.size());
    const std::string_view component(key.data() + start, end - start);
    if (component.empty() || component == "." || component == "..") {
      throw StoreError("invalid object key '" + key + "': empty, '.' or '..' component");
    }
    if (component.starts_with(kTemporaryFilePrefix)) {
      throw StoreError("invalid object key '" + key + "': '" + std::string(kTemporaryFilePrefix) +
                       "' names are reserved for temporary files");
    }
    if (component.find('\0') != std::string_view::npos) {
      throw StoreError("invalid object key: it contains a NUL byte");
    }
    start = end + 1;
  }
}

}  // namespace podflow::datastore
