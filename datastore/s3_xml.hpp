// Reading the small, flat XML documents S3 answers with (errors, listings, multipart uploads)
// without an XML library: only elements without attributes are looked up by name, and text is
// unescaped (the five entities and numeric references).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "datastore/object_store.hpp"

namespace podflow::datastore {

std::string xml_unescape(std::string_view text);
// "a%20b+c" -> "a b c": the encoding of keys in listings requested with encoding-type=url.
std::string url_decode_plus(std::string_view text);

// The inner text of the first <name>...</name> (raw, not unescaped); nullopt if absent.
std::optional<std::string_view> xml_element(std::string_view document, std::string_view name);
// The inner text of every <name>...</name>, in document order.
std::vector<std::string_view> xml_elements(std::string_view document, std::string_view name);

// <Error><Code>NoSuchKey</Code><Message>...</Message>...</Error>; empty fields when absent.
struct S3ErrorDocument {
  std::string code;
  std::string message;
};
S3ErrorDocument parse_s3_error(std::string_view document);

// One page of ListObjectsV2 (requested with encoding-type=url). Throws StoreError when the
// document is not a listing.
struct S3ListPage {
  std::vector<ObjectInfo> objects;  // keys decoded, still with the store's prefix
  bool truncated = false;
  std::string next_continuation_token;
};
S3ListPage parse_list_objects_v2(std::string_view document);

}  // namespace podflow::datastore
