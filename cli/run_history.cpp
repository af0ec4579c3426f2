#include "cli/run_history.hpp"

#include <algorithm>
#include <map>
#include <sstream>
#include <stdexcept>

namespace podflow::cli {
namespace {

// "each.10.2" sorts after "each.9.2": compare split paths as numbers.
std::vector<long long> split_numbers(const std::string& task) {
  std::vector<long long> numbers;
  std::stringstream parts(task);
  std::string part;
  std::getline(parts, part, '.');
  while (std::getline(parts, part, '.')) numbers.push_back(std::stoll(part));
  return numbers;
}

}  // namespace

RunRecord load_run(datastore::Datastore& store, const std::string& run) {
  auto json = store.read_run_record(run);
  if (!json) {
    throw std::runtime_error("there is no run " + run + " in " + store.url() +
                             "; `podflow list` shows the runs there (or pass --datastore)");
  }
  return RunRecord::from_json(*json);
}

std::vector<TaskAttempts> list_task_attempts(datastore::Datastore& store, const RunRecord& run,
                                             const std::string& step) {
  std::string prefix = run.flow + "/" + run.run + "/";
  if (!step.empty()) prefix += step + "/";
  std::map<std::pair<std::string, std::string>, std::vector<std::int64_t>> found;
  for (const auto& object : store.objects().list(prefix)) {
    // <flow>/<run>/<step>/<task>/<attempt>/<file>
    std::vector<std::string> parts;
    std::stringstream key(object.key);
    for (std::string part; std::getline(key, part, '/');) parts.push_back(part);
    if (parts.size() != 6) continue;
    auto& attempts = found[{parts[2], parts[3]}];
    const std::int64_t attempt = std::stoll(parts[4]);
    if (std::find(attempts.begin(), attempts.end(), attempt) == attempts.end()) {
      attempts.push_back(attempt);
    }
  }
  std::vector<TaskAttempts> tasks;
  for (auto& [key, attempts] : found) {
    std::sort(attempts.begin(), attempts.end());
    tasks.push_back({key.first, key.second, attempts});
  }
  std::sort(tasks.begin(), tasks.end(), [](const TaskAttempts& a, const TaskAttempts& b) {
    if (a.step != b.step) return a.step < b.step;
    return split_numbers(a.task) < split_numbers(b.task);
  });
  return tasks;
}

}  // namespace podflow::cli
