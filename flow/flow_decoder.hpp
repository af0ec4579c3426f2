// Turns a Flow document (YAML or JSON text) into a FlowSpec, reporting every problem with its
// line:column: malformed YAML, wrong types, unknown fields (with a did-you-mean), bad values.
// Graph rules (start, end, cycles, joins) are the linter's job; see lint.hpp.
#pragma once

#include <optional>
#include <string_view>

#include "flow/diagnostic.hpp"
#include "flow/flow_spec.hpp"

namespace podflow::flow {

struct DecodeResult {
  std::optional<FlowSpec> flow;  // present unless the document could not be read at all
  Diagnostics diagnostics;       // empty when the document is well-formed
};

// `text` is the whole document. Never throws; bounded in time and memory for any input.
DecodeResult decode_flow(std::string_view text);

// The problem reported for a document of `bytes` bytes, over defaults::kMaxDocumentBytes; lets a
// caller refuse a huge file without reading it all.
Diagnostic oversized_document(std::size_t bytes);

}  // namespace podflow::flow
