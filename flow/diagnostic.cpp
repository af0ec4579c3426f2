#include "flow/diagnostic.hpp"

namespace podflow::flow {

std::string format_diagnostic(const std::string& file, const Diagnostic& diagnostic) {
  std::string text = file;
  if (diagnostic.mark.line > 0) {
    text +=
        ":" + std::to_string(diagnostic.mark.line) + ":" + std::to_string(diagnostic.mark.column);
  }
  text += ": ";
  if (!diagnostic.step.empty()) text += "step '" + diagnostic.step + "': ";
  return text + diagnostic.message;
}

}  // namespace podflow::flow
