#include "runtime/foreach_list.hpp"

#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

namespace podflow::runtime {
namespace {

constexpr std::size_t kChunkSize = 1 << 20;

bool is_json_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

void append_little_endian(std::string& out, std::uint64_t value) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

std::uint64_t read_little_endian(const std::string& bytes, std::size_t at) {
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) {
    value = (value << 8) | static_cast<unsigned char>(bytes[at + static_cast<std::size_t>(i)]);
  }
  return value;
}

// Validates without building a document: constant memory, whatever the list's size.
class ValidatingSax : public nlohmann::json_sax<nlohmann::json> {
 public:
  std::string error;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&,
                   const nlohmann::detail::exception& exception) override {
    error = exception.what();
    return false;
  }
};

std::string quoted(const std::string& artifact) {
  return "foreach artifact '" + artifact + "'";
}

}  // namespace

ForeachList index_foreach_list(const std::filesystem::path& file, const std::string& artifact,
                               std::int64_t max_num_splits) {
  std::ifstream stream(file, std::ios::binary);
  if (!stream) throw std::runtime_error("cannot read " + file.string());

  // 1. What it starts with: the clearest message for the commonest mistakes.
  char first = 0;
  while (stream.get(first) && is_json_space(first)) {
  }
  if (!stream) {
    throw ForeachListError(quoted(artifact) +
                           " is empty; a foreach needs a JSON array with at least one item");
  }
  if (first != '[') {
    const std::string shown = (first >= 0x20 && first < 0x7f) ? std::string(1, first) : "?";
    throw ForeachListError(quoted(artifact) + " is not a JSON array (it starts with '" + shown +
                           "')");
  }

  // 2. Valid JSON, all of it.
  stream.clear();
  stream.seekg(0);
  ValidatingSax validator;
  if (!nlohmann::json::sax_parse(stream, &validator)) {
    throw ForeachListError(quoted(artifact) + " is not valid JSON: " + validator.error);
  }

  // 3. The byte range of each top-level element. The text is valid JSON, so tracking strings,
  // escapes and nesting depth is enough.
  stream.clear();
  stream.seekg(0);
  ForeachList list;
  std::uint64_t position = 0, element_start = 0, last_end = 0;
  bool in_element = false, in_string = false, escaped = false, done = false;
  int depth = 0;
  auto finish_element = [&] {
    if (in_element) {
      ++list.count;
      if (list.count <= static_cast<std::uint64_t>(max_num_splits)) {
        append_little_endian(list.index, element_start);
        append_little_endian(list.index, last_end - element_start);
      }
    }
    in_element = false;
  };
  std::vector<char> buffer(kChunkSize);
  while (!done && stream) {
    stream.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    const auto got = static_cast<std::size_t>(stream.gcount());
    for (std::size_t i = 0; i < got && !done; ++i, ++position) {
      const char c = buffer[i];
      if (in_string) {
        if (escaped) {
          escaped = false;
        } else if (c == '\\') {
          escaped = true;
        } else if (c == '"') {
          in_string = false;
          last_end = position + 1;
        }
        continue;
      }
      if (is_json_space(c)) continue;
      if (depth == 1 && !in_element && c != ']' && c != ',') {
        in_element = true;
        element_start = position;
      }
      switch (c) {
        case '"':
          in_string = true;
          break;
        case '[':
        case '{':
          ++depth;
          break;
        case ']':
        case '}':
          --depth;
          if (depth == 0) {
            finish_element();
            done = true;
          }
          break;
        case ',':
          if (depth == 1) finish_element();
          break;
        default:
          break;
      }
      if (c != '"') last_end = position + 1;
    }
  }

  if (list.count == 0) {
    throw ForeachListError(quoted(artifact) +
                           " is an empty list; a foreach needs at least one item");
  }
  if (list.count > static_cast<std::uint64_t>(max_num_splits)) {
    throw ForeachListError(quoted(artifact) + " has " + std::to_string(list.count) +
                           " items, more than max-num-splits " + std::to_string(max_num_splits) +
                           "; raise it with --max-num-splits " + std::to_string(list.count) +
                           " (or maxNumSplits on the FlowRun)");
  }
  return list;
}

std::string read_foreach_item(datastore::Datastore& store, const datastore::Manifest& manifest,
                              std::uint64_t index) {
  const std::string task = manifest.id.flow + "/" + manifest.id.run + "/" + manifest.id.task;
  if (!manifest.foreach) {
    throw std::runtime_error("task " + task + " is not a foreach: its manifest has no list");
  }
  const auto& foreach = *manifest.foreach;
  if (index >= foreach.count) {
    throw std::runtime_error("split " + std::to_string(index) + " does not exist: task " + task +
                             " has " + std::to_string(foreach.count) + " splits");
  }
  const auto list = manifest.artifacts.find(foreach.artifact);
  if (list == manifest.artifacts.end()) {
    throw std::runtime_error("task " + task + " lists no artifact '" + foreach.artifact + "'");
  }
  const std::string entry = store.read_blob_range(manifest.id.flow, foreach.index,
                                                  index * datastore::kForeachIndexEntrySize,
                                                  datastore::kForeachIndexEntrySize);
  if (entry.size() != datastore::kForeachIndexEntrySize) {
    throw std::runtime_error("the foreach index of task " + task + " is truncated");
  }
  const std::uint64_t offset = read_little_endian(entry, 0);
  const std::uint64_t length = read_little_endian(entry, 8);
  if (offset + length > list->second.size) {
    throw std::runtime_error("the foreach index of task " + task + " points past its list");
  }
  std::string item = store.read_blob_range(manifest.id.flow, list->second.sha256, offset, length);
  if (item.size() != length) {
    throw std::runtime_error("the foreach list of task " + task + " is truncated");
  }
  return item;
}

}  // namespace podflow::runtime
