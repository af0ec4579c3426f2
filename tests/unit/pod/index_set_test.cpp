#include "pod/index_set.hpp"

#include <doctest/doctest.h>

#include <random>
#include <set>

using podflow::pod::IndexSet;

TEST_CASE("an index set is written as intervals and read back") {
  IndexSet set;
  CHECK(set.to_string().empty());
  for (int index : {5, 0, 1, 3, 2, 9, 7, 8}) set.insert(index);
  CHECK(set.to_string() == "0-3,5,7-9");
  CHECK(set.size() == 8);
  set.erase(8);
  set.erase(0);
  set.erase(42);
  CHECK(set.to_string() == "1-3,5,7,9");
  CHECK(set.size() == 6);
  const auto parsed = IndexSet::parse(set.to_string());
  REQUIRE(parsed);
  CHECK(*parsed == set);
  CHECK(parsed->size() == 6);
}

TEST_CASE("a random sequence of inserts and erases matches std::set") {
  std::mt19937 random(7);
  IndexSet set;
  std::set<std::int64_t> expected;
  for (int step = 0; step < 20000; ++step) {
    const std::int64_t index = random() % 300;
    if (random() % 3 == 0) {
      set.erase(index);
      expected.erase(index);
    } else {
      set.insert(index);
      expected.insert(index);
    }
  }
  std::set<std::int64_t> seen;
  set.for_each([&](std::int64_t index) { seen.insert(index); });
  CHECK(seen == expected);
  CHECK(set.size() == static_cast<std::int64_t>(expected.size()));
  for (std::int64_t index = 0; index < 300; ++index) {
    CHECK(set.contains(index) == (expected.count(index) == 1));
  }
  CHECK(*IndexSet::parse(set.to_string()) == set);
}

TEST_CASE("a wide foreach is one interval") {
  IndexSet set;
  for (std::int64_t index = 99999; index >= 0; --index) set.insert(index);
  CHECK(set.to_string() == "0-99999");
}

TEST_CASE("text that is not an index list is refused") {
  for (const char* text : {"-1", "1-", "3-1", "1,", ",1", "a", "1,1", "2,1", "1-3,3", "1-2,3"}) {
    CAPTURE(text);
    CHECK_FALSE(IndexSet::parse(text));
  }
  CHECK(IndexSet::parse("")->empty());
}
