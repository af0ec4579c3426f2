#include "runtime/task_spec.hpp"

#include <cmath>
#include <set>

#include <nlohmann/json.hpp>

#include "flow/names.hpp"

namespace podflow::runtime {
namespace {

using nlohmann::json;

[[noreturn]] void fail(const std::string& field, const std::string& problem) {
  throw TaskSpecError("task spec: field '" + field + "' " + problem);
}

std::string join_path(const std::string& parent, const std::string& field) {
  return parent.empty() ? field : parent + "." + field;
}

std::string element_path(const std::string& parent, std::size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

// Reads an object's fields, refusing any it was not asked about.
class FieldReader {
 public:
  FieldReader(const json& object, std::string path) : object_(object), path_(std::move(path)) {
    if (!object_.is_object()) {
      if (path_.empty()) throw TaskSpecError("task spec: not a JSON object");
      fail(path_, "must be an object");
    }
  }

  const json* optional(const std::string& field) {
    known_.insert(field);
    const auto found = object_.find(field);
    return found == object_.end() || found->is_null() ? nullptr : &*found;
  }

  const json& required(const std::string& field) {
    const json* value = optional(field);
    if (value == nullptr) fail(where(field), "is required");
    return *value;
  }

  std::string where(const std::string& field) const { return join_path(path_, field); }

  // Call last: refuses the fields nobody read.
  void refuse_unknown() const {
    for (const auto& [field, value] : object_.items()) {
      if (!known_.contains(field)) {
        throw TaskSpecError("task spec: unknown field '" + where(field) + "'");
      }
    }
  }

 private:
  const json& object_;
  std::string path_;
  std::set<std::string> known_;
};

std::string as_string(const json& value, const std::string& where) {
  if (!value.is_string()) fail(where, "must be a string");
  return value.get<std::string>();
}

std::string as_nonempty_string(const json& value, const std::string& where) {
  std::string text = as_string(value, where);
  if (text.empty()) fail(where, "must not be empty");
  return text;
}

std::int64_t as_integer(const json& value, const std::string& where, std::int64_t minimum,
                        const std::string& kind) {
  if (!value.is_number_integer() || value.get<std::int64_t>() < minimum ||
      (value.is_number_unsigned() && value.get<std::uint64_t>() > INT64_MAX)) {
    fail(where, "must be " + kind);
  }
  return value.get<std::int64_t>();
}

std::int64_t as_count(const json& value, const std::string& where) {
  return as_integer(value, where, 0, "a non-negative integer");
}

std::int64_t as_positive(const json& value, const std::string& where) {
  return as_integer(value, where, 1, "a positive integer");
}

bool as_bool(const json& value, const std::string& where) {
  if (!value.is_boolean()) fail(where, "must be true or false");
  return value.get<bool>();
}

std::vector<std::int64_t> as_indices(const json& value, const std::string& where) {
  if (!value.is_array()) fail(where, "must be a list of non-negative integers");
  std::vector<std::int64_t> indices;
  for (std::size_t i = 0; i < value.size(); ++i) {
    indices.push_back(as_count(value[i], element_path(where, i)));
  }
  return indices;
}

// Names that become one path component in the datastore: run ids and task ids.
std::string as_path_component(const json& value, const std::string& where) {
  std::string text = as_nonempty_string(value, where);
  const bool safe = text.size() <= 253 && text.front() != '.' &&
                    text.find_first_not_of(
                        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789._-") == std::string::npos;
  if (!safe) fail(where, "must be letters, digits, '.', '_' or '-', not starting with '.'");
  return text;
}

std::string as_step_name(const json& value, const std::string& where) {
  std::string text = as_nonempty_string(value, where);
  if (!flow::is_identifier(text)) fail(where, "must be a step name ([a-z][a-z0-9_]*)");
  return text;
}

// types: for parameters, each entry's optional "type" goes there
std::vector<NamedValue> as_named_values(const json& value, const std::string& where,
                                        bool parameters,
                                        std::map<std::string, std::string>* types = nullptr) {
  if (!value.is_array()) fail(where, "must be a list of {name, value}");
  std::vector<NamedValue> values;
  for (std::size_t i = 0; i < value.size(); ++i) {
    FieldReader entry(value[i], element_path(where, i));
    NamedValue named{as_nonempty_string(entry.required("name"), entry.where("name")),
                     as_string(entry.required("value"), entry.where("value"))};
    if (parameters && types) {
      if (const json* type = entry.optional("type")) {
        std::string text = as_nonempty_string(*type, entry.where("type"));
        if (text != "string" && text != "integer" && text != "number" && text != "boolean" &&
            text != "json") {
          fail(entry.where("type"), "must be string, integer, number, boolean or json");
        }
        (*types)[named.name] = std::move(text);
      }
    }
    entry.refuse_unknown();
    if (parameters ? !flow::is_identifier(named.name) : !flow::is_env_name(named.name)) {
      fail(entry.where("name"), parameters ? "must be a parameter name ([a-z][a-z0-9_]*)"
                                           : "must be an environment variable name");
    }
    if (!parameters && named.name.starts_with("PODFLOW_")) {
      fail(entry.where("name"), "'" + named.name + "': names starting with PODFLOW_ are reserved");
    }
    if (named.value.find('\0') != std::string::npos) fail(entry.where("value"), "holds a NUL");
    values.push_back(std::move(named));
  }
  return values;
}

flow::ParentGroup as_parent_group(const json& value, const std::string& where) {
  FieldReader reader(value, where);
  flow::ParentGroup group;
  group.step = as_step_name(reader.required("step"), reader.where("step"));
  if (const json* prefix = reader.optional("prefix")) {
    group.prefix = as_indices(*prefix, reader.where("prefix"));
  }
  if (const json* splits = reader.optional("splits")) {
    group.splits = as_positive(*splits, reader.where("splits"));
  }
  if (const json* attempts = reader.optional("attempts")) {
    if (!attempts->is_object()) fail(reader.where("attempts"), "must map task ids to attempts");
    for (const auto& [task, attempt] : attempts->items()) {
      const std::string at = reader.where("attempts") + "." + task;
      as_path_component(json(task), at);
      group.attempts[task] = as_count(attempt, at);
    }
  }
  reader.refuse_unknown();
  return group;
}

}  // namespace

TaskSpec task_spec_from_json(std::string_view text) {
  const json document = json::parse(text, nullptr, false);
  if (document.is_discarded()) throw TaskSpecError("task spec: not valid JSON");
  FieldReader reader(document, "");
  TaskSpec spec;
  spec.datastore = as_nonempty_string(reader.required("datastore"), "datastore");
  spec.flow = as_nonempty_string(reader.required("flow"), "flow");
  if (!flow::is_dns_label(spec.flow)) fail("flow", "must be a flow name (a DNS label)");
  spec.run = as_path_component(reader.required("run"), "run");
  spec.step = as_step_name(reader.required("step"), "step");
  spec.task = as_path_component(reader.required("task"), "task");
  spec.attempt = as_count(reader.required("attempt"), "attempt");
  if (const json* path = reader.optional("splitPath")) {
    spec.splitPath = as_indices(*path, "splitPath");
  }
  const json& command = reader.required("command");
  if (!command.is_array() || command.empty()) fail("command", "must be a non-empty list");
  for (std::size_t i = 0; i < command.size(); ++i) {
    spec.command.push_back(as_string(command[i], element_path("command", i)));
    if (spec.command.back().find('\0') != std::string::npos) {
      fail(element_path("command", i), "holds a NUL");
    }
  }
  if (spec.command.front().empty()) fail("command[0]", "must name a program");
  if (const json* directory = reader.optional("workingDir")) {
    spec.workingDir = as_nonempty_string(*directory, "workingDir");
  }
  if (const json* env = reader.optional("env")) spec.env = as_named_values(*env, "env", false);
  if (const json* parameters = reader.optional("parameters")) {
    spec.parameters = as_named_values(*parameters, "parameters", true, &spec.parameterTypes);
  }
  if (const json* cpu = reader.optional("cpu")) {
    if (!cpu->is_number() || !std::isfinite(cpu->get<double>()) || cpu->get<double>() <= 0) {
      fail("cpu", "must be a positive number");
    }
    spec.cpu = cpu->get<double>();
  }
  if (const json* timeout = reader.optional("timeoutSeconds")) {
    spec.timeoutSeconds = as_positive(*timeout, "timeoutSeconds");
  }
  if (const json* grace = reader.optional("graceSeconds")) {
    spec.graceSeconds = as_count(*grace, "graceSeconds");
  }
  if (const json* join = reader.optional("join")) spec.join = as_bool(*join, "join");
  if (const json* parents = reader.optional("parents")) {
    if (!parents->is_array()) fail("parents", "must be a list of parent groups");
    for (std::size_t i = 0; i < parents->size(); ++i) {
      spec.parents.push_back(as_parent_group((*parents)[i], element_path("parents", i)));
    }
  }
  if (const json* input = reader.optional("foreachInput")) {
    FieldReader entry(*input, "foreachInput");
    flow::ForeachInput foreach_input;
    foreach_input.task = as_path_component(entry.required("task"), entry.where("task"));
    foreach_input.step = as_step_name(entry.required("step"), entry.where("step"));
    foreach_input.attempt = as_count(entry.required("attempt"), entry.where("attempt"));
    foreach_input.index = as_count(entry.required("index"), entry.where("index"));
    entry.refuse_unknown();
    spec.foreachInput = foreach_input;
  }
  if (const json* foreach = reader.optional("foreach")) {
    FieldReader entry(*foreach, "foreach");
    ForeachSpec foreach_spec;
    foreach_spec.artifact = as_nonempty_string(entry.required("artifact"), entry.where("artifact"));
    if (const json* maximum = entry.optional("maxNumSplits")) {
      foreach_spec.maxNumSplits = as_positive(*maximum, entry.where("maxNumSplits"));
    }
    entry.refuse_unknown();
    spec.foreach = foreach_spec;
  }
  spec.workDir = as_nonempty_string(reader.required("workDir"), "workDir");
  if (spec.workDir.front() != '/') fail("workDir", "must be an absolute path");
  reader.refuse_unknown();

  std::int64_t parent_count = 0;
  for (const auto& group : spec.parents) parent_count += group.splits.value_or(1);
  if (!spec.join && parent_count > 1) {
    fail("parents", "names " + std::to_string(parent_count) +
                        " parent tasks, but a step that is not a join has at most one");
  }
  if (spec.join && parent_count == 0) fail("parents", "is empty, but a join needs parent tasks");
  return spec;
}

std::string task_spec_to_json(const TaskSpec& spec) {
  auto named = [](const std::vector<NamedValue>& values) {
    json list = json::array();
    for (const auto& value : values) list.push_back({{"name", value.name}, {"value", value.value}});
    return list;
  };
  json parameters = named(spec.parameters);
  for (auto& entry : parameters) {
    const auto type = spec.parameterTypes.find(entry["name"].get<std::string>());
    if (type != spec.parameterTypes.end()) entry["type"] = type->second;
  }
  json parents = json::array();
  for (const auto& group : spec.parents) {
    json entry = {{"step", group.step}, {"prefix", group.prefix}};
    if (group.splits) entry["splits"] = *group.splits;
    if (!group.attempts.empty()) entry["attempts"] = group.attempts;
    parents.push_back(std::move(entry));
  }
  json document = {{"datastore", spec.datastore},
                   {"flow", spec.flow},
                   {"run", spec.run},
                   {"step", spec.step},
                   {"task", spec.task},
                   {"attempt", spec.attempt},
                   {"splitPath", spec.splitPath},
                   {"command", spec.command},
                   {"env", named(spec.env)},
                   {"parameters", std::move(parameters)},
                   {"cpu", spec.cpu},
                   {"timeoutSeconds", spec.timeoutSeconds},
                   {"graceSeconds", spec.graceSeconds},
                   {"join", spec.join},
                   {"parents", std::move(parents)},
                   {"workDir", spec.workDir}};
  if (spec.workingDir) document["workingDir"] = *spec.workingDir;
  if (spec.foreachInput) {
    document["foreachInput"] = {{"task", spec.foreachInput->task},
                                {"step", spec.foreachInput->step},
                                {"attempt", spec.foreachInput->attempt},
                                {"index", spec.foreachInput->index}};
  }
  if (spec.foreach) {
    document["foreach"] = {{"artifact", spec.foreach->artifact},
                           {"maxNumSplits", spec.foreach->maxNumSplits}};
  }
  return document.dump();
}

std::vector<ParentTask> parent_tasks(const TaskSpec& spec) {
  std::vector<ParentTask> tasks;
  for (const auto& group : spec.parents) {
    for (auto& id : group.task_ids()) {
      const auto attempt = group.attempts.find(id);
      tasks.push_back({group.step, id, attempt == group.attempts.end() ? 0 : attempt->second});
    }
  }
  return tasks;
}

TaskSpec make_task_spec(const flow::FlowSpec& flow, const flow::FlowGraph& graph,
                        const flow::PlannedTask& task, const RunContext& context) {
  const flow::GraphNode& node = graph.node(task.step);
  const auto settings = flow::effective_settings(flow, *node.step, context.overrides);
  TaskSpec spec;
  spec.datastore = context.datastore;
  spec.flow = flow.name;
  spec.run = context.run;
  spec.step = node.step->name;
  spec.task = task.id;
  spec.attempt = task.attempt;
  spec.splitPath = task.path;
  spec.command = node.step->command;
  spec.workingDir = context.workingDir;
  for (const auto& var : settings.env) spec.env.push_back({var.name, var.value});
  spec.parameters = context.parameters;
  for (const auto& parameter : flow.parameters)
    spec.parameterTypes[parameter.name] = parameter.type;
  spec.cpu = settings.cpu.value;
  spec.timeoutSeconds = settings.timeoutSeconds;
  spec.graceSeconds = context.graceSeconds;
  spec.join = node.is_join();
  spec.parents = task.parents;
  spec.foreachInput = task.foreach_input;
  if (node.step->foreach) spec.foreach = ForeachSpec{*node.step->foreach, context.maxNumSplits};
  return spec;
}

}  // namespace podflow::runtime
