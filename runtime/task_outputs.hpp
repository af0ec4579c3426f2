// What a step wrote to its outputs directory: every regular file, recursively, named by its
// path relative to the directory ("model/weights.bin").
#pragma once

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

// Artifact name -> file. An outputs directory that is gone is simply empty.
std::map<std::string, std::filesystem::path> list_outputs(const std::filesystem::path& directory);

}  // namespace podflow::runtime
