#include "cli/run_history.hpp"

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

}  // namespace podflow::cli
