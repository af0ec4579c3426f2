// Which attempt of which task: the address of everything one run of a step leaves in the store.
#pragma once

#include <cstdint>
#include <string>

namespace podflow::datastore {

struct AttemptId {
  std::string flow;  // a DNS label: "fanout"
  std::string run;   // "15"
  std::string step;  // "square"
  std::string task;  // the step plus its split path: "square.3"
  std::int64_t attempt = 0;

  bool operator==(const AttemptId&) const = default;
};

}  // namespace podflow::datastore
