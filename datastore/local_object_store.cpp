#include "datastore/local_object_store.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <system_error>

#include "datastore/store_error.hpp"
#include "datastore/temporary_file.hpp"

namespace podflow::datastore {
namespace {

constexpr unsigned kObjectMode = 0444;

// A missing file, or a key whose "directory" is an object.
bool is_not_found(int error) {
  return error == ENOENT || error == ENOTDIR;
}

bool is_temporary_name(const std::filesystem::path& path) {
  return path.filename().string().starts_with(kTemporaryFilePrefix);
}

}  // namespace

LocalObjectStore::LocalObjectStore(const std::filesystem::path& root,
                                   LocalObjectStoreOptions options)
    : options_(options) {
  std::error_code error;
  root_ = std::filesystem::absolute(root, error).lexically_normal();
  if (error) throw StoreError("cannot use datastore " + root.string() + ": " + error.message());
  if (root_.has_filename() == false) root_ = root_.parent_path();  // drop a trailing '/'
  create_directories_or_throw(root_);
}

std::string LocalObjectStore::url() const {
  return root_.string();
}

std::filesystem::path LocalObjectStore::path_of(const std::string& key) const {
  check_key(key);
  return root_ / key;
}

template <typename Write>
auto LocalObjectStore::with_space_advice(const std::filesystem::path& path, Write&& write) {
  try {
    return write();
  } catch (const StoreError& error) {
    if (!is_out_of_space(error.error_number())) throw;
    throw StoreError(error.what() + out_of_space_advice(path, root_), error.error_number());
  }
}

void LocalObjectStore::put_bytes(const std::string& key, std::string_view bytes) {
  const auto path = path_of(key);
  with_space_advice(path, [&] {
    create_directories_or_throw(path.parent_path());
    TemporaryFile file(path.parent_path());
    file.write(bytes);
    file.set_mode(kObjectMode);
    file.commit_rename(path);
  });
}

void LocalObjectStore::put_file(const std::string& key, const std::filesystem::path& source) {
  const auto path = path_of(key);
  with_space_advice(path, [&] {
    create_directories_or_throw(path.parent_path());
    TemporaryFile file(path.parent_path());
    file.copy_from(source);
    file.set_mode(kObjectMode);
    file.commit_rename(path);
  });
}

void LocalObjectStore::put_file_consuming(const std::string& key,
                                          const std::filesystem::path& source) {
  const auto path = path_of(key);
  with_space_advice(path, [&] {
    create_directories_or_throw(path.parent_path());
    // Moved when the file is ours alone, else copied: never chmod-ed or renamed before that is
    // known (a hard link to a private file elsewhere must keep its mode and stay separate).
    TemporaryFile file(path.parent_path(), TemporaryFile::TakeFrom{source, kObjectMode});
    file.commit_rename(path);
  });
}

std::unique_ptr<TemporaryFile> LocalObjectStore::stage_file(const std::string& directory_key,
                                                            const std::filesystem::path& source) {
  const auto directory = path_of(directory_key);
  return with_space_advice(directory, [&] {
    create_directories_or_throw(directory);
    return std::make_unique<TemporaryFile>(directory, TemporaryFile::TakeFrom{source, kObjectMode});
  });
}

void LocalObjectStore::commit_staged(TemporaryFile& staged, const std::string& key) {
  const auto path = path_of(key);
  with_space_advice(path, [&] {
    create_directories_or_throw(path.parent_path());
    staged.commit_rename(path);
  });
}

std::optional<std::string> LocalObjectStore::quarantine(const std::string& key,
                                                        const std::string& quarantine_key,
                                                        std::uint64_t expected_inode) {
  const auto path = path_of(key);
  const auto aside = path_of(quarantine_key);
  create_directories_or_throw(aside.parent_path());
  struct stat status {};
  if (::lstat(path.c_str(), &status) != 0 || status.st_ino != expected_inode) return std::nullopt;
  if (::renameat2(AT_FDCWD, path.c_str(), AT_FDCWD, aside.c_str(), RENAME_NOREPLACE) != 0) {
    throw_system_error("cannot move " + path.string() + " aside to " + aside.string(), errno);
  }
  // Someone stored the blob again between the check and the rename: that copy is good, so it
  // goes back (unless yet another copy has appeared meanwhile, which is just as good).
  if (::lstat(aside.c_str(), &status) == 0 && status.st_ino != expected_inode) {
    if (::renameat2(AT_FDCWD, aside.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) != 0) {
      ::unlink(aside.c_str());
    }
    return std::nullopt;
  }
  return quarantine_key;
}

bool LocalObjectStore::put_bytes_if_absent(const std::string& key, std::string_view bytes) {
  const auto path = path_of(key);
  return with_space_advice(path, [&] {
    create_directories_or_throw(path.parent_path());
    TemporaryFile file(path.parent_path());
    file.write(bytes);
    file.set_mode(kObjectMode);
    return file.commit_link_if_absent(path);
  });
}

std::optional<std::string> LocalObjectStore::get_bytes(const std::string& key) {
  const auto path = path_of(key);
  const int descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (descriptor < 0) {
    if (is_not_found(errno)) return std::nullopt;
    throw StoreError(system_error_text("cannot read " + path.string(), errno));
  }
  std::string bytes;
  char buffer[65536];
  for (;;) {
    const ssize_t got = ::read(descriptor, buffer, sizeof buffer);
    if (got < 0) {
      if (errno == EINTR) continue;
      const int error = errno;
      ::close(descriptor);
      if (error == EISDIR) return std::nullopt;
      throw StoreError(system_error_text("cannot read " + path.string(), error));
    }
    if (got == 0) break;
    bytes.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(descriptor);
  return bytes;
}

bool LocalObjectStore::get_to_file(const std::string& key, const std::filesystem::path& path) {
  const auto source = path_of(key);
  struct stat status {};
  if (::stat(source.c_str(), &status) != 0) {
    if (is_not_found(errno)) return false;
    throw StoreError(system_error_text("cannot read " + source.string(), errno));
  }
  if (!S_ISREG(status.st_mode)) return false;
  const auto directory = path.has_parent_path() ? path.parent_path() : ".";
  TemporaryFile file(directory);
  file.copy_from(source);
  file.commit_rename(path);
  return true;
}

std::string LocalObjectStore::get_range(const std::string& key, std::uint64_t offset,
                                        std::uint64_t length) {
  const auto path = path_of(key);
  const int descriptor = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (descriptor < 0) {
    if (is_not_found(errno)) throw StoreError("cannot read " + path.string() + ": no such object");
    throw StoreError(system_error_text("cannot read " + path.string(), errno));
  }
  struct stat status {};
  if (::fstat(descriptor, &status) != 0) {
    const int error = errno;
    ::close(descriptor);
    throw StoreError(system_error_text("cannot read " + path.string(), error));
  }
  const auto size = static_cast<std::uint64_t>(status.st_size);
  const std::uint64_t available = offset >= size ? 0 : std::min(length, size - offset);
  std::string bytes(available, '\0');
  std::uint64_t done = 0;
  while (done < available) {
    const ssize_t got = ::pread(descriptor, bytes.data() + done, available - done,
                                static_cast<off_t>(offset + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      const int error = got < 0 ? errno : EIO;
      ::close(descriptor);
      throw StoreError(system_error_text("cannot read " + path.string(), error));
    }
    done += static_cast<std::uint64_t>(got);
  }
  ::close(descriptor);
  return bytes;
}

std::optional<ObjectInfo> LocalObjectStore::head(const std::string& key) {
  const auto path = path_of(key);
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) {
    if (is_not_found(errno)) return std::nullopt;
    throw StoreError(system_error_text("cannot read " + path.string(), errno));
  }
  if (!S_ISREG(status.st_mode)) return std::nullopt;
  return ObjectInfo{key, static_cast<std::uint64_t>(status.st_size)};
}

std::vector<ObjectInfo> LocalObjectStore::list(const std::string& prefix) {
  // Walk the deepest directory the prefix names, then filter by the whole prefix as S3 would.
  const auto slash = prefix.rfind('/');
  const std::string directory_key = slash == std::string::npos ? "" : prefix.substr(0, slash);
  if (!directory_key.empty()) check_key(directory_key);
  const auto directory = directory_key.empty() ? root_ : root_ / directory_key;
  std::vector<ObjectInfo> objects;
  std::error_code error;
  std::filesystem::recursive_directory_iterator walk(
      directory, std::filesystem::directory_options::skip_permission_denied, error);
  if (error) {
    if (error == std::errc::no_such_file_or_directory || error == std::errc::not_a_directory) {
      return objects;
    }
    throw StoreError("cannot list " + directory.string() + ": " + error.message());
  }
  for (const std::filesystem::recursive_directory_iterator end; walk != end;
       walk.increment(error)) {
    if (error) {
      // A directory removed while we walk it is simply not there any more.
      if (error == std::errc::no_such_file_or_directory) {
        error.clear();
        continue;
      }
      throw StoreError("cannot list " + directory.string() + ": " + error.message());
    }
    const auto& entry = *walk;
    if (is_temporary_name(entry.path())) continue;
    std::error_code status_error;
    if (!entry.is_regular_file(status_error)) continue;
    std::string key = entry.path().lexically_relative(root_).generic_string();
    if (!key.starts_with(prefix)) continue;
    const auto size = entry.file_size(status_error);
    if (status_error) continue;  // removed meanwhile
    objects.push_back({std::move(key), static_cast<std::uint64_t>(size)});
  }
  std::sort(objects.begin(), objects.end(),
            [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return objects;
}

bool LocalObjectStore::remove(const std::string& key) {
  const auto path = path_of(key);
  if (::unlink(path.c_str()) == 0) return true;
  if (is_not_found(errno)) return false;
  throw StoreError(system_error_text("cannot remove " + path.string(), errno));
}

std::optional<std::filesystem::path> LocalObjectStore::local_path(const std::string& key) {
  if (!options_.expose_local_paths) return std::nullopt;
  if (!head(key)) return std::nullopt;
  return path_of(key);
}

}  // namespace podflow::datastore
