#include "datastore/temporary_file.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include "datastore/sha256.hpp"
#include "datastore/store_error.hpp"

namespace podflow::datastore {
namespace {

// 64 random bits per process, from getrandom: std::random_device runs CPUID on every
// construction (a trap to the hypervisor in a VM), and a generator per thread seeded from it
// cost each task's runtime more than its file operations.
unsigned long long process_random_bits() {
  static const unsigned long long bits = [] {
    unsigned long long value = 0;
    if (::getrandom(&value, sizeof value, GRND_NONBLOCK) != sizeof value) {
      value = static_cast<unsigned long long>(
          std::chrono::steady_clock::now().time_since_epoch().count());
    }
    return value;
  }();
  return bits;
}

// The counter keeps names unique within the process, the pid between processes of one host,
// and the random bits between hosts (or pid namespaces) sharing a filesystem; O_EXCL and
// RENAME_NOREPLACE make a collision a retry, never a clash.
std::string unique_suffix() {
  static std::atomic<unsigned long> counter{0};
  char text[80];
  std::snprintf(text, sizeof text, "%ld.%lu.%016llx", static_cast<long>(::getpid()),
                counter.fetch_add(1), process_random_bits());
  return text;
}

}  // namespace

std::string human_bytes(unsigned long long bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  while (value >= 1024 && unit < 4) {
    value /= 1024;
    ++unit;
  }
  char text[64];
  if (unit == 0) {
    std::snprintf(text, sizeof text, "%llu bytes", bytes);
  } else {
    std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
  }
  return text;
}

namespace {

// Sizes of the top-level folders of `root`, or an empty map when counting would take long: a
// message about a full disk must not itself take minutes.
std::map<std::string, unsigned long long> folder_sizes(const std::filesystem::path& root) {
  constexpr int kMaxEntries = 200000;
  std::map<std::string, unsigned long long> sizes;
  std::error_code error;
  int entries = 0;
  for (const auto& top : std::filesystem::directory_iterator(root, error)) {
    unsigned long long total = 0;
    std::error_code ignored;
    if (top.is_directory(ignored) && !top.is_symlink(ignored)) {
      std::filesystem::recursive_directory_iterator walk(
          top.path(), std::filesystem::directory_options::skip_permission_denied, ignored);
      for (const std::filesystem::recursive_directory_iterator end; walk != end;
           walk.increment(ignored)) {
        if (ignored || ++entries > kMaxEntries) break;
        struct stat status {};
        if (::lstat(walk->path().c_str(), &status) == 0 && S_ISREG(status.st_mode)) {
          total += static_cast<unsigned long long>(status.st_blocks) * 512;
        }
      }
    } else {
      struct stat status {};
      if (::lstat(top.path().c_str(), &status) == 0) {
        total = static_cast<unsigned long long>(status.st_blocks) * 512;
      }
    }
    if (entries > kMaxEntries) return {};
    sizes[top.path().filename().string()] = total;
  }
  return sizes;
}

}  // namespace

bool is_out_of_space(int error_number) {
  return error_number == ENOSPC || error_number == EDQUOT;
}

std::string out_of_space_advice(const std::filesystem::path& path,
                                const std::filesystem::path& datastore_root) {
  std::string advice;
  // The nearest existing directory: the file itself may be gone already.
  std::filesystem::path where = path;
  struct statvfs space {};
  while (::statvfs(where.c_str(), &space) != 0 && where.has_parent_path() &&
         where != where.parent_path()) {
    where = where.parent_path();
  }
  advice += "; the filesystem of " + where.string() + " has " +
            human_bytes(static_cast<unsigned long long>(space.f_bavail) * space.f_frsize) +
            " free of " +
            human_bytes(static_cast<unsigned long long>(space.f_blocks) * space.f_frsize) +
            " (after removing the partial file)";
  if (!datastore_root.empty()) {
    advice += "; podflow keeps there the datastore " + datastore_root.string();
    const auto sizes = folder_sizes(datastore_root);
    if (!sizes.empty()) {
      advice += " (";
      bool first = true;
      for (const auto& [name, size] : sizes) {
        advice += (first ? "" : ", ") + name + " " + human_bytes(size);
        first = false;
      }
      advice += ")";
    }
    advice +=
        ": artifact blobs in <flow>/data, each run's logs and manifests in <flow>/<run>, "
        "the run records in _runs and the local runs' work directories in _work";
  }
  advice +=
      "; free space there (delete runs you no longer need, or leftover work directories "
      "of runs that are not running), or put the datastore on a larger filesystem "
      "(--datastore DIR)";
  return advice;
}

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
    throw StoreError("cannot create directory " + directory.string() + ": " + error.message(),
                     error.value());
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
  throw_system_error("cannot create a file in " + directory.string(), errno);
}

