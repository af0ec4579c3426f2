#include "datastore/store_error.hpp"

#include <cstring>

namespace podflow::datastore {

std::string system_error_text(const std::string& what, int error_number) {
  return what + ": " + std::strerror(error_number);
}

void throw_system_error(const std::string& what, int error_number) {
  throw StoreError(system_error_text(what, error_number), error_number);
}

}  // namespace podflow::datastore
