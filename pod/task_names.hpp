// Kubernetes names for podflow's objects: the Task (and its Pod) of one planned task, and label
// values that always pass the API server's validation.
#pragma once

#include <string>
#include <string_view>

namespace podflow::pod {

inline constexpr std::size_t kMaxObjectName = 253;  // a DNS subdomain
inline constexpr std::size_t kMaxLabelValue = 63;

// `<flowrun>.<task id with '_' written '-'>`: FlowRun `bigsum`, task `train_model.1.3` ->
// `bigsum.train-model.1.3` (docs/api.md). Step names are lowercase identifiers, so the mapping
// keeps distinct tasks distinct. Throws std::invalid_argument naming the name and what to change
// when the result is longer than 253 characters or not a DNS subdomain.
std::string task_object_name(std::string_view flowrun, std::string_view task_id);

// True when `value` is a valid label value: at most 63 characters of [A-Za-z0-9._-], starting
// and ending with a letter or digit (or empty).
bool is_label_value(std::string_view value);

// `value` itself when it is a valid label value; otherwise its valid characters (others written
// '-'), cut so that '-' and the first 10 hex digits of its SHA-256 fit in 63: distinct inputs
// stay distinct, and the label still reads like the value.
std::string label_value(std::string_view value);

}  // namespace podflow::pod
