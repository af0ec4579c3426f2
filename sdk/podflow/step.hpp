// Reading inputs and writing outputs from a C++ step, following docs/step-contract.md: artifacts
// are files in $PODFLOW_INPUTS and $PODFLOW_OUTPUTS, parameters are $PODFLOW_PARAM_<NAME>.
// Header-only, C++17 or later.
#pragma once

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace podflow {

inline std::string required_env(const char* name) {
  const char* value = std::getenv(name);
  if (!value) {
    throw std::runtime_error(std::string(name) + " is not set: run this program as a podflow step");
  }
  return value;
}

// The value of parameter `name` ("size" reads PODFLOW_PARAM_SIZE), or `fallback`.
inline std::string parameter(std::string name, const std::string& fallback = "") {
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const char* value = std::getenv(("PODFLOW_PARAM_" + name).c_str());
  return value ? value : fallback;
}

// The content of input artifact `name` (for a join: "<parent task>/<name>").
inline std::string read_input(const std::string& name) {
  const std::string path = required_env("PODFLOW_INPUTS") + "/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("no input artifact '" + name + "' (" + path + ")");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Writes output artifact `name`; the runtime stores it when the step exits successfully.
inline void write_output(const std::string& name, const std::string& content) {
  const std::string path = required_env("PODFLOW_OUTPUTS") + "/" + name;
  std::ofstream out(path, std::ios::binary);
  out << content;
  if (!out.flush())
    throw std::runtime_error("cannot write output artifact '" + name + "' (" + path + ")");
}

}  // namespace podflow
