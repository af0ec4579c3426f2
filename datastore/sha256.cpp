#include "datastore/sha256.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

// The low-level SHA-256 (deprecated in OpenSSL 3 in favour of EVP, still supported): the same
// assembly as EVP's, without EVP's per-process set-up. EVP's first digest loads the default
// provider, reads openssl.cnf and builds its name tables, and its atexit handler frees them all
// again: most of the CPU a runtime spent on a task's few small artifacts.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

#include "datastore/store_error.hpp"

namespace podflow::datastore {

struct Sha256::Context {
  SHA256_CTX state;
};

Sha256::Sha256() : context_(std::make_unique<Context>()) {
  if (SHA256_Init(&context_->state) != 1) {
    throw std::runtime_error("OpenSSL cannot start a SHA-256 digest");
  }
}

Sha256::~Sha256() = default;

void Sha256::update(std::string_view bytes) {
  if (SHA256_Update(&context_->state, bytes.data(), bytes.size()) != 1) {
    throw std::runtime_error("OpenSSL SHA-256 update failed");
  }
}

std::string Sha256::hex_digest() {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  if (SHA256_Final(digest, &context_->state) != 1) {
    throw std::runtime_error("OpenSSL SHA-256 final failed");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * SHA256_DIGEST_LENGTH);
  for (const unsigned char byte : digest) {
    hex.push_back(kHex[byte >> 4]);
    hex.push_back(kHex[byte & 0xf]);
  }
  return hex;
}

std::string sha256_hex(std::string_view bytes) {
  Sha256 digest;
  digest.update(bytes);
  return digest.hex_digest();
}

std::unique_ptr<char[]> io_buffer(std::uint64_t file_size, std::size_t& size) {
  // Never zeroed, and no larger than the file: a fresh 1 MiB buffer costs 256 page faults,
  // far more than reading and hashing a small artifact.
  constexpr std::size_t kMaxBuffer = 1 << 20;
  constexpr std::size_t kMinBuffer = 4096;
  size = static_cast<std::size_t>(
      std::clamp<std::uint64_t>(file_size + 1, kMinBuffer, kMaxBuffer));  // +1: sees the end
  return std::make_unique_for_overwrite<char[]>(size);
}

FileDigest sha256_file(const std::filesystem::path& path) {
  const int descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (descriptor < 0) throw StoreError(system_error_text("cannot read " + path.string(), errno));
  struct stat status {};
  const std::uint64_t expected =
      ::fstat(descriptor, &status) == 0 ? static_cast<std::uint64_t>(status.st_size) : 0;
  std::size_t buffer_size = 0;
  const auto buffer = io_buffer(expected, buffer_size);
  Sha256 digest;
  FileDigest result;
  for (;;) {
    const ssize_t got = ::read(descriptor, buffer.get(), buffer_size);
    if (got < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      ::close(descriptor);
      throw StoreError(system_error_text("cannot read " + path.string(), error));
    }
    if (got == 0) break;
    digest.update({buffer.get(), static_cast<std::size_t>(got)});
    result.size += static_cast<std::uint64_t>(got);
  }
  ::close(descriptor);
  result.sha256 = digest.hex_digest();
  return result;
}

bool is_sha256_hex(std::string_view text) {
  if (text.size() != 64) return false;
  for (const char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace podflow::datastore
