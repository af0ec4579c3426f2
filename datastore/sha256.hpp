// Streaming SHA-256 (OpenSSL's low-level SHA256_*), as lowercase hex: the names of artifact blobs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace podflow::datastore {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::string_view bytes);
  // The digest of everything passed to update, as 64 lowercase hex digits. Call once.
  std::string hex_digest();

 private:
  struct Context;
  std::unique_ptr<Context> context_;
};

struct FileDigest {
  std::string sha256;  // hex
  std::uint64_t size = 0;
};

std::string sha256_hex(std::string_view bytes);
// Reads the file in fixed-size chunks (constant memory). Throws StoreError naming the file.
FileDigest sha256_file(const std::filesystem::path& path);
// A buffer for reading a file of `file_size` bytes in chunks: at most 1 MiB, no larger than the
// file needs, not zero-filled; `size` receives its size.
std::unique_ptr<char[]> io_buffer(std::uint64_t file_size, std::size_t& size);
// True for 64 lowercase hex digits.
bool is_sha256_hex(std::string_view text);

}  // namespace podflow::datastore
