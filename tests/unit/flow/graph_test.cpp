#include <doctest/doctest.h>

#include "flow/graph.hpp"
#include "flow/graph_render.hpp"
#include "test_flows.hpp"

using podflow::flow::FlowGraph;

TEST_CASE("open splits and the split each join closes") {
  const auto flow = podflow::test::valid_flow(podflow::test::flow_yaml({
      {"start", {"outer"}, "foreach: xs"},
      {"outer", {"a", "b"}, ""},
      {"a", {"join_ab"}, ""},
      {"b", {"join_ab"}, ""},
      {"join_ab", {"join_outer"}, "join: true"},
      {"join_outer", {"end"}, "join: true"},
      {"end", {}, ""},
  }));
  FlowGraph graph(flow);
  REQUIRE(graph.analyse_splits().empty());
  const auto index = [&](const char* name) { return *graph.find(name); };
  CHECK(graph.node(index("start")).open_splits.empty());
  CHECK(graph.node(index("outer")).open_splits == std::vector{index("start")});
  CHECK(graph.node(index("a")).open_splits == std::vector{index("start"), index("outer")});
  CHECK(graph.node(index("join_ab")).joins == index("outer"));
  CHECK(graph.node(index("join_ab")).open_splits == std::vector{index("start")});
  CHECK(graph.node(index("join_outer")).joins == index("start"));
  CHECK(graph.node(index("end")).open_splits.empty());
}

TEST_CASE("many diamonds in a row are analysed in linear time") {
  // 300 branch/join diamonds: 2^300 paths from start to end; a path-walking linter never returns.
  constexpr int kDiamonds = 300;
  std::vector<podflow::test::StepLine> steps{{"start", {"a0", "b0"}, ""}};
  for (int i = 0; i < kDiamonds; ++i) {
    const std::string n = std::to_string(i);
    const std::string m = std::to_string(i + 1);
    steps.push_back({"a" + n, {"j" + n}, ""});
    steps.push_back({"b" + n, {"j" + n}, ""});
    steps.push_back({"j" + n,
                     i + 1 < kDiamonds ? std::vector<std::string>{"a" + m, "b" + m}
                                       : std::vector<std::string>{"end"},
                     "join: true"});
  }
  steps.push_back({"end", {}, ""});
  const auto flow = podflow::test::valid_flow(podflow::test::flow_yaml(steps));
  CHECK(flow.steps.size() == 3 * kDiamonds + 2);
}

TEST_CASE("show draws the graph as text and DOT") {
  const auto flow = podflow::test::valid_flow(podflow::test::flow_yaml({
      {"start", {"each"}, "foreach: items"},
      {"each", {"join"}, "resources: {cpu: 4, memory: 60000, gpu: 1}"},
      {"join", {"end"}, "join: true"},
      {"end", {}, ""},
  }));
  const std::string text = podflow::flow::render_text(flow);
  CHECK(text.find("start  cpu 1, memory 4096M  -> each  (foreach items)") != std::string::npos);
  CHECK(text.find("each   cpu 4, memory 60000M, gpu 1  -> join") != std::string::npos);
  CHECK(text.find("join   cpu 1, memory 4096M  -> end  (join)") != std::string::npos);
  CHECK(text.find("end    cpu 1, memory 4096M  -> (done)") != std::string::npos);
  const std::string dot = podflow::flow::render_dot(flow);
  CHECK(dot.find("\"start\" -> \"each\" [style=dashed, label=\"foreach items\"];") !=
        std::string::npos);
  CHECK(dot.find("\"join\" -> \"end\";") != std::string::npos);
}
