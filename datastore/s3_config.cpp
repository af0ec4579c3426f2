#include "datastore/s3_config.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "datastore/store_error.hpp"

namespace podflow::datastore {
namespace {

constexpr std::string_view kUrlHelp =
    "an S3 datastore looks like s3://bucket or s3://bucket/prefix";

// Bucket naming rules (the ones that matter for addressing): 3-63 characters of a-z 0-9 . -,
// starting and ending with a letter or digit.
bool is_valid_bucket(const std::string& bucket) {
  if (bucket.size() < 3 || bucket.size() > 63) return false;
  const auto allowed = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
  };
  const auto edge = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  return std::all_of(bucket.begin(), bucket.end(), allowed) && edge(bucket.front()) &&
         edge(bucket.back());
}

std::optional<std::string> non_empty(const EnvironmentLookup& environment, const char* name) {
  auto value = environment(name);
  if (value && value->empty()) return std::nullopt;
  return value;
}

double positive_number(const EnvironmentLookup& environment, const char* name, double fallback) {
  const auto text = non_empty(environment, name);
  if (!text) return fallback;
  try {
    std::size_t used = 0;
    const double value = std::stod(*text, &used);
    if (used == text->size() && value > 0) return value;
  } catch (const std::exception&) {
  }
  throw StoreError(std::string("invalid ") + name + "='" + *text + "': expected a positive number");
}

}  // namespace

S3Location parse_s3_url(const std::string& url) {
  constexpr std::string_view kScheme = "s3://";
  if (!url.starts_with(kScheme)) {
    throw StoreError("invalid S3 datastore '" + url + "': " + std::string(kUrlHelp));
  }
  std::string rest = url.substr(kScheme.size());
  const auto slash = rest.find('/');
  S3Location location{rest.substr(0, slash), slash == std::string::npos ? "" : rest.substr(slash)};
  if (!is_valid_bucket(location.bucket)) {
    throw StoreError("invalid S3 datastore '" + url + "': '" + location.bucket +
                     "' is not a bucket name (3-63 characters: a-z, 0-9, '.', '-'); " +
                     std::string(kUrlHelp));
  }
  std::string& prefix = location.prefix;
  while (!prefix.empty() && prefix.front() == '/') prefix.erase(prefix.begin());
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (!prefix.empty() && (prefix.find("//") != std::string::npos ||
                          ("/" + prefix + "/").find("/./") != std::string::npos ||
                          ("/" + prefix + "/").find("/../") != std::string::npos)) {
    throw StoreError("invalid S3 datastore '" + url +
                     "': the prefix may not hold empty, '.' or '..' components");
  }
  return location;
}

S3Endpoint parse_s3_endpoint(const std::string& url, const std::string& origin) {
  S3Endpoint endpoint;
  std::string rest;
  if (url.starts_with("https://")) {
    endpoint.scheme = "https";
    rest = url.substr(8);
  } else if (url.starts_with("http://")) {
    endpoint.scheme = "http";
    rest = url.substr(7);
  } else {
    throw StoreError("invalid S3 endpoint " + origin + "='" + url +
                     "': it must start with https:// (or http:// for a plain-HTTP server)");
  }
  const auto slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  if (slash != std::string::npos) endpoint.base_path = rest.substr(slash);
  while (!endpoint.base_path.empty() && endpoint.base_path.back() == '/') {
    endpoint.base_path.pop_back();
  }
  std::size_t colon = std::string::npos;
  if (authority.starts_with("[")) {  // an IPv6 literal: "[::1]:9000"
    const auto close = authority.find(']');
    if (close != std::string::npos && close + 1 < authority.size()) colon = close + 1;
  } else {
    colon = authority.rfind(':');
  }
  if (colon != std::string::npos) {
    const std::string port = authority.substr(colon + 1);
    int value = 0;
    const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (error != std::errc() || end != port.data() + port.size() || value <= 0 || value > 65535) {
      throw StoreError("invalid S3 endpoint " + origin + "='" + url + "': bad port '" + port + "'");
    }
    endpoint.port = value;
    authority.resize(colon);
  }
  if (authority.empty()) {
    throw StoreError("invalid S3 endpoint " + origin + "='" + url + "': no host");
  }
  endpoint.host = authority;
  return endpoint;
}

S3Settings s3_settings_from_environment(const EnvironmentLookup& environment) {
  S3Settings settings;
  if (auto region = non_empty(environment, "AWS_REGION")) {
    settings.region = *region;
  } else if (auto default_region = non_empty(environment, "AWS_DEFAULT_REGION")) {
    settings.region = *default_region;
  } else if (auto configured = shared_config_region(environment)) {
    settings.region = *configured;
  }
  bool found = false;
  for (const char* name : {"PODFLOW_S3_ENDPOINT", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"}) {
    if (auto url = non_empty(environment, name)) {
      settings.endpoint = parse_s3_endpoint(*url, name);
      settings.custom_endpoint = found = true;
      break;
    }
  }
  if (!found) settings.endpoint = {"https", "s3." + settings.region + ".amazonaws.com", 0, ""};

  if (auto style = non_empty(environment, "PODFLOW_S3_ADDRESSING")) {
    if (*style == "auto") {
      settings.addressing = S3Addressing::automatic;
    } else if (*style == "path") {
      settings.addressing = S3Addressing::path;
    } else if (*style == "virtual") {
      settings.addressing = S3Addressing::virtual_hosted;
    } else {
      throw StoreError("invalid PODFLOW_S3_ADDRESSING='" + *style +
                       "': expected auto, path or virtual");
    }
  }
  settings.ca_bundle = non_empty(environment, "AWS_CA_BUNDLE").value_or("");

  constexpr double kMiB = 1024.0 * 1024.0;
  const double part_mb = positive_number(environment, "PODFLOW_S3_PART_SIZE_MB",
                                         static_cast<double>(settings.part_size) / kMiB);
  if (part_mb < 5 || part_mb > 5 * 1024) {
    throw StoreError("invalid PODFLOW_S3_PART_SIZE_MB: S3 parts are 5 to 5120 MiB");
  }
  settings.part_size = static_cast<std::uint64_t>(part_mb * kMiB);
  settings.concurrency = static_cast<unsigned>(std::clamp(
      positive_number(environment, "PODFLOW_S3_CONCURRENCY", settings.concurrency), 1.0, 64.0));
  settings.retry_seconds =
      positive_number(environment, "PODFLOW_S3_RETRY_SECONDS", settings.retry_seconds);
  settings.request_timeout =
      positive_number(environment, "PODFLOW_S3_REQUEST_TIMEOUT_SECONDS", settings.request_timeout);
  return settings;
}

S3Target s3_target(const S3Settings& settings, const std::string& bucket) {
  const S3Endpoint& endpoint = settings.endpoint;
  const bool dns_safe = bucket.find('.') == std::string::npos;
  const bool virtual_hosted =
      settings.addressing == S3Addressing::virtual_hosted ||
      (settings.addressing == S3Addressing::automatic && !settings.custom_endpoint && dns_safe);
  const std::string port = endpoint.port == 0 ? "" : ":" + std::to_string(endpoint.port);
  S3Target target;
  target.host = (virtual_hosted ? bucket + "." : "") + endpoint.host + port;
  target.base_url = endpoint.scheme + "://" + target.host;
  target.path_prefix = endpoint.base_path + (virtual_hosted ? "" : "/" + bucket);
  return target;
}

}  // namespace podflow::datastore
