#include "runtime/step_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "runtime/step_environment.hpp"

namespace podflow::runtime {
namespace {

using Clock = std::chrono::steady_clock;

// How long to keep reading the step's output after it exited: a process that left its group
// (setsid) may hold the pipe open forever.
constexpr auto kDrainTime = std::chrono::seconds(2);
// poll() wakes at least this often, so a lost wake-up costs at most this much.
constexpr auto kMaxPollWait = std::chrono::seconds(1);

[[noreturn]] void fail(const std::string& what) {
  throw std::runtime_error(what + ": " + std::strerror(errno));
}

void write_all(int descriptor, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t written = ::write(descriptor, data, size);
    if (written < 0) {
      if (errno == EINTR) continue;
      return;  // a closed stdout of the runtime must not stop the step
    }
    data += written;
    size -= static_cast<std::size_t>(written);
  }
}

// One of the step's output streams: pipe -> log file + the runtime's own descriptor.
struct OutputCopy {
  int pipe = -1;
  int log = -1;
  int echo = -1;

  bool open() const { return pipe >= 0; }

  // Reads what is there; closes the pipe at end of file.
  void pump() {
    char buffer[65536];
    for (;;) {
      const ssize_t got = ::read(pipe, buffer, sizeof buffer);
      if (got > 0) {
        write_all(log, buffer, static_cast<std::size_t>(got));
        write_all(echo, buffer, static_cast<std::size_t>(got));
        continue;
      }
      if (got < 0 && errno == EINTR) continue;
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
      ::close(pipe);
      pipe = -1;
      return;
    }
  }

  void close_all() {
    if (pipe >= 0) ::close(pipe);
    if (log >= 0) ::close(log);
    pipe = log = -1;
  }
};

int open_log(const std::filesystem::path& path) {
  const int descriptor = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (descriptor < 0) fail("cannot create " + path.string());
  return descriptor;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> result;
  for (auto& text : strings) result.push_back(text.data());
  result.push_back(nullptr);
  return result;
}

// Our direct children: /proc/self/task/<tid>/children for every thread (orphans are adopted by
// the main thread's process), else a scan of /proc for processes whose parent is us.
std::vector<pid_t> direct_children() {
  std::vector<pid_t> children;
  std::error_code error;
  bool listed = false;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task", error)) {
    std::ifstream file(task.path() / "children");
    if (!file) continue;
    listed = true;
    for (pid_t pid; file >> pid;) children.push_back(pid);
  }
  if (listed) return children;
  const pid_t self = ::getpid();
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream file(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    pid_t parent = 0;
    rest >> state >> parent;
    if (parent == self) children.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return children;
}

// What the child reports through the exec pipe when it cannot start the command.
struct StartFailure {
  int stage = 0;  // 1: chdir, 2: exec
  int error = 0;
};

// Why exec failed, in the terms of the step's image: most often the image lacks the program.
std::string start_failure_text(const StepCommand& command, const std::string& program, int error) {
  const std::string& name = command.argv.front();
  const std::string where = command.image.empty() ? "" : " in the image '" + command.image + "'";
  const std::string path = search_path(command.environment);
  const std::string fix = command.image.empty() ? "install it" : "use an image that has it";
  std::string text = "cannot run the step's program '" + name + "'" + where + ": ";
  struct stat status {};
  const bool exists = ::stat(program.c_str(), &status) == 0;
  if (error == ENOENT && !exists && name.find('/') == std::string::npos) {
    return text + "it is not on PATH (" + path + "); " + fix + ", or name it by its full path";
  }
  if (error == ENOENT && !exists) return text + "there is no such file; " + fix;
  if (error == ENOENT) {
    return text + program +
           " exists, but the interpreter it needs (its #! line, or the dynamic loader of its "
           "libc) is not there; " +
           fix;
  }
  if (error == ENOEXEC) {
    return text + program +
           " is not a program this node can run (another architecture, or a script without a #! "
           "line)";
  }
  if (error == EACCES) return text + program + " is not executable by the step's user";
  return text + std::strerror(error);
}

}  // namespace

bool become_subreaper() {
  return ::prctl(PR_SET_CHILD_SUBREAPER, 1) == 0;
}

