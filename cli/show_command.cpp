#include <iostream>

#include "cli/commands.hpp"
#include "cli/flow_file.hpp"
#include "flow/graph_render.hpp"

namespace podflow::cli {

void add_show_command(CLI::App& app, int& exit_code) {
  auto* command = app.add_subcommand("show", "Print a flow's step graph as text or Graphviz DOT");
  auto file = std::make_shared<std::string>();
  auto dot = std::make_shared<bool>(false);
  command->add_option("file", *file, "Flow document (YAML or JSON)")->required();
  command->add_flag("--dot", *dot, "Print Graphviz DOT (pipe into `dot -Tpng`)");
  command->callback([file, dot, &exit_code] {
    const LoadedFlow loaded = load_flow_file(*file);
    if (!loaded.flow) {
      for (const auto& message : loaded.messages) std::cerr << message << "\n";
      exit_code = kExitFailed;
      return;
    }
    std::cout << (*dot ? flow::render_dot(*loaded.flow) : flow::render_text(*loaded.flow));
    exit_code = kExitOk;
  });
}

}  // namespace podflow::cli
