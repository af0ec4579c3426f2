// "Did you mean ...?" for misspelt names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace podflow::flow {

// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo;
// empty otherwise.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace podflow::flow
