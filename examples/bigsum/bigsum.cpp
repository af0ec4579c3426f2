// The seeds' BigSum as a C++ step program: `bigsum start` fills a size x size matrix with
// exponentially distributed random numbers (as R's rexp) on the cores the step asked for, and
// sums it; `bigsum end` prints the result.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <podflow/parallel_map.hpp>
#include <podflow/step.hpp>

namespace {

int start() {
  const long long size = std::stoll(podflow::parameter("size", "8000"));
  if (size <= 0 || size > 1000000) {
    std::cerr << "size must be between 1 and 1000000, not " << size << "\n";
    return 1;
  }
  const auto n = static_cast<std::size_t>(size);
  const auto began = std::chrono::steady_clock::now();
  std::vector<double> matrix(n * n);
  // Each row has its own seed, so the matrix (and the sum) is the same on any number of cores.
  podflow::parallel_for(n, [&](std::size_t row) {
    std::mt19937_64 generator(row + 1);
    std::exponential_distribution<double> rexp(1.0);
    for (std::size_t column = 0; column < n; ++column) matrix[row * n + column] = rexp(generator);
  });
  std::vector<std::size_t> rows(n);
  for (std::size_t i = 0; i < n; ++i) rows[i] = i;
  const auto row_sums = podflow::parallel_map(rows, [&](std::size_t row) {
    double sum = 0;
    for (std::size_t column = 0; column < n; ++column) sum += matrix[row * n + column];
    return sum;
  });
  double sum = 0;
  for (double row_sum : row_sums) sum += row_sum;
  const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - began);
  char text[64];
  std::snprintf(text, sizeof text, "%.6f", sum);
  podflow::write_output("sum", text);
  podflow::write_output("took_ms", std::to_string(took.count()));
  podflow::write_output("cores", std::to_string(podflow::step_cores()));
  std::cout << "summed a " << n << " x " << n << " matrix on " << podflow::step_cores()
            << " core(s) in " << took.count() << "ms\n";
  return 0;
}

int end() {
  std::cout << "The sum is " << podflow::read_input("sum") << "\n";
  std::cout << "Computing it took " << podflow::read_input("took_ms") << "ms on "
            << podflow::read_input("cores") << " core(s)\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string step = argc > 1 ? argv[1] : "";
  try {
    if (step == "start") return start();
    if (step == "end") return end();
  } catch (const std::exception& error) {
    std::cerr << "bigsum " << step << ": " << error.what() << "\n";
    return 1;
  }
  std::cerr
      << "usage: bigsum start|end (run by podflow as the steps of examples/bigsum/flow.yaml)\n";
  return 2;
}
