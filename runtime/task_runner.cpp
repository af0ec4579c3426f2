#include "runtime/task_runner.hpp"

#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <thread>
#include <utility>

#include "datastore/artifact_transfers.hpp"
#include "datastore/datastore.hpp"
#include "datastore/parallel_for.hpp"
#include "datastore/store_error.hpp"
#include "datastore/temporary_file.hpp"
#include "runtime/foreach_list.hpp"
#include "runtime/step_environment.hpp"
#include "runtime/step_process.hpp"
#include "runtime/task_inputs.hpp"
#include "runtime/task_outputs.hpp"
#include "runtime/timestamp.hpp"

extern char** environ;

namespace podflow::runtime {
namespace {

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

constexpr std::size_t kStderrTailBytes = 1024;

std::int64_t milliseconds_since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

std::string read_tail(const fs::path& path, std::size_t bytes) {
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  if (!file) return "";
  const auto size = static_cast<std::size_t>(file.tellg());
  const std::size_t start = size > bytes ? size - bytes : 0;
  file.seekg(static_cast<std::streamoff>(start));
  std::string text(size - start, '\0');
  file.read(text.data(), static_cast<std::streamsize>(text.size()));
  return text;
}

std::string signal_name(int number) {
  const char* name = sigabbrev_np(number);
  return name ? std::string("SIG") + name : "signal " + std::to_string(number);
}

TaskResult killed_result(int signal_number) {
  TaskResult result;
  result.status = TaskStatus::killed;
  result.reason = "stopped: podflow-runtime received " + signal_name(signal_number);
  result.retryable = false;
  return result;
}

// What the task inherits and still sees next to its own outputs: an inherited artifact is hidden
// by an output of the same name, and by one that needs its name as a directory or lives below
// it (an output "model/a" hides an inherited "model", an output "model" hides "model/a").
std::map<std::string, datastore::BlobRef> visible_inherited(
    const std::map<std::string, datastore::BlobRef>& inherited,
    const std::map<std::string, fs::path>& outputs) {
  auto clashes = [&outputs](const std::string& name) {
    if (outputs.contains(name)) return true;
    for (std::size_t slash = name.find('/'); slash != std::string::npos;
         slash = name.find('/', slash + 1)) {
      if (outputs.contains(name.substr(0, slash))) return true;
    }
    const auto below = outputs.lower_bound(name + "/");
    return below != outputs.end() && below->first.starts_with(name + "/");
  };
  std::map<std::string, datastore::BlobRef> visible;
  for (const auto& [name, blob] : inherited) {
    if (!clashes(name)) visible.emplace(name, blob);
  }
  return visible;
}

// PODFLOW_KEEP_WORKDIR=1: keep the work directory for debugging (docs/step-contract.md).
bool keep_work_directory() {
  const char* keep = std::getenv("PODFLOW_KEEP_WORKDIR");
  return keep != nullptr && std::strcmp(keep, "1") == 0;
}

// The logs' upload on a thread of its own, joined by wait() or at the latest by the destructor.
class BackgroundLogs {
 public:
  BackgroundLogs() = default;
  BackgroundLogs(const BackgroundLogs&) = delete;
  BackgroundLogs& operator=(const BackgroundLogs&) = delete;
  ~BackgroundLogs() { wait(); }

  void start(std::function<void()> upload) {
    thread_ = std::thread([this, upload = std::move(upload)] {
      try {
        upload();
      } catch (const std::exception& error) {
        error_ = error.what();
      } catch (...) {
        error_ = "unknown error";
      }
    });
  }
  // Once the upload is over: its error, if any (nullopt when it succeeded or never started).
  std::optional<std::string> wait() {
    if (thread_.joinable()) thread_.join();
    return error_;
  }

 private:
  std::thread thread_;
  std::optional<std::string> error_;
};

// Everything one attempt does, with the state its phases share.
class TaskAttempt {
 public:
  TaskAttempt(const TaskSpec& spec, TerminationSignals& signals)
      : spec_(spec),
        signals_(signals),
        id_{spec.flow, spec.run, spec.step, spec.task, spec.attempt},
        work_dir_(spec.workDir) {}

  TaskResult run() {
    const auto started = Clock::now();
    started_at_ = rfc3339_utc(std::chrono::system_clock::now());
    TaskResult result;
    try {
      result = prepare_and_run();
    } catch (const std::exception& error) {
      result.status = TaskStatus::failed;
      result.reason = error.what();
    }
    if (result.timings.prepareMs == 0 && result.timings.commandMs == 0) {
      result.timings.prepareMs = milliseconds_since(started);
    }
    return result;
  }

