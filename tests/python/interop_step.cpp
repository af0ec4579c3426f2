// A C++ step for tests/python/test_interop.py: it reads artifacts a step written with the podflow
// Python package stored (JSON, text, bytes) through sdk/podflow/step.hpp, as any C++ step does,
// and writes its own for a Python step to read back.
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>
#include <podflow/step.hpp>

int main(int argc, char** argv) {
  if (argc != 2 || std::string(argv[1]) != "cpp") {
    std::cerr << "usage: podflow-python-interop-step cpp\n";
    return 2;
  }
  try {
    const auto numbers = nlohmann::json::parse(podflow::read_input("numbers"));  // JSON from Python
    long long sum = 0;
    for (const auto& number : numbers) sum += number.get<long long>();
    const std::string greeting = podflow::read_input("greeting");  // a str: UTF-8 as it is
    const std::string blob = podflow::read_input("blob");          // bytes as they are
    podflow::write_output("cpp_sum", std::to_string(sum));
    podflow::write_output(
        "cpp_report",
        nlohmann::json{{"greeting", greeting},
                       {"blob_size", blob.size()},
                       {"first_byte", static_cast<int>(static_cast<unsigned char>(blob.at(0)))}}
            .dump());
    // Rewrites an artifact Python recorded as JSON with bytes that are not: its format record
    // (inherited unchanged) no longer matches, so Python must read it as bytes.
    podflow::write_output("numbers", "not json any more");
    std::cout << "cpp: sum " << sum << ", greeting " << greeting << "\n";
  } catch (const std::exception& error) {
    std::cerr << "cpp step: " << error.what() << "\n";
    return 1;
  }
  return 0;
}
