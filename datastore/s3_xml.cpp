#include "datastore/s3_xml.hpp"

#include <charconv>
#include <cstdint>

#include "datastore/store_error.hpp"

namespace podflow::datastore {
namespace {

void append_utf8(std::string& out, std::uint32_t code) {
  if (code < 0x80) {
    out += static_cast<char>(code);
  } else if (code < 0x800) {
    out += static_cast<char>(0xC0 | (code >> 6));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else if (code < 0x10000) {
    out += static_cast<char>(0xE0 | (code >> 12));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (code >> 18));
    out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (code & 0x3F));
  }
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string xml_unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out += text[i];
      continue;
    }
    const auto semicolon = text.find(';', i);
    if (semicolon == std::string_view::npos) {
      out += text.substr(i);
      break;
    }
    const std::string_view entity = text.substr(i + 1, semicolon - i - 1);
    std::uint32_t code = 0;
    bool ok = true;
    if (entity == "amp") {
      out += '&';
    } else if (entity == "lt") {
      out += '<';
    } else if (entity == "gt") {
      out += '>';
    } else if (entity == "quot") {
      out += '"';
    } else if (entity == "apos") {
      out += '\'';
    } else if (entity.size() > 1 && entity[0] == '#') {
      const bool hexadecimal = entity[1] == 'x' || entity[1] == 'X';
      const std::string_view digits = entity.substr(hexadecimal ? 2 : 1);
      const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), code,
                                                hexadecimal ? 16 : 10);
      ok = error == std::errc() && end == digits.data() + digits.size() && code <= 0x10FFFF;
      if (ok) append_utf8(out, code);
    } else {
      ok = false;
    }
    if (!ok) {
      out += text.substr(i, semicolon - i + 1);
    }
    i = semicolon;
  }
  return out;
}

std::string url_decode_plus(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
               hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::vector<std::string_view> xml_elements(std::string_view document, std::string_view name) {
  const std::string open = "<" + std::string(name) + ">";
  const std::string close = "</" + std::string(name) + ">";
  std::vector<std::string_view> found;
  std::size_t position = 0;
  while ((position = document.find(open, position)) != std::string_view::npos) {
    const std::size_t start = position + open.size();
    const std::size_t end = document.find(close, start);
    if (end == std::string_view::npos) break;
    found.push_back(document.substr(start, end - start));
    position = end + close.size();
  }
  return found;
}

std::optional<std::string_view> xml_element(std::string_view document, std::string_view name) {
  const std::string open = "<" + std::string(name) + ">";
  const std::string close = "</" + std::string(name) + ">";
  const auto start = document.find(open);
  if (start == std::string_view::npos) return std::nullopt;
  const auto end = document.find(close, start + open.size());
  if (end == std::string_view::npos) return std::nullopt;
  return document.substr(start + open.size(), end - start - open.size());
}

S3ErrorDocument parse_s3_error(std::string_view document) {
  S3ErrorDocument error;
  const auto body = xml_element(document, "Error").value_or(document);
  if (const auto code = xml_element(body, "Code")) error.code = xml_unescape(*code);
  if (const auto message = xml_element(body, "Message")) error.message = xml_unescape(*message);
  return error;
}

S3ListPage parse_list_objects_v2(std::string_view document) {
  if (document.find("<ListBucketResult") == std::string_view::npos) {
    throw StoreError("unexpected answer to an S3 listing (not a ListBucketResult): " +
                     std::string(document.substr(0, 200)));
  }
  S3ListPage page;
  for (const auto contents : xml_elements(document, "Contents")) {
    const auto key = xml_element(contents, "Key");
    const auto size = xml_element(contents, "Size");
    if (!key || !size) continue;
    std::uint64_t bytes = 0;
    std::from_chars(size->data(), size->data() + size->size(), bytes);
    page.objects.push_back({url_decode_plus(xml_unescape(*key)), bytes});
  }
  page.truncated = xml_element(document, "IsTruncated").value_or("false") == "true";
  if (const auto token = xml_element(document, "NextContinuationToken")) {
    page.next_continuation_token = xml_unescape(*token);
  }
  if (page.truncated && page.next_continuation_token.empty()) {
    throw StoreError("S3 listing is truncated but has no NextContinuationToken");
  }
  return page;
}

}  // namespace podflow::datastore
