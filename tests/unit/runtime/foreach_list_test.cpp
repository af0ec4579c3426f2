#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "runtime/foreach_list.hpp"
#include "tests/unit/datastore/file_text.hpp"
#include "tests/unit/datastore/scratch_directory.hpp"

using podflow::runtime::ForeachListError;
using podflow::runtime::index_foreach_list;
using podflow::testing::ScratchDirectory;

namespace {

// The elements the index points at, as text.
std::vector<std::string> indexed_elements(const std::string& text) {
  ScratchDirectory scratch;
  podflow::testing::write_file(scratch / "list", text);
  const auto list = index_foreach_list(scratch / "list", "items", 100);
  REQUIRE(list.index.size() == list.count * 16);
  std::vector<std::string> elements;
  for (std::uint64_t i = 0; i < list.count; ++i) {
    std::uint64_t offset = 0, length = 0;
    for (int b = 7; b >= 0; --b) {
      offset = (offset << 8) | static_cast<unsigned char>(list.index[i * 16 + b]);
      length = (length << 8) | static_cast<unsigned char>(list.index[i * 16 + 8 + b]);
    }
    elements.push_back(text.substr(offset, length));
  }
  return elements;
}

std::string refusal(const std::string& text, std::int64_t max_num_splits = 100) {
  ScratchDirectory scratch;
  podflow::testing::write_file(scratch / "list", text);
  try {
    index_foreach_list(scratch / "list", "items", max_num_splits);
  } catch (const ForeachListError& error) {
    return error.what();
  }
  return "accepted";
}

}  // namespace

TEST_CASE("foreach index: each element's exact bytes, whatever is inside strings") {
  const std::string text =
      " [1, \"a,b]\" ,{\"k\": \"}{,\", \"n\": [1, [2]]},[[]], \"q\\\"\\\\\" ,null, -2.5e3, "
      "\"\xc3\xbc\", true ]\n";
  const auto elements = indexed_elements(text);
  REQUIRE(elements.size() == 9);
  CHECK(elements[0] == "1");
  CHECK(elements[1] == "\"a,b]\"");
  CHECK(elements[2] == "{\"k\": \"}{,\", \"n\": [1, [2]]}");
  CHECK(elements[3] == "[[]]");
  CHECK(elements[4] == "\"q\\\"\\\\\"");
  CHECK(elements[5] == "null");
  CHECK(elements[6] == "-2.5e3");
  CHECK(elements[7] == "\"\xc3\xbc\"");
  CHECK(elements[8] == "true");
  for (const auto& element : elements) CHECK(nlohmann::json::accept(element));
}

TEST_CASE("foreach index: a list larger than one read chunk") {
  std::string text = "[";
  for (int i = 0; i < 100; ++i) text += (i ? "," : "") + ("\"" + std::string(20000, 'x') + "\"");
  text += "]";
  const auto elements = indexed_elements(text);
  CHECK(elements.size() == 100);
  CHECK(elements[99].size() == 20002);
}

TEST_CASE("foreach index: unusable lists fail with a message naming the artifact") {
  CHECK(refusal("[]") ==
        "foreach artifact 'items' is an empty list; a foreach needs at least one item");
  CHECK(refusal(" [ \n ] ") ==
        "foreach artifact 'items' is an empty list; a foreach needs at least one item");
  CHECK(refusal("{\"a\": 1}") ==
        "foreach artifact 'items' is not a JSON array (it starts with '{')");
  CHECK(refusal("3") == "foreach artifact 'items' is not a JSON array (it starts with '3')");
  CHECK(refusal("") ==
        "foreach artifact 'items' is empty; a foreach needs a JSON array with at least one item");
  CHECK(refusal("[1, 2,]").starts_with("foreach artifact 'items' is not valid JSON: "));
  CHECK(refusal("[1, 2] trailing").starts_with("foreach artifact 'items' is not valid JSON: "));
  std::string many = "[0";
  for (int i = 1; i < 101; ++i) many += "," + std::to_string(i);
  many += "]";
  CHECK(refusal(many) ==
        "foreach artifact 'items' has 101 items, more than max-num-splits 100; raise it with "
        "--max-num-splits 101 (or maxNumSplits on the FlowRun)");
  CHECK(refusal(many, 101) == "accepted");
}
