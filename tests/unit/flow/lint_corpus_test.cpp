// The linter corpus: every document under tests/lint/invalid must produce exactly the messages in
// its .expected file (as `podflow validate NAME` prints them), and every valid shape none.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "flow/lint.hpp"

namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<fs::path> documents_in(const fs::path& directory) {
  std::vector<fs::path> paths;
  for (const auto& entry : fs::directory_iterator(directory)) {
    const auto extension = entry.path().extension();
    if (extension == ".yaml" || extension == ".json") paths.push_back(entry.path());
  }
  std::sort(paths.begin(), paths.end());
  return paths;
}

}  // namespace

TEST_CASE("every invalid corpus document produces its expected messages") {
  const auto paths = documents_in(fs::path(PODFLOW_LINT_CORPUS) / "invalid");
  CHECK(paths.size() >= 40);
  for (const auto& path : paths) {
    CAPTURE(path.filename().string());
    const auto result = podflow::flow::validate_flow(read_file(path));
    std::string actual;
    for (const auto& diagnostic : result.diagnostics) {
      actual += podflow::flow::format_diagnostic(path.filename().string(), diagnostic) + "\n";
    }
    fs::path expected_path = path;
    expected_path.replace_extension(".expected");
    REQUIRE(fs::exists(expected_path));
    CHECK(actual == read_file(expected_path));
    CHECK_FALSE(result.flow.has_value());
  }
}

TEST_CASE("every valid graph shape and every example is accepted") {
  auto paths = documents_in(fs::path(PODFLOW_LINT_CORPUS) / "valid");
  CHECK(paths.size() >= 6);
  for (const auto& entry : fs::recursive_directory_iterator(PODFLOW_EXAMPLES)) {
    if (entry.path().filename() == "flow.yaml") paths.push_back(entry.path());
  }
  for (const auto& path : paths) {
    CAPTURE(path.string());
    const auto result = podflow::flow::validate_flow(read_file(path));
    std::string problems;
    for (const auto& diagnostic : result.diagnostics) {
      problems += podflow::flow::format_diagnostic(path.string(), diagnostic) + "\n";
    }
    CHECK_MESSAGE(result.diagnostics.empty(), problems);
  }
}
