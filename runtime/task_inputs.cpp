#include "runtime/task_inputs.hpp"

#include <sys/stat.h>

#include <fstream>
#include <stdexcept>
#include <utility>
#include <vector>

#include "datastore/artifact_transfers.hpp"
#include "datastore/parallel_for.hpp"
#include "datastore/sha256.hpp"
#include "datastore/store_error.hpp"
#include "datastore/temporary_file.hpp"
#include "runtime/foreach_list.hpp"

namespace podflow::runtime {
namespace {

// Enough concurrent requests to hide a remote store's latency; few enough for a small pod.
constexpr std::size_t kReadThreads = 16;

std::string describe(const datastore::AttemptId& id) {
  return "task " + id.run + "/" + id.step + "/" + id.task + " attempt " +
         std::to_string(id.attempt);
}

datastore::Manifest read_committed(datastore::Datastore& store, const datastore::AttemptId& id) {
  auto manifest = store.read_manifest(id);
  if (!manifest) {
    throw std::runtime_error("parent " + describe(id) + " has no manifest " +
                             datastore::Datastore::manifest_key(id) + " in " + store.url() +
                             " (it did not commit)");
  }
  return std::move(*manifest);
}

// Artifact names become paths below the inputs directory: never above it.
void check_artifact_name(const std::string& name) {
  if (name.empty() || name.front() == '/' || name.find('\0') != std::string::npos) {
    throw std::runtime_error("invalid artifact name '" + name + "'");
  }
  for (std::size_t start = 0; start <= name.size();) {
    const std::size_t end = std::min(name.find('/', start), name.size());
    const std::string_view part(name.data() + start, end - start);
    if (part.empty() || part == "." || part == "..") {
      throw std::runtime_error("invalid artifact name '" + name + "'");
    }
    start = end + 1;
  }
}

struct Fetch {
  const datastore::BlobRef* blob;
  std::filesystem::path destination;
  const std::string* name;
  std::string shown_name;
};

struct FileState {
  std::uint64_t device = 0;
  std::uint64_t inode = 0;
  std::int64_t modified_ns = 0;
  std::int64_t size = 0;
};

std::optional<FileState> file_state(const std::filesystem::path& path) {
  struct stat status {};
  if (::stat(path.c_str(), &status) != 0) return std::nullopt;
  return FileState{
      static_cast<std::uint64_t>(status.st_dev), static_cast<std::uint64_t>(status.st_ino),
      static_cast<std::int64_t>(status.st_mtim.tv_sec) * 1000000000 + status.st_mtim.tv_nsec,
      static_cast<std::int64_t>(status.st_size)};
}

}  // namespace

TaskInputs prepare_inputs(datastore::Datastore& store, const TaskSpec& spec,
                          const std::filesystem::path& work_dir) {
  TaskInputs inputs;
  inputs.directory = work_dir / "inputs";
  inputs.task_list = work_dir / "input-tasks";
  datastore::create_directories_or_throw(inputs.directory);

  const std::vector<ParentTask> parents = parent_tasks(spec);
  std::vector<datastore::Manifest> manifests(parents.size());
  const std::size_t manifest_threads =
      datastore::transfer_threads(store, parents.size(), 0, kReadThreads);
  datastore::parallel_for(parents.size(), manifest_threads, [&](std::size_t, std::size_t i) {
    manifests[i] = read_committed(
        store, {spec.flow, spec.run, parents[i].step, parents[i].task, parents[i].attempt});
  });

  {
    std::ofstream list(inputs.task_list, std::ios::trunc);
    for (const auto& parent : parents) list << parent.task << "\n";
    if (!list) throw std::runtime_error("cannot write " + inputs.task_list.string());
  }

  std::vector<Fetch> fetches;
  for (std::size_t i = 0; i < parents.size(); ++i) {
    const auto base = spec.join ? inputs.directory / parents[i].task : inputs.directory;
    for (const auto& [name, blob] : manifests[i].artifacts) {
      check_artifact_name(name);
      fetches.push_back(
          {&blob, base / name, &name, spec.join ? parents[i].task + "/" + name : name});
    }
  }
  // Directories first (one thread), then the links or downloads in parallel.
  std::uint64_t bytes = 0;
  for (const auto& fetch : fetches) {
    datastore::create_directories_or_throw(fetch.destination.parent_path());
    bytes += fetch.blob->size;
  }
  const std::size_t fetch_threads =
      datastore::transfer_threads(store, fetches.size(), bytes, kReadThreads);
  datastore::parallel_for(fetches.size(), fetch_threads, [&](std::size_t, std::size_t i) {
    store.fetch_artifact(spec.flow, *fetches[i].blob, fetches[i].destination, *fetches[i].name);
  });
  for (const auto& fetch : fetches) {
    const std::string key = datastore::Datastore::blob_key(spec.flow, fetch.blob->sha256);
    if (const auto blob_file = store.objects().local_path(key)) {
      const auto state = file_state(*blob_file);
      const auto input = file_state(fetch.destination);
      // Only a hard link shares the blob's inode; a copy or a reflink is the step's own.
      if (state && input && state->inode == input->inode && state->device == input->device) {
        inputs.linked.push_back({fetch.shown_name, fetch.blob->sha256, key, *blob_file,
                                 state->inode, state->modified_ns, state->size});
      }
    }
  }
  if (!spec.join && !manifests.empty()) inputs.inherited = manifests.front().artifacts;

  if (spec.foreachInput) {
    const auto& input = *spec.foreachInput;
    const datastore::AttemptId id{spec.flow, spec.run, input.step, input.task, input.attempt};
    // The foreach task is usually the parent, whose manifest is already here.
    const datastore::Manifest* foreach_manifest = nullptr;
    for (std::size_t i = 0; i < parents.size(); ++i) {
      if (manifests[i].id == id) foreach_manifest = &manifests[i];
    }
    datastore::Manifest read;
    if (foreach_manifest == nullptr) {
      read = read_committed(store, id);
      foreach_manifest = &read;
    }
    const std::string item =
        read_foreach_item(store, *foreach_manifest, static_cast<std::uint64_t>(input.index));
    inputs.foreach_item_file = work_dir / "foreach-item.json";
    std::ofstream file(*inputs.foreach_item_file, std::ios::binary | std::ios::trunc);
    file << item;
    if (!file) throw std::runtime_error("cannot write " + inputs.foreach_item_file->string());
  }
  return inputs;
}

const LinkedInput* find_modified_input(const TaskInputs& inputs) {
  std::uint64_t budget = kRehashBudgetBytes;
  for (const auto& input : inputs.linked) {
    const auto state = file_state(input.blob_file);
    // Another inode under the name is a blob stored again (renamed over), not our link changed.
    if (!state || state->inode != input.inode) continue;
    if (state->modified_ns != input.modified_ns || state->size != input.size) return &input;
    const auto size = static_cast<std::uint64_t>(state->size);
    if (size > budget) continue;
    budget -= size;
    try {
      if (datastore::sha256_file(input.blob_file).sha256 != input.sha256) return &input;
    } catch (const std::exception&) {
      // Unreadable now (removed meanwhile): not evidence that the step wrote to it.
    }
  }
  return nullptr;
}

}  // namespace podflow::runtime
