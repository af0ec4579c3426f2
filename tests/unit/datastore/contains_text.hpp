// doctest::Contains for a std::string built at run time (doctest's takes its own String).
#pragma once

#include <doctest/doctest.h>

#include <string>

namespace podflow::testing {

inline doctest::Contains contains_text(const std::string& text) {
  return doctest::Contains(text.c_str());
}

}  // namespace podflow::testing
