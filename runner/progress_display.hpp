// What a person sees while a run goes: on a terminal, a block of per-step counts redrawn in
// place; otherwise (CI logs, pipes) one plain line per finished task, failure and retry.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "runner/run_record.hpp"

namespace podflow::runner {

class ProgressDisplay {
 public:
  ProgressDisplay(std::FILE* out, bool live, std::string run, std::string flow);

  // Plain lines (non-terminal) or nothing (terminal: the block shows it).
  void task_finished(const std::string& task, std::int64_t attempt, bool succeeded,
                     std::int64_t duration_ms, const std::string& reason);
  void task_retrying(const std::string& task, std::int64_t next_attempt,
                     std::int64_t delay_seconds);
  // A message that must stay on screen (a failure's stderr tail, a warning).
  void note(const std::string& text);

  // Redraws the block when live and at most every 200 ms, unless `force`.
  void refresh(const std::vector<StepSummary>& steps, bool force = false);

  bool live() const { return live_; }

 private:
  void erase_block();

  std::FILE* out_;
  bool live_;
  std::string run_;
  std::string flow_;
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point last_draw_{};
  int drawn_lines_ = 0;
};

}  // namespace podflow::runner
