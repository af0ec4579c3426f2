// A problem found in a flow document, pointing at the place in the user's file.
#pragma once

#include <string>
#include <vector>

namespace podflow::flow {

// 1-based line and column in the source document; 0 when unknown.
struct SourceMark {
  int line = 0;
  int column = 0;
};

struct Diagnostic {
  SourceMark mark;
  std::string step;     // the step it concerns, empty for document-level problems
  std::string message;  // what is wrong and what to do about it
};

using Diagnostics = std::vector<Diagnostic>;

// "flow.yaml:12:5: step 'train': <message>"
std::string format_diagnostic(const std::string& file, const Diagnostic& diagnostic);

}  // namespace podflow::flow