int kill_descendants(std::chrono::milliseconds limit) {
  // No child at all, living or zombie, means no descendant either (an orphan is re-parented to
  // us, the subreaper, before its parent can be reaped): then there is no /proc to read.
  for (;;) {
    const pid_t done = ::waitpid(-1, nullptr, WNOHANG);
    if (done > 0 || (done < 0 && errno == EINTR)) continue;
    if (done < 0 && errno == ECHILD) return 0;
    break;
  }
  const auto give_up = Clock::now() + limit;
  int killed = 0;
  // SIGKILL takes effect when the process next runs: usually at once, so poll soon, then less.
  auto pause = std::chrono::microseconds(100);
  for (;;) {
    const std::vector<pid_t> children = direct_children();
    // Kill first, reap after: a child's id cannot be reused until it is reaped.
    for (const pid_t child : children) {
      if (::kill(child, SIGKILL) == 0) ++killed;
    }
    bool any = false;
    for (;;) {
      const pid_t done = ::waitpid(-1, nullptr, WNOHANG);
      if (done > 0) {
        any = true;
        continue;
      }
      if (done < 0 && errno == EINTR) continue;
      if (done < 0 && errno == ECHILD && children.empty()) return killed;  // none left at all
      break;
    }
    if (Clock::now() >= give_up) {
      // A process stuck in the kernel (uninterruptible I/O) cannot be reaped yet; it dies as soon
      // as the call returns, so going on loses nothing but this warning.
      std::cerr << "podflow-runtime: " << children.size()
                << " process(es) of the step did not die within "
                << std::chrono::duration_cast<std::chrono::seconds>(limit).count()
                << " s of SIGKILL (stuck in the kernel?); going on without them\n";
      return killed;
    }
    if (any) {
      pause = std::chrono::microseconds(100);
    } else {
      std::this_thread::sleep_for(pause);
      pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(5));
    }
  }
}

