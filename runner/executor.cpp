#include "runner/executor.hpp"

namespace podflow::runner {

void add_output_lines(TaskOutput& output, const std::string& text) {
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (output.lines.size() < kMaxShownLines) {
      output.lines.push_back(text.substr(start, end - start));
    } else {
      ++output.hidden_lines;
    }
    start = end + 1;
  }
}

}  // namespace podflow::runner
