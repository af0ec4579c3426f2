#include "flow/diagnostic.hpp"

namespace podflow::flow {

std::string format_diagnostic(const std::string& file, const Diagnostic& diagnostic) {
  std::string text = file;
  if (diagnostic.mark.line > 0) {
    // Appended piece by piece: GCC 12 at -O3 misreports `":" + std::to_string(...)` as an
    // overlapping memcpy (-Wrestrict, GCC bug 105329).
    text.append(":").append(std::to_string(diagnostic.mark.line));
    text.append(":").append(std::to_string(diagnostic.mark.column));
  }
  text += ": ";
  if (!diagnostic.step.empty()) text += "step '" + diagnostic.step + "': ";
  return text + diagnostic.message;
}

}  // namespace podflow::flow
