#include "cli/run_history.hpp"

#include <algorithm>
#include <stdexcept>

namespace podflow::cli {

RunRecord load_run(datastore::Datastore& store, const std::string& run) {
  auto json = store.read_run_record(run);
  if (!json) {
    throw std::runtime_error("there is no run " + run + " in " + store.url() +
                             "; `podflow list` shows the runs there (or pass --datastore)");
  }
  return RunRecord::from_json(*json);
}

void keep_earlier_parameters(std::vector<std::string>& given,
                             const std::map<std::string, std::string>& earlier) {
  const std::vector<std::string> again = given;
  for (const auto& [name, value] : earlier) {
    const bool repeated = std::any_of(again.begin(), again.end(), [&](const std::string& p) {
      return p.rfind(name + "=", 0) == 0;
    });
    if (!repeated) given.push_back(name + "=" + value);
  }
}

}  // namespace podflow::cli
