// Reading a flow file from disk for the commands that take one.
#pragma once

#include <optional>
#include <string>

#include "flow/lint.hpp"

namespace podflow::cli {

struct LoadedFlow {
  std::string path;
  std::optional<flow::FlowSpec> flow;  // present when the file is a valid flow
  std::string text;                    // the document as read
  std::vector<std::string> messages;   // "path:line:col: step 'x': ..." one per problem
};

// Reads and validates `path`. Never throws; an unreadable or oversized file is a message.
LoadedFlow load_flow_file(const std::string& path);

}  // namespace podflow::cli
