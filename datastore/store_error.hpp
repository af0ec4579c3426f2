// The one error type of the datastore: every failed store operation throws it.
#pragma once

#include <stdexcept>
#include <string>

namespace podflow::datastore {

// What failed, on which key or path, and why: "cannot write /x/y: No space left on device".
// Callers show the message as it is; it is written for the person running the flow.
class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "<what>: <strerror(error_number)>", for messages about a failed system call.
std::string system_error_text(const std::string& what, int error_number);

}  // namespace podflow::datastore
