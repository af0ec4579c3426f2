// A set of member indexes kept as sorted, disjoint intervals, written as the Indexed Job writes
// completedIndexes: "0-3,5,7-9". A foreach of 100,000 members that all succeeded is "0-99999":
// the Task's status stays small however wide the foreach is.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace podflow::pod {

class IndexSet {
 public:
  void insert(std::int64_t index);
  void erase(std::int64_t index);
  bool contains(std::int64_t index) const;
  std::int64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // Calls f(index) for every index in ascending order.
  template <typename F>
  void for_each(F&& f) const {
    for (const auto& [first, last] : intervals_) {
      for (std::int64_t index = first; index <= last; ++index) f(index);
    }
  }

  // "0-3,5,7-9"; "" for the empty set.
  std::string to_string() const;
  // The inverse of to_string; nullopt for text that is not such a list (negative numbers,
  // overlapping or unsorted intervals included: the operator wrote it, so it is never those).
  static std::optional<IndexSet> parse(std::string_view text);

  bool operator==(const IndexSet& other) const { return intervals_ == other.intervals_; }

 private:
  std::map<std::int64_t, std::int64_t> intervals_;  // first -> last, disjoint, not adjacent
  std::int64_t size_ = 0;
};

}  // namespace podflow::pod
