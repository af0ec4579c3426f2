#include "pod/task_names.hpp"

#include <openssl/evp.h>

#include <array>
#include <stdexcept>

namespace podflow::pod {
namespace {

constexpr std::size_t kHashDigits = 10;

bool is_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_label_char(char c) {
  return is_alnum(c) || c == '-' || c == '_' || c == '.';
}

std::string sha256_prefix(std::string_view bytes) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  if (EVP_Digest(bytes.data(), bytes.size(), digest.data(), &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("label_value: OpenSSL could not compute a SHA-256");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  for (unsigned int i = 0; i < length && hex.size() < kHashDigits; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xF];
  }
  return hex.substr(0, kHashDigits);
}

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// The API server's rule for object names (IsDNS1123Subdomain): dot-separated parts of [a-z0-9-]
// that start and end with a letter or digit, at most 253 in all. Unlike a hostname, a part may be
// longer than 63, so flow::is_dns_subdomain would refuse valid FlowRun names.
bool is_object_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxObjectName) return false;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = name.find('.', start);
    const std::string_view part =
        name.substr(start, dot == std::string_view::npos ? name.npos : dot - start);
    if (part.empty() || !is_lower_alnum(part.front()) || !is_lower_alnum(part.back())) return false;
    for (char c : part) {
      if (!is_lower_alnum(c) && c != '-') return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

}  // namespace

std::string task_object_name(std::string_view flowrun, std::string_view task_id) {
  std::string name(flowrun);
  name += '.';
  for (char c : task_id) name += c == '_' ? '-' : c;
  if (name.size() > kMaxObjectName) {
    const std::size_t room =
        task_id.size() + 1 < kMaxObjectName ? kMaxObjectName - task_id.size() - 1 : 0;
    throw std::invalid_argument(
        "Task name '" + name + "' is " + std::to_string(name.size()) +
        " characters, more than Kubernetes' limit of " + std::to_string(kMaxObjectName) +
        " for object names; use a shorter FlowRun name (at most " + std::to_string(room) +
        " characters for task '" + std::string(task_id) + "')");
  }
  if (!is_object_name(name)) {
    const bool run_ok = is_object_name(flowrun);
    throw std::invalid_argument(
        "Task name '" + name +
        "' is not a valid Kubernetes object name (a DNS subdomain: lowercase letters, digits, "
        "'-' and '.', each part between dots starting and ending with a letter or digit); " +
        (run_ok ? "rename the step of task '" + std::string(task_id) +
                      "' so that it does not end with '_'"
                : "use a FlowRun name of that form"));
  }
  return name;
}

bool is_label_value(std::string_view value) {
  if (value.empty()) return true;
  if (value.size() > kMaxLabelValue) return false;
  if (!is_alnum(value.front()) || !is_alnum(value.back())) return false;
  for (char c : value) {
    if (!is_label_char(c)) return false;
  }
  return true;
}

std::string label_value(std::string_view value) {
  if (is_label_value(value)) return std::string(value);
  const std::string hash = sha256_prefix(value);
  // Room for the readable part: 63 minus '-' and the hash.
  const std::size_t room = kMaxLabelValue - kHashDigits - 1;
  std::string readable;
  for (char c : value) {
    if (readable.size() == room) break;
    readable += is_label_char(c) ? c : '-';
  }
  std::size_t begin = 0;
  while (begin < readable.size() && !is_alnum(readable[begin])) ++begin;
  std::size_t end = readable.size();
  while (end > begin && !is_alnum(readable[end - 1])) --end;
  readable = readable.substr(begin, end - begin);
  return readable.empty() ? hash : readable + "-" + hash;
}

}  // namespace podflow::pod