 private:
  TaskResult prepare_and_run() {
    const auto prepare_start = Clock::now();
    std::error_code ignored;
    fs::remove_all(work_dir_, ignored);  // an earlier, crashed runtime's leftovers
    datastore::create_directories_or_throw(work_dir_ / "outputs");
    work_dir_identity_ = directory_identity(work_dir_);
    store_ = datastore::open_datastore(spec_.datastore);

    TaskResult result;
    if (const auto received = signals_.termination_signal()) return killed_result(*received);
    try {
      inputs_ = prepare_inputs(*store_, spec_, work_dir_);
    } catch (const std::exception& error) {
      result.reason = error.what();
      result.timings.prepareMs = milliseconds_since(prepare_start);
      store_failure_log(result.reason);
      return result;
    }
    if (const auto received = signals_.termination_signal()) return killed_result(*received);
    result.timings.prepareMs = milliseconds_since(prepare_start);

    const auto command_start = Clock::now();
    const StepOutcome outcome = run_command();
    result.timings.commandMs = milliseconds_since(command_start);
    result.exitCode = outcome.exit_code;

    const auto commit_start = Clock::now();
    commit(outcome, result);
    result.timings.commitMs = milliseconds_since(commit_start);
    return result;
  }

  StepOutcome run_command() {
    StepPaths paths{inputs_.directory, inputs_.task_list, work_dir_ / "outputs",
                    inputs_.foreach_item_file};
    StepCommand command;
    command.argv = spec_.command;
    command.environment = step_environment(spec_, paths, environ);
    if (spec_.workingDir) command.working_directory = fs::path(*spec_.workingDir);
    command.stdout_log = work_dir_ / "stdout.log";
    command.stderr_log = work_dir_ / "stderr.log";
    command.process_group_file = work_dir_ / "step.pgid";
    command.timeout = std::chrono::seconds(spec_.timeoutSeconds);
    command.grace = std::chrono::seconds(spec_.graceSeconds);
    // Set by the operator's pod (docs/api.md): names the image when its program is missing.
    if (const char* image = std::getenv("PODFLOW_STEP_IMAGE")) command.image = image;
    return run_step(command, signals_);
  }

  void commit(const StepOutcome& outcome, TaskResult& result) {
    const bool command_succeeded = outcome.ending == StepEnding::exited && outcome.exit_code == 0;
    if (outcome.ending == StepEnding::could_not_start) {
      // The step printed nothing; its log says why, for `podflow logs`.
      std::ofstream log(work_dir_ / "stderr.log", std::ios::app);
      log << "podflow-runtime: " << outcome.start_error << "\n";
    }
    if (!command_succeeded) {
      result.stderrTail = read_tail(work_dir_ / "stderr.log", kStderrTailBytes);
    }
    // The logs are kept whatever happened; losing them is a failure of its own. A remote store
    // uploads them while the outputs go up (their round trips overlap); the manifest waits for
    // them either way, and they are waited for on every path out of here.
    BackgroundLogs logs;
    if (command_succeeded && !store_->is_local()) {
      logs.start([this] { store_logs(); });
    } else {
      try {
        store_logs();
      } catch (const std::exception& error) {
        if (command_succeeded) {
          result.reason = std::string("cannot store the step's logs: ") + error.what();
          return;
        }
      }
    }

    if (const LinkedInput* modified = find_modified_input(inputs_)) {
      // The shared blob no longer holds the bytes its name promises. Deleting it would leave
      // every manifest that names it pointing at nothing; moving it aside keeps the evidence,
      // makes readers fail saying it is missing instead of reading wrong bytes, and lets the
      // next task that stores these bytes (a retry of the parent, `podflow resume`) re-create it.
      std::string aside;
      try {
        if (const auto key =
                store_->quarantine_blob(spec_.flow, modified->sha256, modified->inode)) {
          aside = "the shared blob " + modified->blob_key +
                  " no longer holds the bytes its sha256 names, so it was moved aside to " + *key +
                  " (kept for inspection, never read as the blob); tasks that read it fail "
                  "until the task that made it runs again: `podflow resume` re-runs it";
        } else {
          aside = "the blob " + modified->blob_key + " was stored again meanwhile";
        }
      } catch (const std::exception& error) {
        aside = std::string("moving the damaged blob aside failed: ") + error.what() + "; delete " +
                modified->blob_file.string() + " so no one reads it";
      }
      result.reason = "the step modified its input '" + modified->name +
                      "'; inputs are read-only (hard links to the datastore's blobs): write a "
                      "changed copy to $PODFLOW_OUTPUTS instead; " +
                      aside;
      result.retryable = false;
      return;
    }

    switch (outcome.ending) {
      case StepEnding::could_not_start:
        // The image (or machine) lacks the program or the directory: another attempt would too.
        result.reason = outcome.start_error;
        result.retryable = false;
        return;
      case StepEnding::timed_out:
        result.reason = "timed out after " + std::to_string(spec_.timeoutSeconds) + " s";
        return;
      case StepEnding::stopped: {
        const int exit_code = result.exitCode;
        const std::string tail = std::move(result.stderrTail);
        result = killed_result(outcome.termination_signal.value_or(SIGTERM));
        result.exitCode = exit_code;
        result.stderrTail = tail;
        return;
      }
      case StepEnding::signaled:
        result.reason = "killed by signal " + std::to_string(outcome.signal);
        return;
      case StepEnding::exited:
        if (outcome.exit_code != 0) {
          result.reason = "exit code " + std::to_string(outcome.exit_code);
          return;
        }
        break;
    }

    try {
      store_outputs(result, logs);
    } catch (const ForeachListError& error) {
      result.reason = error.what();
      result.retryable = false;
    } catch (const OutputError& error) {
      result.reason = error.what();
      result.retryable = false;
    } catch (const std::exception& error) {
      result.reason = error.what();
    }
  }

