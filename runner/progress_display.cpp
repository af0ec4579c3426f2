#include "runner/progress_display.hpp"

#include <algorithm>

namespace podflow::runner {

ProgressDisplay::ProgressDisplay(std::FILE* out, bool live, std::string run, std::string flow)
    : out_(out),
      live_(live),
      run_(std::move(run)),
      flow_(std::move(flow)),
      started_(std::chrono::steady_clock::now()) {}

void ProgressDisplay::task_finished(const std::string& task, std::int64_t attempt, bool succeeded,
                                    std::int64_t duration_ms, const std::string& reason) {
  if (live_ && succeeded) return;
  erase_block();
  if (succeeded) {
    std::fprintf(out_, "[%s/%s] succeeded in %.2f s\n", run_.c_str(), task.c_str(),
                 static_cast<double>(duration_ms) / 1000);
  } else {
    std::fprintf(out_, "[%s/%s] attempt %lld failed: %s\n", run_.c_str(), task.c_str(),
                 static_cast<long long>(attempt), reason.c_str());
  }
  std::fflush(out_);
}

void ProgressDisplay::task_retrying(const std::string& task, std::int64_t next_attempt,
                                    std::int64_t delay_seconds) {
  erase_block();
  std::fprintf(out_, "[%s/%s] retrying as attempt %lld in %lld s\n", run_.c_str(), task.c_str(),
               static_cast<long long>(next_attempt), static_cast<long long>(delay_seconds));
  std::fflush(out_);
}

void ProgressDisplay::note(const std::string& text) {
  erase_block();
  std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
}

void ProgressDisplay::erase_block() {
  if (!live_ || drawn_lines_ == 0) return;
  // Up to the block's first line, then clear everything below.
  std::fprintf(out_, "\x1b[%dA\x1b[J", drawn_lines_);
  drawn_lines_ = 0;
}

void ProgressDisplay::refresh(const std::vector<StepSummary>& steps, bool force) {
  if (!live_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(200)) return;
  last_draw_ = now;
  erase_block();
  std::int64_t done = 0, running = 0, failed = 0;
  std::size_t width = 4;
  for (const auto& step : steps) {
    done += step.succeeded;
    running += step.running;
    failed += step.failed;
    width = std::max(width, step.name.size());
  }
  const double seconds = std::chrono::duration<double>(now - started_).count();
  std::fprintf(out_, "run %s of %s: %lld done, %lld running, %lld failed  %.1f s\n", run_.c_str(),
               flow_.c_str(), static_cast<long long>(done), static_cast<long long>(running),
               static_cast<long long>(failed), seconds);
  drawn_lines_ = 1;
  for (const auto& step : steps) {
    if (step.succeeded + step.running + step.failed == 0) continue;
    std::fprintf(out_, "  %-*s %6lld done %5lld running %4lld failed\n", static_cast<int>(width),
                 step.name.c_str(), static_cast<long long>(step.succeeded),
                 static_cast<long long>(step.running), static_cast<long long>(step.failed));
    ++drawn_lines_;
  }
  std::fflush(out_);
}

}  // namespace podflow::runner
