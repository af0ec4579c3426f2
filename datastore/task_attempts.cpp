#include "datastore/task_attempts.hpp"

#include <algorithm>
#include <map>
#include <sstream>

#include "datastore/parallel_for.hpp"

namespace podflow::datastore {
namespace {

// "each.10.2" sorts after "each.9.2": compare split paths as numbers.
std::vector<long long> split_numbers(const std::string& task) {
  std::vector<long long> numbers;
  std::stringstream parts(task);
  std::string part;
  std::getline(parts, part, '.');
  while (std::getline(parts, part, '.')) {
    try {
      numbers.push_back(std::stoll(part));
    } catch (const std::exception&) {
      numbers.push_back(-1);  // not a task id podflow wrote
    }
  }
  return numbers;
}

bool is_attempt_number(const std::string& text) {
  return !text.empty() && text.size() <= 18 &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Why the manifest's artifacts cannot be read any more, or nullopt when they can. The foreach
// index blob is not checked: it is never a task's input (splits read ranges of it), so the
// damage this guards against (a step writing through a hard-linked input) cannot reach it.
std::optional<std::string> damaged_blob(Datastore& store, const Manifest& manifest) {
  auto check = [&](const std::string& what, const BlobRef& blob) -> std::optional<std::string> {
    if (store.blob_intact(manifest.id.flow, blob)) return std::nullopt;
    const std::string key = Datastore::blob_key(manifest.id.flow, blob.sha256);
    const auto found = store.objects().head(key);
    return what + ": blob " + key + " in " + store.url() +
           (found ? " has " + std::to_string(found->size) + " bytes, the manifest says " +
                        std::to_string(blob.size)
                  : std::string(" is missing")) +
           "; the task runs again to store it again";
  };
  for (const auto& [name, blob] : manifest.artifacts) {
    if (auto damage = check("artifact '" + name + "'", blob)) return damage;
  }
  return std::nullopt;
}

}  // namespace

std::vector<TaskAttempts> list_task_attempts(Datastore& store, const std::string& flow,
                                             const std::string& run, const std::string& step) {
  std::string prefix = flow + "/" + run + "/";
  if (!step.empty()) prefix += step + "/";
  std::map<std::pair<std::string, std::string>, std::vector<std::int64_t>> found;
  for (const auto& object : store.objects().list(prefix)) {
    // <flow>/<run>/<step>/<task>/<attempt>/<file>
    std::vector<std::string> parts;
    std::stringstream key(object.key);
    for (std::string part; std::getline(key, part, '/');) parts.push_back(part);
    if (parts.size() != 6 || !is_attempt_number(parts[4])) continue;
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

CloneResult clone_committed_tasks(
    Datastore& store, const std::string& flow, const std::string& from, const std::string& to,
    const std::function<bool(const std::string& step, const std::string& task)>& keep,
    std::size_t threads) {
  CloneResult result;
  std::vector<TaskAttempts> tasks = list_task_attempts(store, flow, from);
  result.found = !tasks.empty();
  std::erase_if(tasks, [&](const TaskAttempts& entry) { return !keep(entry.step, entry.task); });
  std::vector<std::optional<ClonedTask>> cloned(tasks.size());
  std::vector<std::optional<SkippedTask>> skipped(tasks.size());
  parallel_for(tasks.size(), threads, [&](std::size_t, std::size_t i) {
    const TaskAttempts& entry = tasks[i];
    // The task's commit, if any: the latest attempt that has a manifest.
    for (auto attempt = entry.attempts.rbegin(); attempt != entry.attempts.rend(); ++attempt) {
      auto manifest = store.read_manifest({flow, from, entry.step, entry.task, *attempt});
      if (!manifest) continue;
      // Reusing a task whose outputs are gone would make every task that reads them fail for
      // good; running it again stores them again.
      if (auto damage = damaged_blob(store, *manifest)) {
        skipped[i] = SkippedTask{entry.step, entry.task, *attempt, std::move(*damage)};
        return;
      }
      manifest->id.run = to;
      store.write_manifest(*manifest);
      ClonedTask task{entry.step, entry.task, *attempt, std::nullopt};
      if (manifest->foreach) task.split_count = static_cast<std::int64_t>(manifest->foreach->count);
      cloned[i] = std::move(task);
      return;
    }
  });
  for (auto& task : cloned) {
    if (task) result.cloned.push_back(std::move(*task));
  }
  for (auto& task : skipped) {
    if (task) result.skipped.push_back(std::move(*task));
  }
  return result;
}

}  // namespace podflow::datastore
