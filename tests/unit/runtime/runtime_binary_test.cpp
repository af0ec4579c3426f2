// podflow-runtime as the executors run it: a real process, real step commands (sh, python3),
// a real local datastore in a temporary directory.
#include <doctest/doctest.h>
#include <signal.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "datastore/datastore.hpp"
#include "datastore/local_object_store.hpp"
#include "datastore/sha256.hpp"
#include "tests/unit/runtime/runtime_process.hpp"

using nlohmann::json;
using podflow::datastore::AttemptId;
using podflow::datastore::Datastore;
using podflow::datastore::LogStream;
using podflow::testing::read_file;
using podflow::testing::run_runtime;
using podflow::testing::RuntimeProcess;
using podflow::testing::ScratchDirectory;
using podflow::testing::task_spec;
using podflow::testing::write_file;

namespace {

Datastore open_store(const ScratchDirectory& scratch) {
  return Datastore(std::make_unique<podflow::datastore::LocalObjectStore>(scratch / "store"));
}

AttemptId attempt_of(const std::string& step, const std::string& task, std::int64_t attempt = 0) {
  return {"demo", "1", step, task, attempt};
}

// The bytes of an artifact a task committed.
std::string artifact_text(Datastore& store, const AttemptId& attempt, const std::string& name) {
  const auto manifest = store.read_manifest(attempt);
  REQUIRE(manifest.has_value());
  const auto found = manifest->artifacts.find(name);
  REQUIRE_MESSAGE(found != manifest->artifacts.end(), "no artifact " << name);
  const auto bytes = store.objects().get_bytes(Datastore::blob_key("demo", found->second.sha256));
  REQUIRE_MESSAGE(bytes.has_value(), "the blob of " << name << " is missing");
  return *bytes;
}

json parent(const std::string& step, json prefix = json::array()) {
  return {{"step", step}, {"prefix", prefix}};
}

// True once no process with this id exists (a zombie counts as gone).
bool process_gone(pid_t pid) {
  for (int i = 0; i < 1000; ++i) {
    const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
    if (stat.empty()) return true;
    const auto close = stat.rfind(')');
    if (close != std::string::npos && stat.size() > close + 2 && stat[close + 2] == 'Z') {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

void wait_for_file(const std::filesystem::path& path) {
  for (int i = 0; i < 1000 && read_file(path).empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

TEST_CASE("a linear task stores its outputs, its logs and then its manifest") {
  ScratchDirectory scratch;
  const auto run =
      run_runtime(scratch, task_spec(scratch, "start", "start",
                                     "echo to-stdout; echo to-stderr >&2; "
                                     "mkdir -p $PODFLOW_OUTPUTS/model && "
                                     "printf weights > $PODFLOW_OUTPUTS/model/weights.bin && "
                                     "printf 42 > $PODFLOW_OUTPUTS/answer"));
  CHECK(run.exit_code == 0);
  CHECK(run.result["status"] == "succeeded");
  CHECK(run.result["manifest"] == "demo/1/start/start/0/manifest.json");
  CHECK(run.result["exitCode"] == 0);
  CHECK(run.result["retryable"] == true);
  CHECK(run.result["timings"].contains("commitMs"));
  CHECK(run.stdout_text == "to-stdout\n");  // copied through, for `kubectl logs`
  CHECK(run.stderr_text == "to-stderr\n");

  auto store = open_store(scratch);
  const auto manifest = store.read_manifest(attempt_of("start", "start"));
  REQUIRE(manifest.has_value());
  CHECK(manifest->artifacts.size() == 2);
  CHECK(manifest->artifacts.at("model/weights.bin").sha256 ==
        podflow::datastore::sha256_hex("weights"));
  CHECK(manifest->artifacts.at("answer").size == 2);
  CHECK(manifest->startedAt.ends_with("Z"));
  CHECK(manifest->startedAt <= manifest->finishedAt);
  CHECK(store.get_log(attempt_of("start", "start"), LogStream::standard_output) == "to-stdout\n");
  CHECK(store.get_log(attempt_of("start", "start"), LogStream::standard_error) == "to-stderr\n");
  CHECK_FALSE(std::filesystem::exists(scratch / "work/start"));  // the work dir is removed
}

TEST_CASE("a child sees inherited artifacts read-only, and its own outputs win") {
  ScratchDirectory scratch;
  REQUIRE(run_runtime(scratch, task_spec(scratch, "start", "start",
                                         "printf one > $PODFLOW_OUTPUTS/a; "
                                         "printf old > $PODFLOW_OUTPUTS/b"))
              .exit_code == 0);
  auto spec = task_spec(scratch, "middle", "middle",
                        "cat $PODFLOW_INPUTS/a > $PODFLOW_OUTPUTS/seen; "
                        "printf new > $PODFLOW_OUTPUTS/b; "
                        "if [ $(id -u) != 0 ] && printf x >> $PODFLOW_INPUTS/a 2>/dev/null; "
                        "then echo writable; fi; "
                        "cat $PODFLOW_INPUT_TASKS > $PODFLOW_OUTPUTS/tasks");
  spec["parents"] = {parent("start")};
  const auto run = run_runtime(scratch, spec);
  CHECK(run.exit_code == 0);
  CHECK(run.stdout_text.find("writable") == std::string::npos);

  auto store = open_store(scratch);
  CHECK(artifact_text(store, attempt_of("middle", "middle"), "seen") == "one");
  CHECK(artifact_text(store, attempt_of("middle", "middle"), "a") == "one");  // inherited
  CHECK(artifact_text(store, attempt_of("middle", "middle"), "b") == "new");  // own wins
  CHECK(artifact_text(store, attempt_of("middle", "middle"), "tasks") == "start\n");

  // Names that clash as paths: the own output hides the inherited artifact.
  auto shadow = task_spec(scratch, "shadow", "shadow",
                          "mkdir $PODFLOW_OUTPUTS/a && printf deep > $PODFLOW_OUTPUTS/a/inner");
  shadow["parents"] = {parent("middle")};
  REQUIRE(run_runtime(scratch, shadow).exit_code == 0);
  const auto shadowed = store.read_manifest(attempt_of("shadow", "shadow"));
  CHECK_FALSE(shadowed->artifacts.contains("a"));
  CHECK(shadowed->artifacts.contains("a/inner"));
  CHECK(shadowed->artifacts.contains("b"));

  // A grandchild inherits through the middle step without reading anything.
  auto end = task_spec(scratch, "end", "end", "cat $PODFLOW_INPUTS/a $PODFLOW_INPUTS/b");
  end["parents"] = {parent("middle")};
  const auto end_run = run_runtime(scratch, end);
  CHECK(end_run.stdout_text == "onenew");
}

TEST_CASE("a join sees one directory per parent task, and PODFLOW_INPUT_TASKS in order") {
  ScratchDirectory scratch;
  for (const char* branch : {"left", "right"}) {
    auto spec = task_spec(scratch, branch, branch,
                          std::string("printf ") + branch + " > $PODFLOW_OUTPUTS/side");
    REQUIRE(run_runtime(scratch, spec).exit_code == 0);
  }
  auto join = task_spec(scratch, "join", "join",
                        "cat $PODFLOW_INPUT_TASKS; for t in $(cat $PODFLOW_INPUT_TASKS); do "
                        "cat $PODFLOW_INPUTS/$t/side; echo; done; ls $PODFLOW_INPUTS; "
                        "printf joined > $PODFLOW_OUTPUTS/result");
  join["join"] = true;
  join["parents"] = {parent("right"), parent("left")};  // `next` order decides
  const auto run = run_runtime(scratch, join);
  CHECK(run.exit_code == 0);
  CHECK(run.stdout_text == "right\nleft\nright\nleft\nleft\nright\n");
  auto store = open_store(scratch);
  const auto manifest = store.read_manifest(attempt_of("join", "join"));
  REQUIRE(manifest.has_value());
  CHECK(manifest->artifacts.size() == 1);  // a join's visible artifacts are its own outputs
  CHECK(manifest->artifacts.contains("result"));
}

TEST_CASE("foreach: the list is indexed and every split gets its own item") {
  ScratchDirectory scratch;
  const json items = json::parse(R"([
    "plain", "a,b]", {"k": "}{,", "n": [1, [2, 3]]}, [",", "]"], "quote \" and \\ backslash",
    3.5, null, "\u00fc\u00f1\u00ee"])");
  write_file(scratch / "items.json", items.dump(2));
  auto start = task_spec(scratch, "start", "start",
                         "cp " + (scratch / "items.json").string() + " $PODFLOW_OUTPUTS/items");
  start["foreach"] = {{"artifact", "items"}, {"maxNumSplits", 100}};
  const auto run = run_runtime(scratch, start);
  REQUIRE(run.exit_code == 0);
  CHECK(run.result["splitCount"] == items.size());
  auto store = open_store(scratch);
  const auto manifest = store.read_manifest(attempt_of("start", "start"));
  REQUIRE(manifest->foreach.has_value());
  CHECK(manifest->foreach->artifact == "items");
  CHECK(manifest->foreach->count == items.size());
  CHECK(store.objects().head(Datastore::blob_key("demo", manifest->foreach->index))->size ==
        16 * items.size());

  for (std::size_t i = 0; i < items.size(); ++i) {
    CAPTURE(i);
    const std::string task = "square." + std::to_string(i);
    auto split = task_spec(scratch, "square", task,
                           "cp $PODFLOW_FOREACH_ITEM $PODFLOW_OUTPUTS/item; "
                           "echo \"$PODFLOW_SPLIT_INDEX $PODFLOW_SPLIT_PATH\"");
    split["splitPath"] = {i};
    split["parents"] = {parent("start")};
    split["foreachInput"] = {{"task", "start"}, {"step", "start"}, {"attempt", 0}, {"index", i}};
    const auto split_run = run_runtime(scratch, split);
    REQUIRE(split_run.exit_code == 0);
    CHECK(split_run.stdout_text == std::to_string(i) + " " + std::to_string(i) + "\n");
    CHECK(json::parse(artifact_text(store, attempt_of("square", task), "item")) == items[i]);
  }

  // The join of all splits, with a retried split's attempt named in the group.
  auto join = task_spec(scratch, "join", "join",
                        "cat $PODFLOW_INPUT_TASKS | tr '\\n' ' '; ls $PODFLOW_INPUTS | wc -l");
  join["join"] = true;
  join["parents"] = {{{"step", "square"}, {"prefix", json::array()}, {"splits", items.size()}}};
  const auto join_run = run_runtime(scratch, join);
  CHECK(join_run.exit_code == 0);
  CHECK(join_run.stdout_text ==
        "square.0 square.1 square.2 square.3 square.4 square.5 square.6 square.7 8\n");
}

TEST_CASE("foreach: python writes the list, as a step in any language may") {
  ScratchDirectory scratch;
  auto start = task_spec(scratch, "start", "start", "");
  start["command"] = {
      "python3", "-c",
      "import json, os\n"
      "with open(os.path.join(os.environ['PODFLOW_OUTPUTS'], 'items'), 'w') as f:\n"
      "    json.dump([{'id': i} for i in range(int(os.environ['PODFLOW_PARAM_N']))],"
      " f)\n"};
  start["parameters"] = {{{"name", "n"}, {"value", "5"}}};
  start["foreach"] = {{"artifact", "items"}, {"maxNumSplits", 5}};
  const auto run = run_runtime(scratch, start);
  CHECK(run.exit_code == 0);
  CHECK(run.result["splitCount"] == 5);
}

TEST_CASE("foreach: unusable lists fail the task with the message, and commit nothing") {
  struct Case {
    std::string list;
    std::int64_t max_num_splits;
    std::string reason;
  };
  std::string many = "[0";
  for (int i = 1; i < 101; ++i) many += "," + std::to_string(i);
  many += "]";
  const Case cases[] = {
      {"[]", 100, "foreach artifact 'items' is an empty list; a foreach needs at least one item"},
      {"{\"a\": [1]}", 100, "foreach artifact 'items' is not a JSON array (it starts with '{')"},
      {many, 100,
       "foreach artifact 'items' has 101 items, more than max-num-splits 100; raise it with "
       "--max-num-splits 101 (or maxNumSplits on the FlowRun)"},
  };
  for (const auto& test : cases) {
    CAPTURE(test.reason);
    ScratchDirectory scratch;
    write_file(scratch / "items.json", test.list);
    auto start = task_spec(scratch, "start", "start",
                           "cp " + (scratch / "items.json").string() + " $PODFLOW_OUTPUTS/items");
    start["foreach"] = {{"artifact", "items"}, {"maxNumSplits", test.max_num_splits}};
    const auto run = run_runtime(scratch, start);
    CHECK(run.exit_code == 1);
    CHECK(run.result["status"] == "failed");
    CHECK(run.result["reason"] == test.reason);
    CHECK(run.result["retryable"] == false);
    auto store = open_store(scratch);
    CHECK_FALSE(store.read_manifest(attempt_of("start", "start")).has_value());
    CHECK(store.get_log(attempt_of("start", "start"), LogStream::standard_error).has_value());
  }

  ScratchDirectory scratch;
  auto missing = task_spec(scratch, "start", "start", "true");
  missing["foreach"] = {{"artifact", "items"}};
  const auto run = run_runtime(scratch, missing);
  CHECK(run.result["reason"] ==
        "foreach artifact 'items' was not produced: the step wrote no $PODFLOW_OUTPUTS/items "
        "and inherited none");
}

TEST_CASE("a step that writes to a shared input (possible as root) fails; the blob is kept aside") {
  ScratchDirectory scratch;
  // 2 MiB: above the size below which inputs are copied, so it is a hard link to the blob.
  REQUIRE(run_runtime(scratch, task_spec(scratch, "start", "start",
                                         "head -c 2097152 /dev/urandom > $PODFLOW_OUTPUTS/a"))
              .exit_code == 0);
  auto store = open_store(scratch);
  const auto blob = store.read_manifest(attempt_of("start", "start"))->artifacts.at("a");
  const std::string key = Datastore::blob_key("demo", blob.sha256);
  auto spec = task_spec(scratch, "middle", "middle",
                        "chmod u+w $PODFLOW_INPUTS/a && printf x >> $PODFLOW_INPUTS/a");
  spec["parents"] = {parent("start")};
  const auto run = run_runtime(scratch, spec);
  CHECK(run.exit_code == 1);
  const std::string reason = run.result["reason"].get<std::string>();
  CHECK(reason.starts_with("the step modified its input 'a'; inputs are read-only"));
  CHECK(reason.find("the shared blob " + key +
                    " no longer holds the bytes its sha256 names, so it was moved aside to "
                    "demo/quarantine/" +
                    blob.sha256 + ".") != std::string::npos);
  CHECK(run.result["retryable"] == false);
  // Nobody reads the wrong bytes under the blob's name; the damaged bytes are kept aside.
  CHECK_FALSE(store.objects().head(key).has_value());
  const auto aside = store.objects().list("demo/quarantine/");
  REQUIRE(aside.size() == 1);
  CHECK(aside[0].size == blob.size + 1);
  CHECK_FALSE(store.read_manifest(attempt_of("middle", "middle")).has_value());
  CHECK_FALSE(store.blob_intact("demo", blob));
}

TEST_CASE("a rewrite of a shared input that keeps its size and time is caught by its hash") {
  ScratchDirectory scratch;
  REQUIRE(run_runtime(scratch, task_spec(scratch, "start", "start",
                                         "head -c 2097152 /dev/zero > $PODFLOW_OUTPUTS/a"))
              .exit_code == 0);
  auto spec = task_spec(scratch, "middle", "middle",
                        "touch -r $PODFLOW_INPUTS/a $PODFLOW_OUTPUTS/stamp && "
                        "chmod u+w $PODFLOW_INPUTS/a && "
                        "printf X | dd of=$PODFLOW_INPUTS/a conv=notrunc 2>/dev/null && "
                        "touch -r $PODFLOW_OUTPUTS/stamp $PODFLOW_INPUTS/a");
  spec["parents"] = {parent("start")};
  const auto run = run_runtime(scratch, spec);
  CHECK(run.exit_code == 1);
  CHECK(run.result["reason"].get<std::string>().starts_with("the step modified its input 'a'"));
  CHECK(open_store(scratch).objects().list("demo/quarantine/").size() == 1);
}

TEST_CASE("a small input is the step's own copy: writing to it cannot touch the shared blob") {
  ScratchDirectory scratch;
  REQUIRE(
      run_runtime(scratch, task_spec(scratch, "start", "start", "printf one > $PODFLOW_OUTPUTS/a"))
          .exit_code == 0);
  auto spec = task_spec(scratch, "middle", "middle",
                        "chmod u+w $PODFLOW_INPUTS/a && printf x >> $PODFLOW_INPUTS/a && "
                        "cat $PODFLOW_INPUTS/a");
  spec["parents"] = {parent("start")};
  const auto run = run_runtime(scratch, spec);
  CHECK(run.exit_code == 0);
  CHECK(run.stdout_text == "onex");
  auto store = open_store(scratch);
  CHECK(artifact_text(store, attempt_of("start", "start"), "a") == "one");
  CHECK(artifact_text(store, attempt_of("middle", "middle"), "a") == "one");  // inherited as is
}

TEST_CASE("a step's leftover background processes are killed when it exits") {
  ScratchDirectory scratch;
  const auto pid_file = scratch / "background.pid";
  const auto started = std::chrono::steady_clock::now();
  const auto run =
      run_runtime(scratch, task_spec(scratch, "start", "start",
                                     "sleep 300 & echo $! > " + pid_file.string() + "; echo done"));
  CHECK(run.exit_code == 0);
  CHECK(run.stdout_text == "done\n");
  // No waiting for the background process, which holds the output pipe open (the bound is
  // loose for loaded machines; the sleep would take 300 s).
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(30));
  CHECK(process_gone(std::stoi(read_file(pid_file))));
}

TEST_CASE("a 1000-way join reads every parent's manifest and links every input") {
  ScratchDirectory scratch;
  auto store = open_store(scratch);
  for (int i = 0; i < 1000; ++i) {
    podflow::datastore::Manifest manifest;
    manifest.id = attempt_of("square", "square." + std::to_string(i), i == 7 ? 2 : 0);
    manifest.artifacts["value"] = store.store_artifact_bytes("demo", std::to_string(i));
    manifest.startedAt = manifest.finishedAt = "2026-11-21T00:00:00.000Z";
    store.write_manifest(manifest);
  }
  auto join = task_spec(scratch, "join", "join",
                        "ls $PODFLOW_INPUTS | wc -l; cat $PODFLOW_INPUTS/square.7/value; echo; "
                        "cat $PODFLOW_INPUTS/square.999/value; echo; tail -1 $PODFLOW_INPUT_TASKS");
  join["join"] = true;
  join["parents"] = {{{"step", "square"},
                      {"prefix", json::array()},
                      {"splits", 1000},
                      {"attempts", {{"square.7", 2}}}}};
  const auto run = run_runtime(scratch, join);
  CHECK(run.exit_code == 0);
  CHECK(run.stdout_text == "1000\n7\n999\nsquare.999\n");
  MESSAGE("1000-way join: prepare took " << run.result["timings"]["prepareMs"] << " ms");
}

TEST_CASE("foreach over an inherited list") {
  ScratchDirectory scratch;
  REQUIRE(run_runtime(scratch, task_spec(scratch, "start", "start",
                                         "printf '[\"x\", \"y\"]' > $PODFLOW_OUTPUTS/items"))
              .exit_code == 0);
  auto middle = task_spec(scratch, "middle", "middle", "true");
  middle["parents"] = {parent("start")};
  middle["foreach"] = {{"artifact", "items"}, {"maxNumSplits", 2}};
  const auto run = run_runtime(scratch, middle);
  CHECK(run.exit_code == 0);
  CHECK(run.result["splitCount"] == 2);
  auto split = task_spec(scratch, "leaf", "leaf.1", "cat $PODFLOW_FOREACH_ITEM");
  split["splitPath"] = {1};
  split["parents"] = {parent("middle")};
  split["foreachInput"] = {{"task", "middle"}, {"step", "middle"}, {"attempt", 0}, {"index", 1}};
  CHECK(run_runtime(scratch, split).stdout_text == "\"y\"");
}

TEST_CASE("a timeout stops the step's whole process group") {
  ScratchDirectory scratch;
  const auto pid_file = scratch / "background.pid";
  auto spec = task_spec(scratch, "start", "start",
                        "sleep 300 & echo $! > " + pid_file.string() + "; sleep 300");
  spec["timeoutSeconds"] = 2;
  spec["graceSeconds"] = 1;
  const auto started = std::chrono::steady_clock::now();
  const auto run = run_runtime(scratch, spec);
  const auto took = std::chrono::steady_clock::now() - started;
  CHECK(run.exit_code == 1);
  CHECK(run.result["status"] == "failed");
  CHECK(run.result["reason"] == "timed out after 2 s");
  CHECK(run.result["retryable"] == true);
  CHECK(took < std::chrono::seconds(30));
  const std::string background = read_file(pid_file);
  REQUIRE_FALSE(background.empty());
  CHECK(process_gone(std::stoi(background)));
  CHECK_FALSE(open_store(scratch).read_manifest(attempt_of("start", "start")).has_value());
}

TEST_CASE("a step that ignores SIGTERM is killed after the grace period") {
  ScratchDirectory scratch;
  auto spec = task_spec(scratch, "start", "start", "trap '' TERM; sleep 300 & wait; sleep 300");
  spec["timeoutSeconds"] = 1;
  spec["graceSeconds"] = 1;
  const auto started = std::chrono::steady_clock::now();
  const auto run = run_runtime(scratch, spec);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(30));
  CHECK(run.result["reason"] == "timed out after 1 s");
  CHECK(run.result["exitCode"] == 128 + SIGKILL);
}

TEST_CASE("SIGTERM to the runtime stops the step and reports killed") {
  ScratchDirectory scratch;
  const auto pid_file = scratch / "background.pid";
  auto spec = task_spec(scratch, "start", "start",
                        "sleep 300 & echo $! > " + pid_file.string() +
                            "; echo started; echo partial > $PODFLOW_OUTPUTS/x; sleep 300");
  spec["graceSeconds"] = 2;
  RuntimeProcess runtime(scratch, spec.dump());
  wait_for_file(pid_file);
  const auto group = read_file(scratch / "work/start/step.pgid");
  REQUIRE_FALSE(group.empty());
  ::kill(runtime.pid(), SIGTERM);
  const auto run = runtime.wait();
  CHECK(run.exit_code == 1);
  CHECK(run.result["status"] == "killed");
  CHECK(run.result["reason"] == "stopped: podflow-runtime received SIGTERM");
  CHECK(run.result["retryable"] == false);
  CHECK(process_gone(std::stoi(read_file(pid_file))));
  CHECK(process_gone(std::stoi(group)));
  auto store = open_store(scratch);
  CHECK_FALSE(store.read_manifest(attempt_of("start", "start")).has_value());
  CHECK(store.get_log(attempt_of("start", "start"), LogStream::standard_output) == "started\n");
}

TEST_CASE("a failing step: exit code, stderr tail, logs kept, no manifest") {
  ScratchDirectory scratch;
  const auto run = run_runtime(
      scratch, task_spec(scratch, "train", "train",
                         "echo working; printf 'Traceback\\nValueError: bad input\\n' >&2; "
                         "printf x > $PODFLOW_OUTPUTS/partial; exit 3"));
  CHECK(run.exit_code == 1);
  CHECK(run.result["status"] == "failed");
  CHECK(run.result["reason"] == "exit code 3");
  CHECK(run.result["exitCode"] == 3);
  CHECK(run.result["retryable"] == true);
  CHECK(run.result["stderrTail"] == "Traceback\nValueError: bad input\n");
  CHECK_FALSE(run.result.contains("manifest"));
  CHECK(run.stderr_text.find("podflow-runtime: task 1/train attempt 0 failed: exit code 3") !=
        std::string::npos);
  auto store = open_store(scratch);
  CHECK_FALSE(store.read_manifest(attempt_of("train", "train")).has_value());
  CHECK(store.get_log(attempt_of("train", "train"), LogStream::standard_output) == "working\n");
  CHECK(store.objects().list("demo/data/").empty());  // outputs of a failure are not stored

  const auto killed = run_runtime(scratch, task_spec(scratch, "train", "train", "kill -9 $$"));
  CHECK(killed.result["reason"] == "killed by signal 9");
  CHECK(killed.result["exitCode"] == 137);
}

TEST_CASE("a command that cannot start, and outputs that cannot be stored") {
  ScratchDirectory scratch;
  auto spec = task_spec(scratch, "start", "start", "");
  spec["command"] = {"no-such-program-podflow", "x"};
  auto run = run_runtime(scratch, spec, {"PATH=/nonexistent/bin:/bin"});
  CHECK(run.exit_code == 1);
  const std::string missing =
      "cannot run the step's program 'no-such-program-podflow': it is not on PATH "
      "(/nonexistent/bin:/bin); install it, or name it by its full path";
  CHECK(run.result["reason"] == missing);
  CHECK(run.result["exitCode"] == 127);
  CHECK(run.result["stderrTail"] == "podflow-runtime: " + missing + "\n");
  // In a pod the operator names the image (PODFLOW_STEP_IMAGE), and the fix is another image.
  run = run_runtime(scratch, spec, {"PATH=/bin", "PODFLOW_STEP_IMAGE=registry.test/busybox:1"});
  CHECK(run.result["reason"] ==
        "cannot run the step's program 'no-such-program-podflow' in the image "
        "'registry.test/busybox:1': it is not on PATH (/bin); use an image that has it, or name "
        "it by its full path");
  spec["command"] = {"/opt/no-such-dir/program", "x"};
  run = run_runtime(scratch, spec);
  CHECK(run.result["reason"] ==
        "cannot run the step's program '/opt/no-such-dir/program': there is no such file; "
        "install it");
  // A script whose interpreter is missing: ENOENT from exec, though the file exists.
  const auto script = scratch / "needs-missing-interpreter";
  {
    std::ofstream file(script);
    file << "#!/nonexistent/interpreter\n";
  }
  std::filesystem::permissions(script, std::filesystem::perms::owner_all);
  spec["command"] = {script.string()};
  run = run_runtime(scratch, spec);
  CHECK(run.result["reason"] ==
        "cannot run the step's program '" + script.string() + "': " + script.string() +
            " exists, but the interpreter it needs (its #! line, or the dynamic loader of its "
            "libc) is not there; install it");
  spec["command"] = {"no-such-program-podflow", "x"};

  spec = task_spec(scratch, "start", "start", "true");
  spec["workingDir"] = (scratch / "missing-dir").string();
  run = run_runtime(scratch, spec);
  CHECK(run.result["reason"] == "cannot change to working directory " +
                                    (scratch / "missing-dir").string() +
                                    ": No such file or directory");

  run = run_runtime(
      scratch, task_spec(scratch, "start", "start", "ln -s /etc/passwd $PODFLOW_OUTPUTS/link"));
  CHECK(run.exit_code == 1);
  CHECK(run.result["reason"].get<std::string>().starts_with(
      "output 'link' is a symbolic link; artifacts are stored by content"));
  CHECK(run.result["retryable"] == false);
}

TEST_CASE("parameters, env and the PODFLOW_* variables reach the step") {
  ScratchDirectory scratch;
  std::filesystem::create_directories(scratch / "steps");
  auto spec = task_spec(scratch, "square", "square.4.2", "env > $PODFLOW_OUTPUTS/env; pwd");
  spec["attempt"] = 2;
  spec["splitPath"] = {4, 2};
  spec["workingDir"] = (scratch / "steps").string();
  spec["env"] = {{{"name", "MODE"}, {"value", "fast"}}};
  spec["parameters"] = {{{"name", "learning_rate"}, {"value", "0.5"}, {"type", "number"}},
                        {{"name", "count"}, {"value", "1000"}, {"type", "integer"}}};
  spec["cpu"] = 1.5;
  const auto run = run_runtime(scratch, spec, {"PODFLOW_STRAY=1", "INHERITED=yes"});
  REQUIRE(run.exit_code == 0);
  CHECK(run.stdout_text == (scratch / "steps").string() + "\n");
  auto store = open_store(scratch);
  const std::string env = artifact_text(store, attempt_of("square", "square.4.2", 2), "env");
  const std::string work = (scratch / "work/square.4.2").string();
  for (const std::string& line : std::vector<std::string>{
           "PODFLOW_FLOW=demo", "PODFLOW_RUN_ID=1", "PODFLOW_STEP=square",
           "PODFLOW_TASK_ID=square.4.2", "PODFLOW_ATTEMPT=2", "PODFLOW_SPLIT_PATH=4.2",
           "PODFLOW_CPU=1.5", "PODFLOW_PARAM_LEARNING_RATE=0.5", "PODFLOW_PARAM_COUNT=1000",
           R"(PODFLOW_PARAMETER_TYPES={"count":"integer","learning_rate":"number"})", "MODE=fast",
           "INHERITED=yes", "PODFLOW_INPUTS=" + work + "/inputs",
           "PODFLOW_OUTPUTS=" + work + "/outputs",
           "PODFLOW_INPUT_TASKS=" + work + "/input-tasks"}) {
    CAPTURE(line);
    CHECK(env.find("\n" + line + "\n") != std::string::npos);
  }
  CHECK(env.find("PODFLOW_STRAY") == std::string::npos);
  CHECK(env.find("PODFLOW_TASK=") == std::string::npos);
  CHECK(env.find("PODFLOW_SPLIT_INDEX") == std::string::npos);  // not a foreach split
  CHECK(env.find("PODFLOW_FOREACH_ITEM") == std::string::npos);
}

TEST_CASE("PODFLOW_KEEP_WORKDIR=1 keeps the work directory") {
  ScratchDirectory scratch;
  const auto run = run_runtime(scratch, task_spec(scratch, "start", "start", "echo kept"),
                               {"PODFLOW_KEEP_WORKDIR=1"});
  CHECK(run.exit_code == 0);
  CHECK(std::filesystem::exists(scratch / "work/start/step.pgid"));
  CHECK(std::filesystem::is_directory(scratch / "work/start/outputs"));
}

TEST_CASE("a malformed task spec exits 2 naming the field") {
  ScratchDirectory scratch;
  auto spec = task_spec(scratch, "start", "start", "true");
  spec["timeoutSeconds"] = "soon";
  auto run = run_runtime(scratch, spec);
  CHECK(run.exit_code == 2);
  CHECK(run.stderr_text ==
        "podflow-runtime: task spec: field 'timeoutSeconds' must be a positive integer\n");
  CHECK(run.result["status"] == "failed");
  CHECK(run.result["retryable"] == false);

  spec = task_spec(scratch, "start", "start", "true");
  spec["parents"] = {{{"step", "x"}, {"splits", 2}, {"prefx", json::array()}}};
  run = run_runtime(scratch, spec);
  CHECK(run.exit_code == 2);
  CHECK(run.stderr_text == "podflow-runtime: task spec: unknown field 'parents[0].prefx'\n");

  run = RuntimeProcess(scratch, "{\"flow\": ").wait();
  CHECK(run.exit_code == 2);
  CHECK(run.stderr_text == "podflow-runtime: task spec: not valid JSON\n");
}

TEST_CASE("a parent that did not commit fails the task before the step runs") {
  ScratchDirectory scratch;
  auto spec = task_spec(scratch, "end", "end", "echo should-not-run");
  spec["parents"] = {{{"step", "start"}, {"prefix", json::array()}, {"attempts", {{"start", 1}}}}};
  const auto run = run_runtime(scratch, spec);
  CHECK(run.exit_code == 1);
  CHECK(run.stdout_text.empty());
  CHECK(run.result["reason"].get<std::string>().find(
            "parent task 1/start/start attempt 1 has no manifest "
            "demo/1/start/start/1/manifest.json") != std::string::npos);
  CHECK(open_store(scratch)
            .get_log(attempt_of("end", "end"), LogStream::standard_error)
            ->starts_with("podflow-runtime: the step did not run: parent task"));
}
