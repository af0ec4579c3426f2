#include "datastore/temporary_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <random>
#include <string>
#include <system_error>
#include <vector>

#include "datastore/store_error.hpp"

namespace podflow::datastore {
namespace {

std::string unique_suffix() {
  static std::atomic<unsigned long> counter{0};
  thread_local std::mt19937_64 random_bits{std::random_device{}()};
  char text[80];
  std::snprintf(text, sizeof text, "%ld.%lu.%016llx", static_cast<long>(::getpid()),
                counter.fetch_add(1), static_cast<unsigned long long>(random_bits()));
  return text;
}

}  // namespace

std::filesystem::path unique_temporary_path(const std::filesystem::path& directory) {
  return directory / (std::string(kTemporaryFilePrefix) + unique_suffix());
}

bool write_fully(int descriptor, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t written = ::write(descriptor, bytes.data(), bytes.size());
    if (written < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

void create_directories_or_throw(const std::filesystem::path& directory) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error) {
    throw StoreError("cannot create directory " + directory.string() + ": " + error.message());
  }
}

TemporaryFile::TemporaryFile(const std::filesystem::path& directory, unsigned mode) {
  for (int tries = 0; tries < 100; ++tries) {
    path_ = unique_temporary_path(directory);
    descriptor_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (descriptor_ >= 0) return;
    if (errno != EEXIST) break;
  }
  done_ = true;
  throw StoreError(system_error_text("cannot create a file in " + directory.string(), errno));
}

TemporaryFile::~TemporaryFile() {
  close_descriptor();
  if (!done_) ::unlink(path_.c_str());
}

void TemporaryFile::close_descriptor() {
  if (descriptor_ >= 0) {
    ::close(descriptor_);
    descriptor_ = -1;
  }
}

void TemporaryFile::write(std::string_view bytes) {
  if (!write_fully(descriptor_, bytes)) {
    throw StoreError(system_error_text("cannot write " + path_.string(), errno));
  }
}

void TemporaryFile::copy_from(const std::filesystem::path& source) {
  const int input = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (input < 0) throw StoreError(system_error_text("cannot read " + source.string(), errno));
  std::vector<char> buffer(1 << 20);
  for (;;) {
    const ssize_t got = ::read(input, buffer.data(), buffer.size());
    if (got < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      ::close(input);
      throw StoreError(system_error_text("cannot read " + source.string(), error));
    }
    if (got == 0) break;
    if (!write_fully(descriptor_, {buffer.data(), static_cast<std::size_t>(got)})) {
      const int error = errno;
      ::close(input);
      throw StoreError(system_error_text("cannot write " + path_.string(), error));
    }
  }
  ::close(input);
}

void TemporaryFile::set_mode(unsigned mode) {
  if (::fchmod(descriptor_, mode) != 0) {
    throw StoreError(system_error_text("cannot chmod " + path_.string(), errno));
  }
}

void TemporaryFile::commit_rename(const std::filesystem::path& destination) {
  const int close_result = ::close(descriptor_);
  descriptor_ = -1;
  if (close_result != 0) {
    throw StoreError(system_error_text("cannot write " + destination.string(), errno));
  }
  if (::rename(path_.c_str(), destination.c_str()) != 0) {
    throw StoreError(system_error_text("cannot write " + destination.string(), errno));
  }
  done_ = true;
}

bool TemporaryFile::commit_link_if_absent(const std::filesystem::path& destination) {
  const int close_result = ::close(descriptor_);
  descriptor_ = -1;
  if (close_result != 0) {
    throw StoreError(system_error_text("cannot write " + destination.string(), errno));
  }
  if (::link(path_.c_str(), destination.c_str()) != 0) {
    if (errno == EEXIST) return false;  // the destructor deletes the temporary name
    throw StoreError(system_error_text("cannot create " + destination.string(), errno));
  }
  return true;  // the destructor deletes the temporary name; the object keeps its link
}

}  // namespace podflow::datastore
