#include "datastore/aws_credentials.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "datastore/store_error.hpp"

namespace podflow::datastore {
namespace {

std::string trim(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  const auto end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

std::optional<std::string> read_small_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return std::nullopt;
  std::string text;
  text.resize(64 * 1024);  // keys and tokens are far smaller; never read a huge file
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(file.gcount()));
  return text;
}

std::optional<std::string> non_empty(const EnvironmentLookup& environment,
                                     const std::string& name) {
  auto value = environment(name);
  if (value && value->empty()) return std::nullopt;
  return value;
}

std::filesystem::path home_file(const EnvironmentLookup& environment, const char* relative) {
  const auto home = non_empty(environment, "HOME");
  return std::filesystem::path(home.value_or("/")) / relative;
}

std::string profile_name(const EnvironmentLookup& environment) {
  return non_empty(environment, "AWS_PROFILE").value_or("default");
}

std::optional<AwsCredentials> from_directory(const EnvironmentLookup& environment) {
  const auto directory = non_empty(environment, "PODFLOW_S3_CREDENTIALS_DIR");
  if (!directory) return std::nullopt;
  const std::filesystem::path root(*directory);
  const std::string source = "files in " + root.string() + " (PODFLOW_S3_CREDENTIALS_DIR)";
  const auto key_file = [&](const char* name) -> std::optional<std::string> {
    auto text = read_small_file(root / name);
    if (!text) return std::nullopt;
    return trim(*text);
  };
  const auto id = key_file("AWS_ACCESS_KEY_ID");
  const auto secret = key_file("AWS_SECRET_ACCESS_KEY");
  if (!id || id->empty() || !secret || secret->empty()) {
    throw StoreError("no S3 credentials in " + source + ": it needs non-empty files " +
                     "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (mount the Secret's keys " +
                     "there, or unset PODFLOW_S3_CREDENTIALS_DIR)");
  }
  return AwsCredentials{{*id, *secret, key_file("AWS_SESSION_TOKEN").value_or("")}, source};
}

std::optional<AwsCredentials> from_environment(const EnvironmentLookup& environment) {
  const auto id = non_empty(environment, "AWS_ACCESS_KEY_ID");
  const auto secret = non_empty(environment, "AWS_SECRET_ACCESS_KEY");
  if (!id && !secret) return std::nullopt;
  if (!id || !secret) {
    throw StoreError(std::string("incomplete S3 credentials in the environment: ") +
                     (id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID") +
                     " is not set; set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  }
  return AwsCredentials{{*id, *secret, non_empty(environment, "AWS_SESSION_TOKEN").value_or("")},
                        "environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"};
}

std::optional<AwsCredentials> from_shared_file(const EnvironmentLookup& environment) {
  const auto explicit_path = non_empty(environment, "AWS_SHARED_CREDENTIALS_FILE");
  const std::filesystem::path path = explicit_path ? std::filesystem::path(*explicit_path)
                                                   : home_file(environment, ".aws/credentials");
  const auto text = read_small_file(path);
  if (!text) {
    if (explicit_path) {
      throw StoreError("cannot read the S3 credentials file " + path.string() +
                       " (AWS_SHARED_CREDENTIALS_FILE)");
    }
    return std::nullopt;
  }
  const std::string profile = profile_name(environment);
  const std::string source = "profile " + profile + " of " + path.string();
  const auto sections = parse_aws_ini(*text);
  const auto section = sections.find(profile);
  if (section == sections.end()) {
    if (environment("AWS_PROFILE")) {
      throw StoreError("no profile " + profile + " in " + path.string() +
                       " (AWS_PROFILE): add a [" + profile + "] section or change AWS_PROFILE");
    }
    return std::nullopt;
  }
  const auto value = [&](const char* key) -> std::string {
    const auto found = section->second.find(key);
    return found == section->second.end() ? "" : found->second;
  };
  if (value("aws_access_key_id").empty() || value("aws_secret_access_key").empty()) {
    throw StoreError("incomplete S3 credentials in " + source +
                     ": it needs aws_access_key_id and aws_secret_access_key");
  }
  return AwsCredentials{
      {value("aws_access_key_id"), value("aws_secret_access_key"), value("aws_session_token")},
      source};
}

}  // namespace

EnvironmentLookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

EnvironmentLookup environment_from(std::map<std::string, std::string> variables) {
  return [variables = std::move(variables)](const std::string& name) -> std::optional<std::string> {
    const auto found = variables.find(name);
    if (found == variables.end()) return std::nullopt;
    return found->second;
  };
}

AwsCredentials resolve_aws_credentials(const EnvironmentLookup& environment) {
  if (auto credentials = from_directory(environment)) return *credentials;
  if (auto credentials = from_environment(environment)) return *credentials;
  if (auto credentials = from_shared_file(environment)) return *credentials;
  throw StoreError(
      "no S3 credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or "
      "PODFLOW_S3_CREDENTIALS_DIR (a directory holding files of those names, e.g. a mounted "
      "Kubernetes Secret), or write them to " +
      home_file(environment, ".aws/credentials").string() + " (AWS_SHARED_CREDENTIALS_FILE)");
}

IniSections parse_aws_ini(const std::string& text) {
  IniSections sections;
  std::istringstream lines(text);
  std::string line, section;
  bool in_section = false;
  while (std::getline(lines, line)) {
    line = trim(line);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = trim(line.substr(1, line.size() - 2));
      sections[section];
      in_section = true;
      continue;
    }
    const auto equals = line.find('=');
    if (!in_section || equals == std::string::npos) continue;
    sections[section][trim(line.substr(0, equals))] = trim(line.substr(equals + 1));
  }
  return sections;
}

std::optional<std::string> shared_config_region(const EnvironmentLookup& environment) {
  const auto explicit_path = non_empty(environment, "AWS_CONFIG_FILE");
  const std::filesystem::path path =
      explicit_path ? std::filesystem::path(*explicit_path) : home_file(environment, ".aws/config");
  const auto text = read_small_file(path);
  if (!text) return std::nullopt;
  const std::string profile = profile_name(environment);
  const auto sections = parse_aws_ini(*text);
  for (const std::string& name : {profile == "default" ? profile : "profile " + profile, profile}) {
    const auto section = sections.find(name);
    if (section == sections.end()) continue;
    const auto region = section->second.find("region");
    if (region != section->second.end() && !region->second.empty()) return region->second;
  }
  return std::nullopt;
}

}  // namespace podflow::datastore
