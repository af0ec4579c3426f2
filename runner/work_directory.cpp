#include "runner/work_directory.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace podflow::runner {
namespace fs = std::filesystem;
namespace {

[[noreturn]] void refuse(const fs::path& path, const std::string& what, const std::string& fix) {
  throw std::runtime_error("cannot use " + path.string() +
                           " for the run's work directories: " + what + "; " + fix);
}

// A directory whose entries another user can rename or replace (writable by them, and not
// sticky as /tmp is) cannot hold a directory we trust.
void check_holder(const fs::path& holder, const fs::path& parent) {
  struct stat status {};
  if (::stat(holder.c_str(), &status) != 0) return;  // created just below, or reported there
  const bool others_may_replace = (status.st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
                                  (status.st_mode & S_ISVTX) == 0 && status.st_uid != ::geteuid();
  if (others_may_replace) {
    refuse(parent,
           "its directory " + holder.string() +
               " is writable by other users and not sticky, so one of them could replace it",
           "use a datastore (--datastore) or TMPDIR in a directory only you can write");
  }
}

// The parent exists, is a real directory (not a link), is ours, and only we can enter it.
void make_private_parent(const fs::path& parent) {
  check_holder(parent.parent_path(), parent);
  std::error_code error;
  fs::create_directories(parent.parent_path(), error);
  if (::mkdir(parent.c_str(), 0700) != 0 && errno != EEXIST) {
    refuse(parent, std::string("cannot create it: ") + std::strerror(errno),
           "check the permissions of " + parent.parent_path().string());
  }
  const int descriptor = ::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (descriptor < 0) {
    refuse(parent,
           errno == ELOOP || errno == ENOTDIR
               ? "it is a symbolic link or not a directory"
               : std::string("cannot open it: ") + std::strerror(errno),
           "remove it; podflow creates it");
  }
  struct stat status {};
  const bool stated = ::fstat(descriptor, &status) == 0;
  if (!stated || status.st_uid != ::geteuid()) {
    ::close(descriptor);
    refuse(parent,
           "it belongs to uid " + std::to_string(stated ? status.st_uid : -1) +
               ", not to you (uid " + std::to_string(::geteuid()) +
               "): files planted there could be uploaded as your task's outputs",
           "remove it, or use a datastore (--datastore) or TMPDIR of your own");
  }
  // Ours but open to others (made by an older podflow, or by hand): close it.
  if ((status.st_mode & 07777) != 0700 && ::fchmod(descriptor, 0700) != 0) {
    const int failure = errno;
    ::close(descriptor);
    refuse(parent, std::string("cannot make it private: ") + std::strerror(failure),
           "chmod 700 " + parent.string());
  }
  ::close(descriptor);
}

}  // namespace

fs::path create_run_work_directory(const std::string& datastore, const std::string& run) {
  const bool remote = datastore.rfind("s3://", 0) == 0;
  std::error_code error;
  const fs::path parent =
      remote ? fs::temp_directory_path(error) / ("podflow-" + std::to_string(::geteuid()))
             : fs::absolute(datastore, error) / "_work";
  if (error)
    throw std::runtime_error("cannot find a directory for the run's work: " + error.message());
  make_private_parent(parent);
  std::string name = (parent / (run + "-XXXXXX")).string();
  std::vector<char> buffer(name.begin(), name.end());
  buffer.push_back('\0');
  if (::mkdtemp(buffer.data()) == nullptr) {
    refuse(parent, std::string("cannot create a directory in it: ") + std::strerror(errno),
           "free space there or check its permissions");
  }
  return fs::path(buffer.data());
}

bool keep_work_directories() {
  const char* keep = std::getenv("PODFLOW_KEEP_WORKDIR");
  return keep != nullptr && std::string_view(keep) == "1";
}

}  // namespace podflow::runner
