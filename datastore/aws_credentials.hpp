// What a set of AWS credentials is, and the inputs every credential source reads: the
// environment, small files (tokens, keys) and AWS-style INI files. Where credentials come from,
// and in which order, is credential_chain.hpp's concern. The secret never appears in a message,
// a log or a description: only its source and the key id.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "datastore/sigv4.hpp"

namespace podflow::datastore {

// Reads one environment variable; tests substitute a map.
using EnvironmentLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvironmentLookup process_environment();
EnvironmentLookup environment_from(std::map<std::string, std::string> variables);
// The variable's value, or nullopt when it is unset or empty (the SDKs treat both alike).
std::optional<std::string> environment_value(const EnvironmentLookup& environment,
                                             const std::string& name);

using WallClock = std::chrono::system_clock;

struct AwsCredentials {
  SigningCredentials keys;
  // For messages: "environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
  // "web identity (role arn:aws:iam::1:role/x, token /var/run/...)", "profile default of
  // /root/.aws/credentials".
  std::string source;
  // When temporary credentials stop working; nullopt for long-term keys.
  std::optional<WallClock::time_point> expiration;
};

// The sections of an AWS-style INI file (credentials or config): section -> key -> value.
// Section headers keep their text ("default", "profile dev"). Comments start with '#' or ';'.
using IniSections = std::map<std::string, std::map<std::string, std::string>>;
IniSections parse_aws_ini(const std::string& text);

// The region of the profile in the shared config file (AWS_CONFIG_FILE or ~/.aws/config),
// if it names one.
std::optional<std::string> shared_config_region(const EnvironmentLookup& environment);

// $HOME/<relative> ("/" when HOME is unset).
std::filesystem::path home_file(const EnvironmentLookup& environment, const char* relative);
// The first 64 KiB of a file (keys and tokens are far smaller); nullopt when it cannot be read.
std::optional<std::string> read_small_file(const std::filesystem::path& path);
std::string trim_whitespace(const std::string& text);

// "2026-12-07T06:30:00Z", with optional fractional seconds and a "Z" or "+00:00" zone, as STS,
// the container endpoints and IMDS write an Expiration. nullopt when malformed.
std::optional<WallClock::time_point> parse_iso8601_utc(const std::string& text);

}  // namespace podflow::datastore
