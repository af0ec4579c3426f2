#include "pod/index_set.hpp"

#include <charconv>

namespace podflow::pod {

bool IndexSet::contains(std::int64_t index) const {
  auto after = intervals_.upper_bound(index);
  if (after == intervals_.begin()) return false;
  return std::prev(after)->second >= index;
}

void IndexSet::insert(std::int64_t index) {
  if (contains(index)) return;
  ++size_;
  auto after = intervals_.upper_bound(index);
  // Join the interval ending just before it, and the one starting just after it.
  if (after != intervals_.begin()) {
    auto before = std::prev(after);
    if (before->second + 1 == index) {
      before->second = index;
      if (after != intervals_.end() && after->first == index + 1) {
        before->second = after->second;
        intervals_.erase(after);
      }
      return;
    }
  }
  if (after != intervals_.end() && after->first == index + 1) {
    const std::int64_t last = after->second;
    intervals_.erase(after);
    intervals_.emplace(index, last);
    return;
  }
  intervals_.emplace(index, index);
}

void IndexSet::erase(std::int64_t index) {
  if (!contains(index)) return;
  --size_;
  auto interval = std::prev(intervals_.upper_bound(index));
  const std::int64_t first = interval->first, last = interval->second;
  intervals_.erase(interval);
  if (first < index) intervals_.emplace(first, index - 1);
  if (index < last) intervals_.emplace(index + 1, last);
}

std::string IndexSet::to_string() const {
  std::string text;
  for (const auto& [first, last] : intervals_) {
    if (!text.empty()) text += ',';
    text += std::to_string(first);
    if (last != first) text += '-' + std::to_string(last);
  }
  return text;
}

std::optional<IndexSet> IndexSet::parse(std::string_view text) {
  IndexSet set;
  std::int64_t previous_last = -2;
  const auto number = [](std::string_view part, std::int64_t& value) {
    if (part.empty()) return false;
    const auto [end, error] = std::from_chars(part.data(), part.data() + part.size(), value);
    return error == std::errc() && end == part.data() + part.size() && value >= 0;
  };
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view part = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (comma != std::string_view::npos && text.empty()) return std::nullopt;  // "1,"
    std::int64_t first = 0, last = 0;
    const auto dash = part.find('-');
    if (dash == std::string_view::npos) {
      if (!number(part, first)) return std::nullopt;
      last = first;
    } else if (!number(part.substr(0, dash), first) || !number(part.substr(dash + 1), last) ||
               last < first) {
      return std::nullopt;
    }
    if (first <= previous_last + 1) return std::nullopt;  // unsorted, overlapping or adjacent
    set.intervals_.emplace(first, last);
    set.size_ += last - first + 1;
    previous_last = last;
  }
  return set;
}

}  // namespace podflow::pod
