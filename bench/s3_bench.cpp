// podflow-s3-bench: podflow's S3 client from the command line, for the benchmark
// (bench/s3_bench.sh) and the S3 integration tests (tests/s3/). Settings and credentials come from
// the environment exactly as for `podflow run --datastore s3://...` (docs/datastore.md, "S3").
//
//   podflow-s3-bench put URL KEY FILE          upload a file as one object (multipart if large)
//   podflow-s3-bench get URL KEY FILE          download an object (exit 3 if there is none)
//   podflow-s3-bench cat URL KEY               print an object (exit 3 if there is none)
//   podflow-s3-bench write URL KEY TEXT        put_bytes
//   podflow-s3-bench create URL KEY TEXT       put_bytes_if_absent: prints created / exists
//   podflow-s3-bench range URL KEY OFFSET LENGTH
//   podflow-s3-bench head URL KEY              prints the size (exit 3 if there is none)
//   podflow-s3-bench ls URL [PREFIX]           "size key" lines
//   podflow-s3-bench rm URL KEY                exit 3 if there was none
//   podflow-s3-bench put-dir URL PREFIX DIR    every file of DIR as PREFIX/<relative path>, in
//   parallel podflow-s3-bench get-dir URL PREFIX DIR    every object under PREFIX into DIR, in
//   parallel podflow-s3-bench store DATASTORE FLOW DIR  every file of DIR as an artifact blob
//   (sha256,
//                                              dedup); prints "sha256 size path" lines
//   podflow-s3-bench fetch DATASTORE FLOW DIR LIST   the blobs of such a list into DIR, verified
//   podflow-s3-bench soak URL SECONDS          write and read back one small object every 0.2 s
//                                              for SECONDS, in one process (credential refresh
//                                              tests); prints the number of round trips
//
// URL is s3://bucket/prefix. With --stats first, prints "seconds=... peak_rss_mib=..." to stderr.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "datastore/artifact_transfers.hpp"
#include "datastore/datastore.hpp"
#include "datastore/parallel_for.hpp"
#include "datastore/s3_object_store.hpp"
#include "datastore/store_error.hpp"

namespace {

namespace fs = std::filesystem;
using podflow::datastore::S3ObjectStore;

constexpr int kMissing = 3;
constexpr std::size_t kThreads = podflow::datastore::kArtifactTransferThreads;

int usage() {
  std::cerr << "usage: podflow-s3-bench [--stats] put|get|cat|write|create|range|head|ls|rm|"
               "put-dir|get-dir|store|fetch|soak ARGS... (see bench/s3_bench.cpp)\n";
  return 2;
}

std::vector<fs::path> files_under(const fs::path& directory) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::recursive_directory_iterator(directory)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

int run(const std::vector<std::string>& args) {
  if (args.empty()) return usage();
  const std::string& command = args[0];
  const auto need = [&](std::size_t count) {
    if (args.size() != count + 1) throw std::invalid_argument("wrong number of arguments");
  };

  if (command == "store" || command == "fetch") {
    need(command == "store" ? 3 : 4);
    auto store = podflow::datastore::open_datastore(args[1]);
    const std::string& flow = args[2];
    if (command == "store") {
      const auto files = files_under(args[3]);
      const auto blobs = podflow::datastore::store_artifacts(*store, flow, files);
      for (std::size_t i = 0; i < files.size(); ++i) {
        std::cout << blobs[i].sha256 << " " << blobs[i].size << " "
                  << fs::relative(files[i], args[3]).string() << "\n";
      }
      return 0;
    }
    std::vector<podflow::datastore::ArtifactFetch> fetches;
    std::ifstream list(args[4]);
    std::string line;
    while (std::getline(list, line)) {
      std::istringstream fields(line);
      podflow::datastore::ArtifactFetch fetch;
      std::string name;
      fields >> fetch.blob.sha256 >> fetch.blob.size;
      std::getline(fields >> std::ws, name);
      fetch.destination = fs::path(args[3]) / name;
      fetch.name = name;
      fs::create_directories(fetch.destination.parent_path());
      fetches.push_back(std::move(fetch));
    }
    podflow::datastore::fetch_artifacts(*store, flow, fetches);
    return 0;
  }

  if (args.size() < 2) return usage();
  auto store = S3ObjectStore::open(args[1]);
  if (command == "put") {
    need(3);
    store->put_file(args[2], args[3]);
  } else if (command == "get") {
    need(3);
    if (!store->get_to_file(args[2], args[3])) return kMissing;
  } else if (command == "cat") {
    need(2);
    const auto bytes = store->get_bytes(args[2]);
    if (!bytes) return kMissing;
    std::cout << *bytes;
  } else if (command == "write") {
    need(3);
    store->put_bytes(args[2], args[3]);
  } else if (command == "create") {
    need(3);
    std::cout << (store->put_bytes_if_absent(args[2], args[3]) ? "created" : "exists") << "\n";
  } else if (command == "range") {
    need(4);
    std::cout << store->get_range(args[2], std::stoull(args[3]), std::stoull(args[4]));
  } else if (command == "head") {
    need(2);
    const auto info = store->head(args[2]);
    if (!info) return kMissing;
    std::cout << info->size << "\n";
  } else if (command == "ls") {
    if (args.size() > 3) return usage();
    for (const auto& object : store->list(args.size() == 3 ? args[2] : "")) {
      std::cout << object.size << " " << object.key << "\n";
    }
  } else if (command == "rm") {
    need(2);
    if (!store->remove(args[2])) return kMissing;
  } else if (command == "soak") {
    need(2);
    const auto until =
        std::chrono::steady_clock::now() + std::chrono::duration<double>(std::stod(args[2]));
    int rounds = 0;
    while (std::chrono::steady_clock::now() < until) {
      const std::string text = "round " + std::to_string(++rounds);
      store->put_bytes("soak", text);
      if (store->get_bytes("soak") != text) throw std::runtime_error("soak: read back differs");
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    std::cout << rounds << "\n";
  } else if (command == "put-dir") {
    need(3);
    const auto files = files_under(args[3]);
    podflow::datastore::parallel_for(files.size(), kThreads, [&](std::size_t, std::size_t i) {
      store->put_file(args[2] + "/" + fs::relative(files[i], args[3]).string(), files[i]);
    });
  } else if (command == "get-dir") {
    need(3);
    const std::string prefix = args[2] + "/";
    const auto objects = store->list(prefix);
    for (const auto& object : objects) {
      fs::create_directories((fs::path(args[3]) / object.key.substr(prefix.size())).parent_path());
    }
    podflow::datastore::parallel_for(objects.size(), kThreads, [&](std::size_t, std::size_t i) {
      store->get_to_file(objects[i].key, fs::path(args[3]) / objects[i].key.substr(prefix.size()));
    });
  } else {
    return usage();
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  bool stats = false;
  if (!args.empty() && args[0] == "--stats") {
    stats = true;
    args.erase(args.begin());
  }
  const auto started = std::chrono::steady_clock::now();
  int status = 0;
  try {
    status = run(args);
  } catch (const std::invalid_argument& error) {
    std::cerr << "podflow-s3-bench: " << error.what() << "\n";
    return usage();
  } catch (const std::exception& error) {
    std::cerr << "podflow-s3-bench: " << error.what() << "\n";
    status = 1;
  }
  if (stats) {
    struct rusage usage {};
    ::getrusage(RUSAGE_SELF, &usage);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::fprintf(stderr, "seconds=%.3f peak_rss_mib=%.1f\n", seconds,
                 static_cast<double>(usage.ru_maxrss) / 1024.0);
  }
  return status;
}
