#include "runtime/task_outputs.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace podflow::runtime {

DirectoryIdentity directory_identity(const std::filesystem::path& path) {
  struct stat status {};
  if (::lstat(path.c_str(), &status) != 0) {
    throw std::runtime_error("cannot read " + path.string() + ": " + std::strerror(errno));
  }
  if (!S_ISDIR(status.st_mode)) throw std::runtime_error(path.string() + " is not a directory");
  return {static_cast<std::uint64_t>(status.st_dev), static_cast<std::uint64_t>(status.st_ino)};
}

void check_outputs_directory(const std::filesystem::path& work_dir, const DirectoryIdentity& made) {
  struct stat status {};
  if (::lstat(work_dir.c_str(), &status) != 0 || !S_ISDIR(status.st_mode) ||
      DirectoryIdentity{static_cast<std::uint64_t>(status.st_dev),
                        static_cast<std::uint64_t>(status.st_ino)} != made) {
    throw OutputError("the step removed or replaced its work directory " + work_dir.string() +
                      "; a step writes only into $PODFLOW_OUTPUTS");
  }
  const auto outputs = work_dir / "outputs";
  if (::lstat(outputs.c_str(), &status) != 0) return;  // gone: no outputs
  if (S_ISLNK(status.st_mode)) {
    throw OutputError(
        "the step replaced its outputs directory ($PODFLOW_OUTPUTS) with a symbolic "
        "link; nothing was stored, and the link's target was left as it was: write "
        "the files themselves into $PODFLOW_OUTPUTS");
  }
  if (!S_ISDIR(status.st_mode)) {
    throw OutputError(
        "the step replaced its outputs directory ($PODFLOW_OUTPUTS) with a file; "
        "write files into the directory instead");
  }
}

std::map<std::string, std::filesystem::path> list_outputs(const std::filesystem::path& directory) {
  std::map<std::string, std::filesystem::path> outputs;
  std::error_code error;
  if (!std::filesystem::is_directory(directory, error)) return outputs;
  std::filesystem::recursive_directory_iterator walk(directory, error);
  if (error) throw std::runtime_error("cannot list " + directory.string() + ": " + error.message());
  for (const std::filesystem::recursive_directory_iterator end; walk != end;
       walk.increment(error)) {
    if (error) {
      throw std::runtime_error("cannot list " + directory.string() + ": " + error.message());
    }
    const auto& entry = *walk;
    const std::string name = entry.path().lexically_relative(directory).generic_string();
    const auto status = entry.symlink_status(error);
    if (error) throw std::runtime_error("cannot read " + entry.path().string());
    if (std::filesystem::is_symlink(status)) {
      throw OutputError("output '" + name +
                        "' is a symbolic link; artifacts are stored by content, so write the "
                        "file itself (or a copy) into $PODFLOW_OUTPUTS");
    }
    if (std::filesystem::is_directory(status)) continue;
    if (!std::filesystem::is_regular_file(status)) {
      throw OutputError("output '" + name +
                        "' is not a regular file (a pipe, socket or device); only files can be "
                        "artifacts");
    }
    outputs.emplace(name, entry.path());
  }
  return outputs;
}

}  // namespace podflow::runtime
