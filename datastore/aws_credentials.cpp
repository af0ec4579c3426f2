#include "datastore/aws_credentials.hpp"

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <sstream>

namespace podflow::datastore {

std::string trim_whitespace(const std::string& text) {
  const auto begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return "";
  const auto end = text.find_last_not_of(" \t\r\n");
  return text.substr(begin, end - begin + 1);
}

std::optional<std::string> read_small_file(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return std::nullopt;
  std::string text;
  text.resize(64 * 1024);
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(file.gcount()));
  return text;
}

std::optional<std::string> environment_value(const EnvironmentLookup& environment,
                                             const std::string& name) {
  auto value = environment(name);
  if (value && value->empty()) return std::nullopt;
  return value;
}

std::filesystem::path home_file(const EnvironmentLookup& environment, const char* relative) {
  const auto home = environment_value(environment, "HOME");
  return std::filesystem::path(home.value_or("/")) / relative;
}

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

IniSections parse_aws_ini(const std::string& text) {
  IniSections sections;
  std::istringstream lines(text);
  std::string line, section;
  bool in_section = false;
  while (std::getline(lines, line)) {
    line = trim_whitespace(line);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = trim_whitespace(line.substr(1, line.size() - 2));
      sections[section];
      in_section = true;
      continue;
    }
    const auto equals = line.find('=');
    if (!in_section || equals == std::string::npos) continue;
    sections[section][trim_whitespace(line.substr(0, equals))] =
        trim_whitespace(line.substr(equals + 1));
  }
  return sections;
}

std::optional<std::string> shared_config_region(const EnvironmentLookup& environment) {
  const auto explicit_path = environment_value(environment, "AWS_CONFIG_FILE");
  const std::filesystem::path path =
      explicit_path ? std::filesystem::path(*explicit_path) : home_file(environment, ".aws/config");
  const auto text = read_small_file(path);
  if (!text) return std::nullopt;
  const std::string profile = environment_value(environment, "AWS_PROFILE").value_or("default");
  const auto sections = parse_aws_ini(*text);
  for (const std::string& name : {profile == "default" ? profile : "profile " + profile, profile}) {
    const auto section = sections.find(name);
    if (section == sections.end()) continue;
    const auto region = section->second.find("region");
    if (region != section->second.end() && !region->second.empty()) return region->second;
  }
  return std::nullopt;
}

std::optional<WallClock::time_point> parse_iso8601_utc(const std::string& text) {
  std::tm fields{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &fields.tm_year, &fields.tm_mon,
                  &fields.tm_mday, &fields.tm_hour, &fields.tm_min, &fields.tm_sec,
                  &consumed) != 6 ||
      consumed != 19) {
    return std::nullopt;
  }
  std::size_t rest = 19;
  if (rest < text.size() && text[rest] == '.') {
    ++rest;
    while (rest < text.size() && text[rest] >= '0' && text[rest] <= '9') ++rest;
  }
  const std::string zone = text.substr(rest);
  if (zone != "Z" && zone != "+00:00" && zone != "+0000") return std::nullopt;
  if (fields.tm_mon < 1 || fields.tm_mon > 12 || fields.tm_mday < 1 || fields.tm_mday > 31 ||
      fields.tm_hour > 23 || fields.tm_min > 59 || fields.tm_sec > 60) {
    return std::nullopt;
  }
  fields.tm_year -= 1900;
  fields.tm_mon -= 1;
  const std::time_t seconds = ::timegm(&fields);
  return WallClock::from_time_t(seconds);
}

}  // namespace podflow::datastore
