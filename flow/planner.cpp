#include "flow/planner.hpp"

#include <algorithm>
#include <stdexcept>

namespace podflow::flow {

std::string task_id(const std::string& step, const SplitPath& path) {
  std::string id = step;
  for (const auto index : path) id += "." + std::to_string(index);
  return id;
}

std::vector<std::string> ParentGroup::task_ids() const {
  if (!splits) return {task_id(step, prefix)};
  std::vector<std::string> ids;
  ids.reserve(static_cast<std::size_t>(*splits));
  SplitPath path = prefix;
  path.push_back(0);
  for (std::int64_t i = 0; i < *splits; ++i) {
    path.back() = i;
    ids.push_back(task_id(step, path));
  }
  return ids;
}

Planner::Planner(const FlowSpec& flow, const StepSettings& run_overrides) : graph_(flow) {
  if (!graph_.analyse_splits().empty() || !graph_.start() || !graph_.end()) {
    throw std::invalid_argument("the planner needs a valid flow; validate it first");
  }
  for (const auto& node : graph_.nodes()) {
    const EffectiveSettings settings = effective_settings(flow, *node.step, run_overrides);
    retry_.push_back({settings.retryTimes, settings.retryDelaySeconds});
  }
}

std::vector<PlannedTask> Planner::start() {
  if (!outstanding_.empty() || !succeeded_.empty()) return {};
  return {plan(*graph_.start(), {}, {})};
}

PlannedTask& Planner::plan(StepIndex step, SplitPath path, std::vector<ParentGroup> parents) {
  PlannedTask task;
  task.id = task_id(graph_.node(step).step->name, path);
  task.step = step;
  task.path = std::move(path);
  task.parents = std::move(parents);
  auto [entry, inserted] = outstanding_.emplace(task.id, std::move(task));
  (void)inserted;  // planning twice yields the same task: names are deterministic
  return entry->second;
}

ParentGroup Planner::single_parent(StepIndex step, const SplitPath& path) const {
  ParentGroup group;
  group.step = graph_.node(step).step->name;
  group.prefix = path;
  const std::string id = task_id(group.step, path);
  if (auto attempt = nonzero_attempts_.find(id); attempt != nonzero_attempts_.end()) {
    group.attempts[id] = attempt->second;
  }
  return group;
}

std::vector<PlannedTask> Planner::record(const TaskOutcome& outcome) {
  if (phase_ != RunPhase::Running) return {};
  auto found = outstanding_.find(outcome.id);
  if (found == outstanding_.end()) return {};  // unknown, or a repeated report of a success
  PlannedTask& task = found->second;
  if (outcome.final_attempt) {
    task.attempt = outcome.attempt;
  } else if (outcome.attempt != task.attempt) {
    return {};  // a stale report of an earlier attempt
  }

  if (!outcome.succeeded) {
    const RetryPolicy& retry = retry_[task.step];
    if (!outcome.final_attempt && outcome.retryable && task.attempt < retry.times) {
      ++task.attempt;
      task.delay_seconds = retry.delay_seconds;
      return {task};
    }
    phase_ = RunPhase::Failed;
    failure_ = "task " + task.id + " (step '" + graph_.node(task.step).step->name + "') failed";
    if (task.attempt > 0) failure_ += " after " + std::to_string(task.attempt + 1) + " attempts";
    if (!outcome.reason.empty()) failure_ += ": " + outcome.reason;
    return {};
  }

  const PlannedTask finished = std::move(task);
  outstanding_.erase(found);
  succeeded_.insert(finished.id);
  if (finished.attempt != 0) nonzero_attempts_[finished.id] = finished.attempt;
  if (graph_.node(finished.step).is_foreach()) {
    if (!outcome.split_count || *outcome.split_count < 1) {
      phase_ = RunPhase::Failed;
      failure_ = "task " + finished.id + " is a foreach but reported no split count";
      return {};
    }
    split_counts_[finished.id] = *outcome.split_count;
  }
  if (finished.step == *graph_.end()) {
    phase_ = RunPhase::Succeeded;
    return {};
  }
  return children_of(finished, outcome);
}

std::vector<PlannedTask> Planner::children_of(const PlannedTask& task, const TaskOutcome& outcome) {
  std::vector<PlannedTask> ready;
  const GraphNode& node = graph_.node(task.step);
  for (StepIndex child : node.next) {
    const GraphNode& child_node = graph_.node(child);
    if (node.is_foreach()) {
      const std::int64_t count = *outcome.split_count;
      SplitPath path = task.path;
      path.push_back(0);
      for (std::int64_t i = 0; i < count; ++i) {
        path.back() = i;
        PlannedTask& planned = plan(child, path, {single_parent(task.step, task.path)});
        planned.foreach_input = ForeachInput{task.id, node.step->name, task.attempt, i};
        ready.push_back(planned);
      }
      continue;
    }
    if (!child_node.is_join()) {
      ready.push_back(plan(child, task.path, {single_parent(task.step, task.path)}));
      continue;
    }
    // A join waits for every branch of the split it closes (every split, for a foreach).
    const StepIndex split = *child_node.joins;
    const GraphNode& split_node = graph_.node(split);
    SplitPath join_path = task.path;
    std::int64_t expected = static_cast<std::int64_t>(child_node.previous.size());
    if (split_node.is_foreach()) {
      join_path.pop_back();
      expected = split_counts_.at(task_id(split_node.step->name, join_path));
    }
    const std::string join_id = task_id(child_node.step->name, join_path);
    auto [waiting, inserted] = join_waiting_.emplace(join_id, expected);
    (void)inserted;
    if (--waiting->second > 0) continue;
    join_waiting_.erase(waiting);
    std::vector<ParentGroup> parents;
    if (split_node.is_foreach()) {
      ParentGroup group;
      group.step = node.step->name;
      group.prefix = join_path;
      group.splits = expected;
      // Parents are `<step>.<prefix>.<i>`; retried ones carry their attempt.
      const std::string stem = task_id(group.step, join_path) + ".";
      for (const auto& [id, attempt] : nonzero_attempts_) {
        if (id.rfind(stem, 0) == 0 && id.find('.', stem.size()) == std::string::npos) {
          group.attempts[id] = attempt;
        }
      }
      parents.push_back(std::move(group));
    } else {
      for (StepIndex parent : child_node.previous) {
        parents.push_back(single_parent(parent, join_path));
      }
    }
    ready.push_back(plan(child, join_path, std::move(parents)));
  }
  return ready;
}

std::vector<PlannedTask> Planner::restore(const std::vector<TaskOutcome>& succeeded) {
  std::unordered_map<std::string, const TaskOutcome*> done;
  for (const auto& outcome : succeeded) {
    if (outcome.succeeded) done[outcome.id] = &outcome;
  }
  // Replay the run: a task that finished before is recorded as soon as it becomes ready again,
  // which releases its children in turn. Every task is visited once.
  std::vector<PlannedTask> frontier = start();
  std::vector<PlannedTask> ready;
  while (!frontier.empty()) {
    PlannedTask task = std::move(frontier.back());
    frontier.pop_back();
    auto previous = done.find(task.id);
    if (previous == done.end()) {
      ready.push_back(std::move(task));
      continue;
    }
    TaskOutcome outcome = *previous->second;
    outstanding_.at(task.id).attempt = outcome.attempt;
    for (auto& child : record(outcome)) frontier.push_back(std::move(child));
  }
  std::reverse(ready.begin(), ready.end());
  return ready;
}

}  // namespace podflow::flow
