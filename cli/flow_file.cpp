#include "cli/flow_file.hpp"

#include <sys/stat.h>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "flow/defaults.hpp"
#include "flow/flow_decoder.hpp"

namespace podflow::cli {

LoadedFlow load_flow_file(const std::string& path) {
  LoadedFlow loaded;
  loaded.path = path;
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    loaded.messages.push_back(path + ": cannot read the file: " + std::strerror(errno));
    return loaded;
  }
  if (S_ISDIR(info.st_mode)) {
    loaded.messages.push_back(path + ": is a directory; give the flow's YAML file, e.g. " + path +
                              "/flow.yaml");
    return loaded;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    loaded.messages.push_back(path + ": cannot read the file: " + std::strerror(errno));
    return loaded;
  }
  // Read one byte past the limit: enough to know the file is too large without reading it all.
  const std::size_t limit = flow::defaults::kMaxDocumentBytes + 1;
  loaded.text.resize(limit);
  in.read(loaded.text.data(), static_cast<std::streamsize>(limit));
  loaded.text.resize(static_cast<std::size_t>(in.gcount()));
  if (loaded.text.size() == limit) {
    const auto size = S_ISREG(info.st_mode) ? static_cast<std::size_t>(info.st_size) : limit;
    loaded.messages.push_back(flow::format_diagnostic(path, flow::oversized_document(size)));
    loaded.text.clear();
    return loaded;
  }
  flow::ValidationResult result = flow::validate_flow(loaded.text);
  for (const auto& diagnostic : result.diagnostics) {
    loaded.messages.push_back(flow::format_diagnostic(path, diagnostic));
  }
  loaded.flow = std::move(result.flow);
  return loaded;
}

}  // namespace podflow::cli
