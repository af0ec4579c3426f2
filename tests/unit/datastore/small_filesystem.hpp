// For tests of a full disk: a tmpfs of a given size mounted for one test (root only), and the
// partial files (.podflow-tmp.*) a store left below a directory.
#pragma once

#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace podflow::testing {

class SmallFilesystem {
 public:
  // Mounts a tmpfs of `size` ("2m") at `root`, creating it; mounted() says whether it worked.
  SmallFilesystem(const std::filesystem::path& root, const std::string& size) : root_(root) {
    std::filesystem::create_directories(root);
    mounted_ = ::mount("tmpfs", root.c_str(), "tmpfs", 0, ("size=" + size).c_str()) == 0;
    if (!mounted_) why_ = std::strerror(errno);
  }
  ~SmallFilesystem() {
    if (mounted_) ::umount2(root_.c_str(), MNT_DETACH);
  }
  SmallFilesystem(const SmallFilesystem&) = delete;
  SmallFilesystem& operator=(const SmallFilesystem&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& why_not() const { return why_; }

 private:
  std::filesystem::path root_;
  bool mounted_ = false;
  std::string why_;
};

inline std::vector<std::filesystem::path> temporary_files(const std::filesystem::path& root) {
  std::vector<std::filesystem::path> found;
  std::error_code error;
  for (std::filesystem::recursive_directory_iterator walk(root, error), end; !error && walk != end;
       walk.increment(error)) {
    if (walk->path().filename().string().starts_with(".podflow-tmp.")) {
      found.push_back(walk->path());
    }
  }
  return found;
}

}  // namespace podflow::testing
