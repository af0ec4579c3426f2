// The one error type of the datastore: every failed store operation throws it.
#pragma once

#include <stdexcept>
#include <string>

namespace podflow::datastore {

// What failed, on which key or path, and why: "cannot write /x/y: No space left on device".
// Callers show the message as it is; it is written for the person running the flow.
class StoreError : public std::runtime_error {
 public:
  // `error_number` is the errno of a failed system call (0 when there is none), so callers can
  // tell a full disk (ENOSPC, EDQUOT) from other failures without parsing the message.
  explicit StoreError(const std::string& what, int error_number = 0)
      : std::runtime_error(what), error_number_(error_number) {}

  int error_number() const { return error_number_; }

 private:
  int error_number_ = 0;
};

// "<what>: <strerror(error_number)>", for messages about a failed system call.
std::string system_error_text(const std::string& what, int error_number);

// StoreError(system_error_text(what, error_number), error_number).
[[noreturn]] void throw_system_error(const std::string& what, int error_number);

}  // namespace podflow::datastore