StepOutcome run_step(const StepCommand& command, TerminationSignals& signals) {
  std::vector<std::string> argv = command.argv;
  std::vector<std::string> environment = command.environment;
  std::vector<char*> argv_pointers = pointers(argv);
  std::vector<char*> environment_pointers = pointers(environment);
  const std::string program = resolve_program(command.argv.front(), command.environment);
  const std::string working_directory =
      command.working_directory ? command.working_directory->string() : "";

  OutputCopy out{-1, open_log(command.stdout_log), STDOUT_FILENO};
  OutputCopy err{-1, open_log(command.stderr_log), STDERR_FILENO};
  // start_pipe: the child reports a failed chdir/exec; go_pipe: the child waits on it until the
  // process group file is written, so the group is on disk before the step's program runs.
  int out_pipe[2], err_pipe[2], start_pipe[2], go_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0 || ::pipe2(err_pipe, O_CLOEXEC) != 0 ||
      ::pipe2(start_pipe, O_CLOEXEC) != 0 || ::pipe2(go_pipe, O_CLOEXEC) != 0) {
    fail("cannot create pipes for the step");
  }
  const int null_input = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t runtime_pid = ::getpid();

  const pid_t child = ::fork();
  if (child < 0) fail("cannot start the step");
  if (child == 0) {
    // Only async-signal-safe calls from here to exec.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != runtime_pid) ::_exit(127);  // the runtime died before prctl
    TerminationSignals::reset_in_child();
    ::dup2(null_input, STDIN_FILENO);
    ::dup2(out_pipe[1], STDOUT_FILENO);
    ::dup2(err_pipe[1], STDERR_FILENO);
    ::close(go_pipe[1]);
    char go;
    while (::read(go_pipe[0], &go, 1) < 0 && errno == EINTR) {
    }
    StartFailure failure;
    if (!working_directory.empty() && ::chdir(working_directory.c_str()) != 0) {
      failure = {1, errno};
    } else {
      ::execvpe(program.c_str(), argv_pointers.data(), environment_pointers.data());
      failure = {2, errno};
    }
    [[maybe_unused]] const ssize_t ignored = ::write(start_pipe[1], &failure, sizeof failure);
    ::_exit(127);
  }

  // Both sides set the group, so it exists whichever runs first.
  ::setpgid(child, child);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  ::close(start_pipe[1]);
  ::close(go_pipe[0]);
  if (null_input >= 0) ::close(null_input);
  out.pipe = out_pipe[0];
  err.pipe = err_pipe[0];
  {
    std::ofstream group_file(command.process_group_file, std::ios::trunc);
    group_file << child << "\n";
  }
  ::close(go_pipe[1]);  // end of file: the child goes on to exec

  StepOutcome outcome;
  StartFailure failure;
  ssize_t got;
  do {
    got = ::read(start_pipe[0], &failure, sizeof failure);
  } while (got < 0 && errno == EINTR);
  ::close(start_pipe[0]);
  if (got == static_cast<ssize_t>(sizeof failure)) {
    outcome.ending = StepEnding::could_not_start;
    outcome.start_error = failure.stage == 1
                              ? "cannot change to working directory " + working_directory + ": " +
                                    std::strerror(failure.error)
                              : start_failure_text(command, program, failure.error);
  }
  ::fcntl(out.pipe, F_SETFL, O_NONBLOCK);
  ::fcntl(err.pipe, F_SETFL, O_NONBLOCK);

  const auto started = Clock::now();
  const auto deadline = started + command.timeout;
  constexpr auto kNever = Clock::time_point::max();
  auto kill_at = kNever;      // SIGKILL the group then
  auto drain_until = kNever;  // set once the step has exited
  bool stopping = false;
  int wait_status = 0;
  bool reaped = false;

  auto signal_group = [child](int signal) { ::kill(-child, signal); };
  auto begin_stop = [&](StepEnding why) {
    if (stopping || reaped) return;
    stopping = true;
    if (outcome.ending != StepEnding::could_not_start) outcome.ending = why;
    signal_group(SIGTERM);
    // Adopted processes that left the group (setsid) get the same grace period to clean up.
    for (const pid_t adopted : direct_children()) {
      if (adopted != child) ::kill(adopted, SIGTERM);
    }
    kill_at = Clock::now() + command.grace;
  };

  for (;;) {
    if (!reaped) {
      const pid_t done = ::waitpid(child, &wait_status, WNOHANG);
      if (done == child) {
        reaped = true;
        signal_group(SIGKILL);  // whatever the step left behind in its group
        // ... and every other descendant, which we adopted as a subreaper: once they are gone,
        // nothing holds the output pipes open and nothing can write to an output.
        kill_descendants();
        kill_at = kNever;
        drain_until = Clock::now() + kDrainTime;
      }
    }
    if (reaped && (!out.open() && !err.open())) break;
    const auto now = Clock::now();
    if (reaped && now >= drain_until) break;
    if (!reaped) {
      if (const auto received = signals.termination_signal(); received && !stopping) {
        outcome.termination_signal = received;
        begin_stop(StepEnding::stopped);
      }
      if (now >= deadline && !stopping) begin_stop(StepEnding::timed_out);
      if (now >= kill_at) {
        signal_group(SIGKILL);
        kill_at = kNever;
      }
    }

    auto wake = now + kMaxPollWait;
    if (!reaped && !stopping) wake = std::min(wake, deadline);
    wake = std::min({wake, kill_at, drain_until});
    const auto wait_ms = std::max<long long>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count() + 1);

    pollfd descriptors[3] = {
        {out.pipe, POLLIN, 0}, {err.pipe, POLLIN, 0}, {signals.descriptor(), POLLIN, 0}};
    const int ready = ::poll(descriptors, 3, static_cast<int>(wait_ms));
    if (ready < 0 && errno != EINTR) fail("cannot wait for the step");
    if (ready <= 0) continue;
    if (out.open() && descriptors[0].revents != 0) out.pump();
    if (err.open() && descriptors[1].revents != 0) err.pump();
    if (descriptors[2].revents != 0) {
      signals.read_pending();  // SIGCHLD is handled by waitpid at the top of the loop
    }
  }
  out.close_all();
  err.close_all();

  if (WIFEXITED(wait_status)) {
    outcome.exit_code = WEXITSTATUS(wait_status);
  } else if (WIFSIGNALED(wait_status)) {
    outcome.signal = WTERMSIG(wait_status);
    outcome.exit_code = 128 + outcome.signal;
    if (outcome.ending == StepEnding::exited) outcome.ending = StepEnding::signaled;
  }
  if (outcome.ending == StepEnding::could_not_start) outcome.exit_code = 127;
  return outcome;
}

}  // namespace podflow::runtime
