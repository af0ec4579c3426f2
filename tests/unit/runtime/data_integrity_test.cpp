// Issue 18: what a careless or hostile step must not be able to do to the datastore, through the
// real podflow-runtime binary: take a user's file into the store by chmod-ing it, write to a blob
// after the commit from a process it left behind, destroy a blob other runs share, or leave
// temporary files behind on a full disk.
#include <doctest/doctest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <cstring>
#include <thread>

#include "datastore/datastore.hpp"
#include "datastore/local_object_store.hpp"
#include "datastore/sha256.hpp"
#include "tests/unit/datastore/small_filesystem.hpp"
#include "tests/unit/runtime/runtime_process.hpp"

using nlohmann::json;
using podflow::datastore::AttemptId;
using podflow::datastore::Datastore;
using podflow::testing::read_file;
using podflow::testing::run_runtime;
using podflow::testing::ScratchDirectory;
using podflow::testing::task_spec;
using podflow::testing::write_file;
namespace fs = std::filesystem;

namespace {

Datastore open_store(const ScratchDirectory& scratch) {
  return Datastore(std::make_unique<podflow::datastore::LocalObjectStore>(scratch / "store"));
}

AttemptId attempt_of(const std::string& step, const std::string& task) {
  return {"demo", "1", step, task, 0};
}

// The blob file behind a committed artifact.
fs::path blob_file(const ScratchDirectory& scratch, const std::string& step,
                   const std::string& name) {
  auto store = open_store(scratch);
  const auto manifest = store.read_manifest(attempt_of(step, step));
  REQUIRE(manifest.has_value());
  REQUIRE(manifest->artifacts.contains(name));
  return scratch / "store" / Datastore::blob_key("demo", manifest->artifacts.at(name).sha256);
}

// A marker unique to this test process, to find the processes a step left behind.
std::string marker(const std::string& what) {
  return "podflow-" + what + "-" + std::to_string(::getpid());
}

// Processes (not zombies) whose command line contains `text`.
int processes_with(const std::string& text) {
  int found = 0;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator("/proc", error)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = read_file(entry.path() / "cmdline");
    for (char& c : cmdline) {
      if (c == '\0') c = ' ';
    }
    if (cmdline.find(text) == std::string::npos) continue;
    const std::string stat = read_file(entry.path() / "stat");
    const auto close = stat.rfind(')');
    if (close != std::string::npos && stat.size() > close + 2 && stat[close + 2] == 'Z') continue;
    ++found;
  }
  return found;
}

