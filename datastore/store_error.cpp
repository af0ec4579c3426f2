#include "datastore/store_error.hpp"

#include <cstring>

namespace podflow::datastore {

std::string system_error_text(const std::string& what, int error_number) {
  return what + ": " + std::strerror(error_number);
}

}  // namespace podflow::datastore
