// What a step wrote to its outputs directory: every regular file, recursively, named by its
// path relative to the directory ("model/weights.bin").
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>

namespace podflow::runtime {

// An outputs directory the runtime refuses to store (a symbolic link, a device, ...). Not
// retryable: the step would write the same thing again.
class OutputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A directory as the kernel knows it (not through a symbolic link): device and inode.
struct DirectoryIdentity {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  bool operator==(const DirectoryIdentity&) const = default;
};

// The identity of the directory at `path` itself; throws std::runtime_error if it is not one.
DirectoryIdentity directory_identity(const std::filesystem::path& path);

// Before the outputs are read, with every process of the step gone: the work directory is still
// the one the runtime made, and its `outputs` is a real directory (or gone), not a link the step
// put there so that files elsewhere would be stored (and, moved into the store, taken from their
// owner). Throws OutputError naming what the step did.
void check_outputs_directory(const std::filesystem::path& work_dir, const DirectoryIdentity& made);

// Artifact name -> file. An outputs directory that is gone is simply empty.
std::map<std::string, std::filesystem::path> list_outputs(const std::filesystem::path& directory);

}  // namespace podflow::runtime