// True once no such process is left, waiting at most `limit`.
bool all_gone_within(const std::string& text, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (processes_with(text) > 0) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

bool wait_for_file(const fs::path& path, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (read_file(path).empty()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

bool process_gone(pid_t pid) {
  const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return true;
  const auto close = stat.rfind(')');
  return close != std::string::npos && stat.size() > close + 2 && stat[close + 2] == 'Z';
}

bool blob_matches_its_name(const fs::path& blob) {
  return podflow::datastore::sha256_file(blob).sha256 == blob.filename().string();
}

unsigned permission_bits(const fs::path& path) {
  struct stat status {};
  REQUIRE(::stat(path.c_str(), &status) == 0);
  return status.st_mode & 07777;
}

}  // namespace

TEST_CASE("an output hard-linked to a file outside is copied: the file keeps its mode and edits") {
  ScratchDirectory scratch;
  const auto outside = scratch / "private.txt";
  write_file(outside, "secret v1\n");
  REQUIRE(::chmod(outside.c_str(), 0600) == 0);

  const auto run = run_runtime(
      scratch,
      task_spec(scratch, "start", "start", "ln " + outside.string() + " $PODFLOW_OUTPUTS/x"));
  REQUIRE(run.exit_code == 0);
  CHECK(permission_bits(outside) == 0600);  // never made world-readable
  const auto blob = blob_file(scratch, "start", "x");
  CHECK(read_file(blob) == "secret v1\n");
  CHECK(permission_bits(blob) == 0444);

  write_file(outside, "secret v2, edited later\n");  // the user's file is still the user's
  CHECK(read_file(blob) == "secret v1\n");
  CHECK(blob_matches_its_name(blob));
}

TEST_CASE("an output the step owns alone is still moved into the store, not copied") {
  ScratchDirectory scratch;
  const auto run = run_runtime(
      scratch, task_spec(scratch, "start", "start",
                         "printf own > $PODFLOW_OUTPUTS/x; stat -c %i $PODFLOW_OUTPUTS/x"));
  REQUIRE(run.exit_code == 0);
  struct stat status {};
  const auto blob = blob_file(scratch, "start", "x");
  REQUIRE(::stat(blob.c_str(), &status) == 0);
  CHECK(std::to_string(status.st_ino) + "\n" == run.stdout_text);  // the same inode: moved
  CHECK(permission_bits(blob) == 0444);
}

TEST_CASE("a process the step started with setsid is killed before the outputs are stored") {
  ScratchDirectory scratch;
  const std::string name = marker("setsid-writer");
  const auto ready = scratch / "ready";
  // The straggler holds the output open and appends after the runtime's 2 s drain: on a runtime
  // that lets it live, it writes into the stored blob (the same inode, moved into the store).
  // The step waits until it has left the group, so the test does not depend on timing.
  const auto run = run_runtime(
      scratch, task_spec(scratch, "start", "start",
                         "echo data > $PODFLOW_OUTPUTS/out; "
                         "setsid sh -c 'exec 3>>\"$1\"; touch \"$2\"; sleep 3; echo late >&3' " +
                             name + " \"$PODFLOW_OUTPUTS/out\" " + ready.string() +
                             " > /dev/null 2>&1 & "
                             "while [ ! -e " +
                             ready.string() + " ]; do sleep 0.01; done"));
  REQUIRE(run.exit_code == 0);
  CHECK(run.result["status"] == "succeeded");
  CHECK(all_gone_within(name, std::chrono::seconds(2)));
  const auto blob = blob_file(scratch, "start", "out");
  std::this_thread::sleep_for(std::chrono::seconds(4));
  CHECK(read_file(blob) == "data\n");
  CHECK(blob_matches_its_name(blob));
}

TEST_CASE(
    "--parent-pid: when the parent is SIGKILLed the runtime stops the step and its "
    "setsid'd descendants") {
  ScratchDirectory scratch;
  const std::string name = marker("orphan");
  const auto started = scratch / "started";
  auto spec = task_spec(scratch, "start", "start",
                        "setsid sh -c 'sleep 300' " + name + " > /dev/null 2>&1 & echo yes > " +
                            started.string() + "; sleep 300");
  spec["graceSeconds"] = 1;
  write_file(scratch / "spec.json", spec.dump());
  // The parent: a shell that starts the runtime with --parent-pid $$ and waits for it.
  const std::string script = "\"$0\" --task " + (scratch / "spec.json").string() + " --result " +
                             (scratch / "result.json").string() + " --parent-pid $$ & echo $! > " +
                             (scratch / "runtime.pid").string() + "; wait";
  std::vector<std::string> arguments = {"sh", "-c", script, podflow::testing::runtime_binary()};
  std::vector<char*> argv;
  for (auto& argument : arguments) argv.push_back(argument.data());
  argv.push_back(nullptr);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attributes, &empty);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
  pid_t parent = -1;
  REQUIRE(posix_spawnp(&parent, "sh", nullptr, &attributes, argv.data(), environ) == 0);
  posix_spawnattr_destroy(&attributes);

  const bool step_started = wait_for_file(started, std::chrono::seconds(10));
  const bool runtime_known = wait_for_file(scratch / "runtime.pid", std::chrono::seconds(10));
  ::kill(parent, SIGKILL);
  ::waitpid(parent, nullptr, 0);
  REQUIRE(step_started);
  REQUIRE(runtime_known);
  const pid_t runtime = std::stoi(read_file(scratch / "runtime.pid"));
  const auto group = read_file(scratch / "work/start/step.pgid");

  // grace (1 s) + 2 s
  CHECK(all_gone_within(name, std::chrono::seconds(3)));
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (!process_gone(runtime) && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(process_gone(runtime));
  if (!group.empty()) CHECK(::kill(-std::stoi(group), 0) != 0);  // the step's group is empty
  const auto result = json::parse(read_file(scratch / "result.json"), nullptr, false);
  CHECK(result["status"] == "killed");
  CHECK(result["reason"] == "stopped: podflow-runtime received SIGTERM");
}

TEST_CASE("--parent-pid naming a process that is not the parent stops the task at once") {
  ScratchDirectory scratch;
  const auto ran = scratch / "ran";
  auto spec = task_spec(scratch, "start", "start", "touch " + ran.string() + "; sleep 300");
  write_file(scratch / "spec.json", spec.dump());
  // pid 1 is never this test's child process's parent here: the parent "died" before prctl.
  const std::string command = podflow::testing::runtime_binary() + " --task " +
                              (scratch / "spec.json").string() + " --result " +
                              (scratch / "result.json").string() + " --parent-pid 1";
  const auto started = std::chrono::steady_clock::now();
  const int status = std::system(command.c_str());
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(20));
  CHECK(WEXITSTATUS(status) == 1);
  const auto result = json::parse(read_file(scratch / "result.json"), nullptr, false);
  CHECK(result["status"] == "killed");
  CHECK_FALSE(fs::exists(ran));  // the step never started
}

TEST_CASE(
    "a full datastore filesystem: the message says where and what uses the space, and no "
    "temporary file is left") {
  ScratchDirectory scratch;
  const auto root = scratch / "store";
  podflow::testing::SmallFilesystem small(root, "2m");
  if (!small.mounted()) {
    MESSAGE("SKIPPED: cannot mount a 2 MiB tmpfs at " << root.string() << " (" << small.why_not()
                                                      << "); run the tests as root to check "
                                                         "ENOSPC handling");
    return;
  }

  const auto run = run_runtime(
      scratch, task_spec(scratch, "start", "start",
                         "head -c 3145728 /dev/urandom > $PODFLOW_OUTPUTS/big; echo small > "
                         "$PODFLOW_OUTPUTS/small"));
  CHECK(run.exit_code == 1);
  CHECK(run.result["status"] == "failed");
  const std::string reason = run.result["reason"].get<std::string>();
  CAPTURE(reason);
  CHECK(reason.find("No space left on device") != std::string::npos);
  CHECK(reason.find(root.string()) != std::string::npos);
  // Outputs are stored side by side: the big one fills the disk, and either it or the small one
  // (whose write comes while the big one's partial file still holds the space) meets ENOSPC first.
  const std::string outputs = (scratch / "work/start/outputs/").string();
  CHECK((reason.starts_with("cannot store " + outputs +
                            "big (3.0 MiB) in the datastore: cannot write ") ||
         reason.starts_with("cannot store " + outputs +
                            "small (6 bytes) in the datastore: cannot write ")));
  CHECK(reason.find(" free of 2.0 MiB (after removing the partial file)") != std::string::npos);
  CHECK(reason.find("podflow keeps there the datastore " + root.string() + " (") !=
        std::string::npos);
  CHECK(reason.find("demo ") != std::string::npos);  // the flow's folder and its size
  CHECK(reason.find("or put the datastore on a larger filesystem") != std::string::npos);
  CHECK(podflow::testing::temporary_files(root).empty());
  CHECK_FALSE(open_store(scratch).read_manifest(attempt_of("start", "start")).has_value());

  // The work directory on the same full filesystem: nothing left either.
  auto inside =
      task_spec(scratch, "again", "again", "head -c 3145728 /dev/urandom > $PODFLOW_OUTPUTS/big");
  inside["workDir"] = (root / "_work/again").string();
  const auto second = run_runtime(scratch, inside);
  CHECK(second.exit_code == 1);
  CHECK(podflow::testing::temporary_files(root).empty());
  CHECK_FALSE(fs::exists(root / "_work/again"));
}
