#include "runner/executor.hpp"

namespace podflow::runner {

void add_output_line(TaskOutput& output, std::string line) {
  if (output.lines.size() < kMaxShownLines) {
    output.lines.push_back(std::move(line));
  } else {
    ++output.hidden_lines;
  }
}

void add_output_lines(TaskOutput& output, const std::string& text) {
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    add_output_line(output, text.substr(start, end - start));
    start = end + 1;
  }
}

}  // namespace podflow::runner
