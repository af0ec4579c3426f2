#include "runner/runner_process.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>

namespace podflow::runner {
namespace {

std::string first_line(const std::string& path) {
  std::ifstream file(path);
  std::string line;
  std::getline(file, line);
  return line;
}

// Field 22 of /proc/<pid>/stat; 0 when the process does not exist. The command name (field 2)
// may hold spaces and parentheses, so counting starts after its last ')'.
std::int64_t start_ticks_of(std::int64_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(text.substr(close + 1));
  std::string field;
  for (int number = 3; fields >> field; ++number) {
    if (number == 22) {
      try {
        return std::stoll(field);
      } catch (const std::exception&) {
        return 0;
      }
    }
  }
  return 0;
}

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) != 0) return "";
  return name;
}

}  // namespace

RunnerProcess this_runner() {
  RunnerProcess runner;
  runner.host = host_name();
  runner.boot_id = first_line("/proc/sys/kernel/random/boot_id");
  runner.pid = ::getpid();
  runner.start_ticks = start_ticks_of(runner.pid);
  return runner;
}

RunnerState runner_state(const RunnerProcess& runner) {
  if (runner.pid <= 0 || runner.start_ticks == 0 || runner.boot_id.empty()) {
    return RunnerState::unknown;
  }
  if (runner.host != host_name()) return RunnerState::unknown;
  if (runner.boot_id != first_line("/proc/sys/kernel/random/boot_id")) return RunnerState::gone;
  return start_ticks_of(runner.pid) == runner.start_ticks ? RunnerState::alive : RunnerState::gone;
}

}  // namespace podflow::runner
