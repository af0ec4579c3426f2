#include "runtime/task_outputs.hpp"

namespace podflow::runtime {

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