  void store_logs() {
    const std::pair<datastore::LogStream, const char*> logs[] = {
        {datastore::LogStream::standard_output, "stdout.log"},
        {datastore::LogStream::standard_error, "stderr.log"}};
    datastore::parallel_for(2, store_->is_local() ? 1 : 2, [&](std::size_t, std::size_t i) {
      store_->put_log_file(id_, logs[i].first, work_dir_ / logs[i].second);
    });
  }

  // The success path: outputs become blobs, the foreach list is indexed, the manifest goes last.
  void store_outputs(TaskResult& result, BackgroundLogs& logs) {
    check_outputs_directory(work_dir_, work_dir_identity_);
    const auto outputs = list_outputs(work_dir_ / "outputs");
    std::optional<ForeachList> list;
    if (spec_.foreach) {
      const std::string& name = spec_.foreach->artifact;
      fs::path file;
      if (const auto own = outputs.find(name); own != outputs.end()) {
        file = own->second;
      } else if (inputs_.inherited.contains(name)) {
        file = inputs_.directory / name;
      } else {
        throw ForeachListError("foreach artifact '" + name +
                               "' was not produced: the step wrote no $PODFLOW_OUTPUTS/" + name +
                               " and inherited none");
      }
      list = index_foreach_list(file, name, spec_.foreach->maxNumSplits);
    }

    datastore::Manifest manifest;
    manifest.id = id_;
    manifest.artifacts = visible_inherited(inputs_.inherited, outputs);  // a join's is empty
    // In parallel: 10,000 small outputs must not cost 10,000 sequential round trips to S3.
    std::vector<std::string> names;
    std::vector<fs::path> files;
    for (const auto& [name, file] : outputs) {
      names.push_back(name);
      files.push_back(file);
    }
    const auto blobs = datastore::store_artifacts(*store_, spec_.flow, files);
    for (std::size_t i = 0; i < names.size(); ++i) manifest.artifacts[names[i]] = blobs[i];
    if (list) {
      const auto index = store_->store_artifact_bytes(spec_.flow, list->index);
      manifest.foreach =
          datastore::ForeachIndex{spec_.foreach->artifact, list->count, index.sha256};
      result.splitCount = static_cast<std::int64_t>(list->count);
    }
    if (const auto error = logs.wait()) {
      throw std::runtime_error(std::string("cannot store the step's logs: ") + *error);
    }
    manifest.startedAt = started_at_;
    manifest.finishedAt = rfc3339_utc(std::chrono::system_clock::now());
    manifest.exitCode = 0;

    // The last chance to honour a stop: after this line the task has happened.
    if (const auto received = signals_.termination_signal()) {
      result = killed_result(*received);
      result.exitCode = 0;
      return;
    }
    {
      // Nothing in the work directory is read after this point. A remote manifest PUT is a
      // round trip of idle waiting: remove the directory meanwhile (run_task removes whatever
      // is left, after any outcome).
      std::jthread cleanup;
      if (!store_->is_local() && !keep_work_directory()) {
        cleanup = std::jthread([this] {
          std::error_code ignored;
          fs::remove_all(work_dir_, ignored);
        });
      }
      store_->write_manifest(manifest);
    }
    result.status = TaskStatus::succeeded;
    result.reason.clear();
    result.manifest = datastore::Datastore::manifest_key(id_);
  }

  // When the step never ran, its stderr log says why, so `podflow logs` shows it.
  void store_failure_log(const std::string& reason) {
    try {
      store_->put_log(id_, datastore::LogStream::standard_error,
                      "podflow-runtime: the step did not run: " + reason + "\n");
    } catch (const std::exception&) {
      // The result carries the reason anyway.
    }
  }

  const TaskSpec& spec_;
  TerminationSignals& signals_;
  const datastore::AttemptId id_;
  const fs::path work_dir_;
  DirectoryIdentity work_dir_identity_;
  std::unique_ptr<datastore::Datastore> store_;
  TaskInputs inputs_;
  std::string started_at_;
};

}  // namespace

TaskResult run_task(const TaskSpec& spec, TerminationSignals& signals) {
  TaskResult result = TaskAttempt(spec, signals).run();
  kill_descendants();  // run_step already did; this covers a step interrupted by an exception
  if (!keep_work_directory()) {
    std::error_code ignored;
    std::filesystem::remove_all(spec.workDir, ignored);
  }
  return result;
}

}  // namespace podflow::runtime
