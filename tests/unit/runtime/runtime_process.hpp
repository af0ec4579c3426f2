// Runs the real podflow-runtime binary (PODFLOW_RUNTIME_BINARY) on a task spec, as the local
// runner does, and collects what it reports: exit code, stdout, stderr and the result JSON.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/unit/datastore/file_text.hpp"
#include "tests/unit/datastore/scratch_directory.hpp"

extern char** environ;

namespace podflow::testing {

// The binary under test: PODFLOW_TEST_RUNTIME_BINARY when set (to show that a test fails on an
// older build), else the one built with the tests.
inline std::string runtime_binary() {
  const char* other = std::getenv("PODFLOW_TEST_RUNTIME_BINARY");
  return other && *other ? other : PODFLOW_RUNTIME_BINARY;
}

struct RuntimeRun {
  int exit_code = -1;
  std::string stdout_text;
  std::string stderr_text;
  nlohmann::json result;  // null when no result was written
};

class RuntimeProcess {
 public:
  // Starts podflow-runtime --task <spec file> --result <result file>, with `extra_environment`
  // ("NAME=value") added to (or replacing the same name in) this process's environment.
  RuntimeProcess(const ScratchDirectory& scratch, const std::string& spec_text,
                 const std::vector<std::string>& extra_environment = {}) {
    static int counter = 0;
    const std::string name = "runtime-" + std::to_string(++counter);
    spec_ = scratch / (name + ".spec.json");
    result_ = scratch / (name + ".result.json");
    stdout_ = scratch / (name + ".stdout");
    stderr_ = scratch / (name + ".stderr");
    write_file(spec_, spec_text);

    std::vector<std::string> environment;
    auto overridden = [&](std::string_view entry) {
      for (const auto& extra : extra_environment) {
        const auto name = extra.substr(0, extra.find('=') + 1);
        if (entry.starts_with(name)) return true;
      }
      return false;
    };
    for (char** entry = environ; *entry != nullptr; ++entry) {
      if (std::string_view(*entry).starts_with("PODFLOW_") || overridden(*entry)) continue;
      environment.emplace_back(*entry);
    }
    environment.insert(environment.end(), extra_environment.begin(), extra_environment.end());
    std::vector<std::string> arguments = {runtime_binary(), "--task", spec_.string(), "--result",
                                          result_.string()};
    std::vector<char*> argv, envp;
    for (auto& argument : arguments) argv.push_back(argument.data());
    argv.push_back(nullptr);
    for (auto& entry : environment) envp.push_back(entry.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t files;
    posix_spawn_file_actions_init(&files);
    posix_spawn_file_actions_addopen(&files, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&files, STDOUT_FILENO, stdout_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&files, STDERR_FILENO, stderr_.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t empty;
    sigemptyset(&empty);
    posix_spawnattr_setsigmask(&attributes, &empty);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
    if (posix_spawn(&pid_, argv[0], &files, &attributes, argv.data(), envp.data()) != 0) {
      pid_ = -1;
    }
    posix_spawn_file_actions_destroy(&files);
    posix_spawnattr_destroy(&attributes);
  }

  pid_t pid() const { return pid_; }

  RuntimeRun wait() {
    RuntimeRun run;
    int status = 0;
    if (pid_ > 0 && ::waitpid(pid_, &status, 0) == pid_) {
      run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    run.stdout_text = read_file(stdout_);
    run.stderr_text = read_file(stderr_);
    const std::string result = read_file(result_);
    if (!result.empty()) run.result = nlohmann::json::parse(result, nullptr, false);
    return run;
  }

 private:
  pid_t pid_ = -1;
  std::filesystem::path spec_, result_, stdout_, stderr_;
};

inline RuntimeRun run_runtime(const ScratchDirectory& scratch, const nlohmann::json& spec,
                              const std::vector<std::string>& extra_environment = {}) {
  return RuntimeProcess(scratch, spec.dump(), extra_environment).wait();
}

// A minimal valid spec for flow "demo", run "1", on a datastore in the scratch directory.
inline nlohmann::json task_spec(const ScratchDirectory& scratch, const std::string& step,
                                const std::string& task, const std::string& shell_script) {
  return {{"datastore", (scratch / "store").string()},
          {"flow", "demo"},
          {"run", "1"},
          {"step", step},
          {"task", task},
          {"attempt", 0},
          {"command", {"sh", "-c", shell_script}},
          {"workDir", (scratch / "work" / task).string()}};
}

}  // namespace podflow::testing
