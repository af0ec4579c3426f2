#include <iostream>

#include "cli/commands.hpp"
#include "cli/flow_file.hpp"

namespace podflow::cli {

void add_validate_command(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand(
      "validate", "Check flow files: structure, fields, resources and the step graph");
  auto files = std::make_shared<std::vector<std::string>>();
  command->add_option("files", *files, "Flow documents (YAML or JSON)")->required();
  command->callback([files, &exit_code] {
    exit_code = kExitOk;
    for (const auto& path : *files) {
      const LoadedFlow loaded = load_flow_file(path);
      if (loaded.flow) {
        std::cout << path << ": valid flow '" << loaded.flow->name << "' ("
                  << loaded.flow->steps.size() << " steps)\n";
        continue;
      }
      for (const auto& message : loaded.messages) std::cerr << message << "\n";
      exit_code = kExitFailed;
    }
  });
}

}  // namespace podflow::cli