TemporaryFile::TemporaryFile(const std::filesystem::path& directory, const TakeFrom& take) {
  const auto& source = take.source;
  // O_NOFOLLOW: a symbolic link is refused, not followed; O_NONBLOCK: a FIFO cannot hang us.
  const int input = ::open(source.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (input < 0) {
    done_ = true;
    throw_system_error("cannot read " + source.string(), errno);
  }
  struct stat before {};
  if (::fstat(input, &before) != 0) {
    const int error = errno;
    ::close(input);
    done_ = true;
    throw_system_error("cannot read " + source.string(), error);
  }
  if (!S_ISREG(before.st_mode)) {
    ::close(input);
    done_ = true;
    throw StoreError("cannot store " + source.string() +
                     ": not a regular file; only regular files can be stored");
  }
  // Only a file nobody else can reach (one link) and that we own may be moved and chmod-ed: a
  // hard link to someone's private file must stay theirs, with its mode and its future edits.
  if (before.st_nlink == 1 && before.st_uid == ::geteuid()) {
    for (int tries = 0; tries < 100 && !moved_; ++tries) {
      path_ = unique_temporary_path(directory);
      if (::renameat2(AT_FDCWD, source.c_str(), AT_FDCWD, path_.c_str(), RENAME_NOREPLACE) != 0) {
        if (errno == EEXIST) continue;
        break;  // another filesystem (EXDEV) or not ours to move: copy below
      }
      struct stat moved {};
      struct stat now {};
      if (::lstat(path_.c_str(), &moved) == 0 && moved.st_ino == before.st_ino &&
          moved.st_dev == before.st_dev && ::fchmod(input, take.mode) == 0 &&
          ::fstat(input, &now) == 0 && now.st_nlink == 1) {
        moved_ = true;
        descriptor_ = input;
        return;
      }
      // The path was swapped, or a link appeared meanwhile: undo, and copy what we inspected.
      if (moved.st_ino == before.st_ino) ::fchmod(input, before.st_mode & 07777);
      if (::renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, source.c_str(), RENAME_NOREPLACE) != 0 &&
          ::lstat(path_.c_str(), &moved) == 0 && moved.st_nlink > 1) {
        ::unlink(path_.c_str());  // its bytes live on under their other name
      }
      // Otherwise a file that cannot go back stays under this temporary name: never listed, and
      // never deleted by us, since it may be someone's only copy.
      break;
    }
  }
  for (int tries = 0; tries < 100; ++tries) {
    path_ = unique_temporary_path(directory);
    descriptor_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (descriptor_ >= 0 || errno != EEXIST) break;
  }
  if (descriptor_ < 0) {
    const int error = errno;
    ::close(input);
    done_ = true;
    throw_system_error("cannot create a file in " + directory.string(), error);
  }
  try {
    copy_from_descriptor(input, source);
    set_mode(take.mode);
  } catch (...) {
    ::close(input);
    close_descriptor();
    ::unlink(path_.c_str());
    done_ = true;
    throw;
  }
  ::close(input);
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
  if (!write_fully(descriptor_, bytes)) throw_system_error("cannot write " + path_.string(), errno);
}

void TemporaryFile::copy_from(const std::filesystem::path& source) {
  const int input = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (input < 0) throw_system_error("cannot read " + source.string(), errno);
  try {
    copy_from_descriptor(input, source);
  } catch (...) {
    ::close(input);
    throw;
  }
  ::close(input);
}

bool TemporaryFile::reflink_from(const std::filesystem::path& source) {
  const int input = ::open(source.c_str(), O_RDONLY | O_CLOEXEC);
  if (input < 0) return false;
  const bool cloned = reflink_from_descriptor(input);
  ::close(input);
  return cloned;
}

bool TemporaryFile::reflink_from_descriptor(int input) {
  // A reflink shares the extents (copy-on-write): free, and still podflow's own copy.
  struct stat status {};
  return ::fstat(descriptor_, &status) == 0 && status.st_size == 0 &&
         ::ioctl(descriptor_, FICLONE, input) == 0;
}

void TemporaryFile::copy_from_descriptor(int input, const std::filesystem::path& source_name) {
  if (reflink_from_descriptor(input)) return;
  // TakeFrom opens with O_NONBLOCK (a FIFO must not hang the open); read in blocking mode.
  const int flags = ::fcntl(input, F_GETFL);
  if (flags >= 0 && (flags & O_NONBLOCK) != 0) ::fcntl(input, F_SETFL, flags & ~O_NONBLOCK);
  struct stat status {};
  const std::uint64_t expected =
      ::fstat(input, &status) == 0 ? static_cast<std::uint64_t>(status.st_size) : 0;
  std::size_t buffer_size = 0;
  const auto buffer = io_buffer(expected, buffer_size);
  for (;;) {
    const ssize_t got = ::read(input, buffer.get(), buffer_size);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw_system_error("cannot read " + source_name.string(), errno);
    }
    if (got == 0) break;
    if (!write_fully(descriptor_, {buffer.get(), static_cast<std::size_t>(got)})) {
      throw_system_error("cannot write " + path_.string(), errno);
    }
  }
}

void TemporaryFile::set_mode(unsigned mode) {
  if (::fchmod(descriptor_, mode) != 0) throw_system_error("cannot chmod " + path_.string(), errno);
}

void TemporaryFile::commit_rename(const std::filesystem::path& destination) {
  const int close_result = ::close(descriptor_);
  descriptor_ = -1;
  if (close_result != 0) throw_system_error("cannot write " + destination.string(), errno);
  if (::rename(path_.c_str(), destination.c_str()) != 0) {
    throw_system_error("cannot write " + destination.string(), errno);
  }
  done_ = true;
}

bool TemporaryFile::commit_link_if_absent(const std::filesystem::path& destination) {
  const int close_result = ::close(descriptor_);
  descriptor_ = -1;
  if (close_result != 0) throw_system_error("cannot write " + destination.string(), errno);
  if (::link(path_.c_str(), destination.c_str()) != 0) {
    if (errno == EEXIST) return false;  // the destructor deletes the temporary name
    throw_system_error("cannot create " + destination.string(), errno);
  }
  return true;  // the destructor deletes the temporary name; the object keeps its link
}

}  // namespace podflow::datastore
