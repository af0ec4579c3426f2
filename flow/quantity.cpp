#include "flow/quantity.hpp"

#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <utility>

namespace podflow::flow {
namespace {

struct Suffix {
  std::string_view text;
  double multiplier;
};

// Longest first so "Mi" wins over "M".
constexpr std::array<Suffix, 16> kSuffixes{{
    {"Ki", 1024.0},
    {"Mi", 1024.0 * 1024},
    {"Gi", 1024.0 * 1024 * 1024},
    {"Ti", 1024.0 * 1024 * 1024 * 1024},
    {"Pi", 1024.0 * 1024 * 1024 * 1024 * 1024},
    {"Ei", 1024.0 * 1024 * 1024 * 1024 * 1024 * 1024},
    {"n", 1e-9},
    {"u", 1e-6},
    {"m", 1e-3},
    {"k", 1e3},
    {"M", 1e6},
    {"G", 1e9},
    {"T", 1e12},
    {"P", 1e15},
    {"E", 1e18},
    {"", 1.0},
}};

}  // namespace

std::optional<Quantity> parse_quantity(std::string_view text) {
  if (text.empty() || text.size() > 64) return std::nullopt;
  std::size_t i = 0;
  if (text[i] == '+' || text[i] == '-') ++i;
  const std::size_t digits_start = i;
  bool seen_digit = false;
  bool seen_dot = false;
  while (i < text.size() &&
         (std::isdigit(static_cast<unsigned char>(text[i])) || (text[i] == '.' && !seen_dot))) {
    if (text[i] == '.')
      seen_dot = true;
    else
      seen_digit = true;
    ++i;
  }
  if (!seen_digit || i == digits_start) return std::nullopt;
  std::string number(text.substr(0, i));
  std::string_view rest = text.substr(i);
  double multiplier = 1.0;
  // A decimal exponent ("1e3") is part of the number, not the "E" (exa) suffix, when digits follow.
  if (rest.size() >= 2 && (rest[0] == 'e' || rest[0] == 'E')) {
    std::size_t j = 1;
    if (rest[j] == '+' || rest[j] == '-') ++j;
    std::size_t exponent_digits = 0;
    while (j < rest.size() && std::isdigit(static_cast<unsigned char>(rest[j]))) {
      ++j;
      ++exponent_digits;
    }
    if (exponent_digits > 0 && j == rest.size()) {
      number += std::string(rest);
      rest = {};
    }
  }
  bool matched = false;
  for (const auto& suffix : kSuffixes) {
    if (rest == suffix.text) {
      multiplier = suffix.multiplier;
      matched = true;
      break;
    }
  }
  if (!matched) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || !std::isfinite(value)) return std::nullopt;
  return Quantity{std::string(text), value * multiplier};
}

Quantity quantity_from_megabytes(long long megabytes) {
  return Quantity{std::to_string(megabytes) + "M", static_cast<double>(megabytes) * 1e6};
}

std::string describe_bytes(double bytes) {
  constexpr std::array<std::string_view, 6> units{"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  std::size_t unit = 0;
  while (bytes >= 1024 && unit + 1 < units.size()) {
    bytes /= 1024;
    ++unit;
  }
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.1f %s", bytes, std::string(units[unit]).c_str());
  return buffer;
}

}  // namespace podflow::flow
