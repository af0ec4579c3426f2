"""The hostile-input corpus for runs: what a careless or hostile user does to `podflow run` and its
neighbours, each case with its exact outcome (refused with which message, or run with which
result), and after every case two checks that nothing escaped the run:
  - nothing outside the run's own directories changed: the workspace (the flow's directory, with a
    private directory of canary files that steps attack) is compared file by file (mode, size,
    content) before and after; the datastore is the run's own;
  - no process of the case is left: every long-lived command carries a marker word, and no process
    with it may remain once podflow has returned.
Standard library only; prints "N passed, N failed" like the other local tests."""
import hashlib
import os
import signal
import stat
import subprocess
import sys
import time

from harness import fail, flow, main

MARK = "271.828182"  # a sleep length: in the argv of every process a case starts that could outlive it
SECRET = "the canary's private bytes\n"


# ---- the checks every case gets --------------------------------------------------------------

def snapshot(root, skip):
    """path -> (type, mode, size, sha256) below root, except the `skip` directories."""
    files = {}
    for directory, subdirs, names in os.walk(root):
        subdirs[:] = [d for d in subdirs if os.path.join(directory, d) not in skip]
        for name in subdirs + names:
            path = os.path.join(directory, name)
            info = os.lstat(path)
            digest = ""
            if stat.S_ISREG(info.st_mode):
                with open(path, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            files[os.path.relpath(path, root)] = (stat.S_IFMT(info.st_mode),
                                                  stat.S_IMODE(info.st_mode), info.st_size, digest)
    return files


def marked_processes():
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if MARK.encode() in f.read():
                    found.append(int(pid))
        except OSError:
            pass
    return found


def kill_marked():
    for pid in marked_processes():
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


class Case:
    """One hostile input and its exact expected outcome."""

    def __init__(self, name, flow_text=None, args=("run", "flow.yaml"), exit=0, stderr=(),
                 stdout=(), files=None, env=None, setup=None, then=None, changes=()):
        self.name, self.flow_text, self.args, self.exit = name, flow_text, args, exit
        self.stderr, self.stdout = stderr, stdout
        self.files, self.env, self.setup, self.then = files or {}, env or {}, setup, then
        self.changes = set(changes)  # workspace paths this case is expected to change

    def run(self, workspace):
        private = os.path.join(workspace.path, "private")
        os.makedirs(private, mode=0o700)
        workspace.write("private/secret.txt", SECRET, mode=0o600)
        workspace.write("private/readonly.txt", "read only\n", mode=0o444)
        if self.flow_text is not None:
            workspace.write("flow.yaml", self.flow_text)
        for name, text in self.files.items():
            workspace.write(name, text, mode=0o755 if name.endswith(".sh") else 0o644)
        context = self.context = {}
        if self.setup:
            self.setup(workspace, context)
        skip = {workspace.datastore}
        before = snapshot(workspace.path, skip)
        env = dict(os.environ, **self.env)
        result = workspace.podflow(*[a.format(ws=workspace.path) for a in self.args], env=env)
        if result.returncode != self.exit:
            fail(f"exit code {result.returncode}, expected {self.exit}\n--- stdout\n{result.stdout}"
                 f"\n--- stderr\n{result.stderr}")
        for text in self.stderr:
            if text not in result.stderr:
                fail(f"stderr lacks {text!r}:\n{result.stderr}")
        for text in self.stdout:
            if text not in result.stdout:
                fail(f"stdout lacks {text!r}:\n{result.stdout}")
        if self.then:
            self.then(workspace, result, context)
        after = snapshot(workspace.path, skip)
        changed = sorted(p for p in set(before) | set(after)
                         if before.get(p) != after.get(p) and p not in self.changes)
        if changed:
            fail("changed outside the run's directories: " + ", ".join(
                f"{p}: {before.get(p)} -> {after.get(p)}" for p in changed))
        deadline = time.time() + 3
        while marked_processes() and time.time() < deadline:
            time.sleep(0.1)
        left = marked_processes()
        if left:
            kill_marked()
            fail(f"processes outlived the run: {left}")


def two_steps(start, end='["true"]', extra_start="", extra_end=""):
    """start -> end; `extra_*` are more lines of the step ("timeoutSeconds: 1"), newline-separated."""
    def more(extra):
        return "".join(f"\n  {line.strip()}" for line in extra.splitlines() if line.strip())
    return flow("hostile", f"- name: start\n  command: {start}\n  next: [end]{more(extra_start)}\n"
                           f"- name: end\n  command: {end}{more(extra_end)}\n")


def blob_files(workspace):
    """Every blob in the datastore: path -> bytes."""
    blobs = {}
    for directory, _, names in os.walk(workspace.datastore):
        if os.sep + "data" + os.sep in directory + os.sep:
            for name in names:
                with open(os.path.join(directory, name), "rb") as f:
                    blobs[name] = f.read()
    return blobs


def expect_blobs_intact(workspace, result=None, context=None):
    for name, data in blob_files(workspace).items():
        if len(name) == 64 and hashlib.sha256(data).hexdigest() != name:
            fail(f"blob {name} holds bytes whose sha256 is {hashlib.sha256(data).hexdigest()}")


def expect_outside(path_text):
    def check(workspace, result, context):
        expect_blobs_intact(workspace)
        with open(os.path.join(workspace.path, "private", "secret.txt")) as f:
            if f.read() != path_text:
                fail("the private file changed")
    return check


def same_inode(a, b):
    return os.stat(a).st_ino == os.stat(b).st_ino


def stored_copy_is_podflows_own(workspace, result, context):
    """The hard-linked output was copied: the blob is another file than the user's."""
    expect_blobs_intact(workspace)
    secret = os.path.join(workspace.path, "private", "secret.txt")
    for directory, _, names in os.walk(workspace.datastore):
        for name in names:
            if same_inode(os.path.join(directory, name), secret):
                fail(f"{os.path.join(directory, name)} is the user's own file, not a copy")
    if SECRET.encode() not in blob_files(workspace).values():
        fail("the hard-linked output was not stored")


def mount_small_filesystem(workspace, context, fill):
    """The datastore on a 2 MiB tmpfs (root only), `fill`ed to the last byte if asked."""
    os.makedirs(workspace.datastore)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", workspace.datastore], check=True)
    context["cleanup"] = lambda: subprocess.run(["umount", "-l", workspace.datastore], check=False)
    if fill:
        descriptor = os.open(os.path.join(workspace.datastore, "filler"), os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(descriptor, b"x" * 4096) > 0:
                pass
        except OSError:
            pass
        os.close(descriptor)


def nothing_partial_left(workspace, result, context):
    leftovers = []
    for directory, _, names in os.walk(workspace.datastore):
        leftovers += [os.path.join(directory, n) for n in names if n.startswith(".podflow-tmp.")]
    if leftovers:
        fail(f"partial files left in the datastore: {leftovers}")
    runs = os.path.join(workspace.datastore, "_runs")
    placeholders = []
    for name in os.listdir(runs) if os.path.isdir(runs) else []:
        with open(os.path.join(runs, name)) as f:
            if '"flow"' not in f.read():
                placeholders.append(name)
    if placeholders:
        fail(f"placeholder run records left: {placeholders}")


# ---- the corpus ------------------------------------------------------------------------------

CASES = []


def case(*args, **kwargs):
    CASES.append(Case(*args, **kwargs))


# The flow file itself (the linter's corpus has every graph mistake; these go through `run`).
case("missing-file", args=("run", "nope.yaml"), exit=1, stderr=["nope.yaml"])
case("directory-as-flow", args=("run", "private"), exit=1, stderr=["private"])
case("empty-file", "", exit=1, stderr=["flow.yaml"])
case("binary-file", "\x00\x01\x02\xff", exit=1, stderr=["flow.yaml"])
case("alias-bomb", flow("bomb", """\
    - name: start
      command: ["true"]
      next: [end]
    - name: end
      command: ["true"]
    """, parameters="""\
    - name: bomb
      type: json
      default:
        a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]
        b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
        c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
        d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
        e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
        f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
    """), exit=1, stderr=["default is too large"])
case("typo-in-field", two_steps('["true"]').replace("command: [\"true\"]\n", "comand: [\"true\"]\n", 1),
     exit=1, stderr=["did you mean 'command'"])
case("unknown-next", flow("hostile", """\
    - name: start
      command: ["true"]
      next: [ned]
    - name: end
      command: ["true"]
    """), exit=1, stderr=["ned"])
case("graph-loop", flow("hostile", """\
    - name: start
      command: ["true"]
      next: [a]
    - name: a
      command: ["true"]
      next: [start]
    - name: end
      command: ["true"]
    """), exit=1, stderr=["flow.yaml:"])
case("resources-beyond-this-machine", two_steps('["true"]', extra_start="\n  resources: {cpu: 4096}"),
     exit=1, stderr=["asks for 4096 cpu"])

# What a cluster would refuse later is refused before anything runs.
case("nul-byte-in-argument", two_steps('[sh, -c, "echo a\\0b"]'),
     exit=1, stderr=["step 'start': command[2] contains a NUL byte"])
case("memory-no-node-has", two_steps('["true"]', extra_start='resources: {memory: "1Ei"}'),
     exit=1, stderr=["resources.memory '1Ei' is too large; no node has that much memory"])
case("cpu-no-node-has", two_steps('["true"]', extra_start="resources: {cpu: 1e12}"),
     exit=1, stderr=["resources.cpu 1e12 is too large; no node has that many cores"])
case("timeout-beyond-a-year", two_steps('["true"]', extra_start="timeoutSeconds: 9223372036854775807"),
     exit=1, stderr=["timeoutSeconds is 9223372036854775807; a timeout may be at most 31536000 seconds"])
case("step-name-no-pod-can-have", flow("hostile", """    - name: start
      command: ["true"]
      next: [train_]
    - name: train_
      command: ["true"]
      next: [end]
    - name: end
      command: ["true"]
    """), exit=1, stderr=["step 'train_': the step name ends with '_'"])
case("label-key-kubernetes-refuses", two_steps('["true"]', extra_start='labels: {"team name": x}'),
     exit=1, stderr=["key 'team name' is not a valid label key"])

# Parameters and options.
PARAM_FLOW = flow("params", """\
    - name: start
      command: [sh, -c, 'printf %s "$PODFLOW_PARAM_TEXT" > "$PODFLOW_OUTPUTS/text"; echo "$PODFLOW_PARAM_COUNT" > "$PODFLOW_OUTPUTS/count"']
      next: [end]
    - name: end
      command: ["true"]
    """, parameters="""\
    - {name: count, type: integer, default: 1}
    - {name: text, type: string, default: ""}
    """)
case("param-unknown", PARAM_FLOW, args=("run", "flow.yaml", "--param", "cuont=2"), exit=1,
     stderr=["the flow has no parameter 'cuont'; did you mean 'count'?"])
case("param-not-integer", PARAM_FLOW, args=("run", "flow.yaml", "--param", "count=big"), exit=1,
     stderr=["--param count=big: 'big' is not an integer value"])
case("param-without-equals", PARAM_FLOW, args=("run", "flow.yaml", "--param", "count"), exit=1,
     stderr=["count"])
case("param-given-twice", PARAM_FLOW, args=("run", "flow.yaml", "--param", "count=1", "--param", "count=2"),
     exit=1, stderr=["--param count is given twice"])
case("param-integer-out-of-range", PARAM_FLOW, args=("run", "flow.yaml", "--param", "count=99999999999999999999"),
     exit=1, stderr=["is out of range: an integer parameter is between -9223372036854775808 and"])
case("param-integer-hex", PARAM_FLOW, args=("run", "flow.yaml", "--param", "count=0x10"),
     exit=1, stderr=["is not an integer value; write decimal digits"])
case("param-too-large-for-the-environment", PARAM_FLOW,
     args=("run", "flow.yaml", "--param", "text=" + "x" * 100000), exit=1,
     stderr=["a parameter value may be at most"])
case("max-workers-zero", PARAM_FLOW, args=("run", "flow.yaml", "--max-workers", "0"), exit=1,
     stderr=["--max-workers must be at least 1"])
case("max-workers-negative", PARAM_FLOW, args=("run", "flow.yaml", "--max-workers", "-3"), exit=1,
     stderr=["--max-workers must be at least 1"])
case("max-num-splits-zero", PARAM_FLOW, args=("run", "flow.yaml", "--max-num-splits", "0"),
     exit=1, stderr=["--max-num-splits must be at least 1"])


def stored_text(workspace, run, task, name):
    """An artifact's bytes as the end task's inputs would see them, read from the manifests."""
    import json
    root = os.path.join(workspace.datastore, "params", run, task.split(".")[0], task)
    attempts = sorted(os.listdir(root), key=int)
    with open(os.path.join(root, attempts[-1], "manifest.json")) as f:
        manifest = json.load(f)
    sha = manifest["artifacts"][name]["sha256"]
    with open(os.path.join(workspace.datastore, "params", "data", sha[:2], sha), "rb") as f:
        return f.read()


def param_arrives_verbatim(value):
    def check(workspace, result, context):
        run = workspace.run_id(result)
        got = stored_text(workspace, run, "start", "text")
        if got != value.encode():
            fail(f"the step saw {got!r}, expected {value!r}")
    return check


for name, value in [("shell-metacharacters", "$(touch pwned); `id`; rm -rf / &"),
                    ("newlines", "line one\nline two\n"), ("unicode", "naïve ☃ 東京"),
                    ("leading-dashes", "--datastore=/etc")]:
    case(f"param-{name}", PARAM_FLOW, args=("run", "flow.yaml", "--param", f"text={value}"),
         then=param_arrives_verbatim(value))

# Step programs that fail in every way a program can.
case("command-not-found", two_steps('[no-such-program-anywhere]'), exit=1,
     stderr=["cannot run the step's program 'no-such-program-anywhere': it is not on PATH"])
case("command-exits-3", two_steps("[sh, -c, 'exit 3']"), exit=1, stderr=["exit code 3"])
case("command-killed-by-signal", two_steps("[sh, -c, 'kill -9 $$']"), exit=1,
     stderr=["killed by signal 9"])
case("command-times-out", two_steps(f"[sh, -c, 'exec sleep {MARK}']",
                                    extra_start="\n  timeoutSeconds: 1"),
     exit=1, stderr=["timed out after 1 s"])
case("command-ignores-sigterm", two_steps(
    f"[sh, -c, 'trap \"\" TERM; sleep {MARK} & while :; do sleep 0.1; done']",
    extra_start="\n  timeoutSeconds: 1"), args=("run", "flow.yaml"), exit=1,
    stderr=["timed out after 1 s"])
case("command-kills-its-runtime", two_steps(
    f"[sh, -c, 'setsid sleep {MARK} & sleep {MARK} & kill -9 $PPID; sleep 5']"),
    exit=1, stderr=["podflow-runtime was killed by signal 9 without reporting a result"])
case("command-closes-its-output", two_steps("[sh, -c, 'exec >&- 2>&-; echo x > \"$PODFLOW_OUTPUTS/x\"']",
                                            end="[sh, -c, 'test \"$(cat \"$PODFLOW_INPUTS/x\")\" = x']"))
case("command-floods-stdout", two_steps("[sh, -c, 'yes aaaaaaaaaaaaaaaaaaaa | head -n 1000000']"),
     stderr=["more lines: podflow logs"])
case("command-reads-stdin", two_steps("[sh, -c, 'cat > \"$PODFLOW_OUTPUTS/in\"']",
                                      end="[sh, -c, 'test ! -s \"$PODFLOW_INPUTS/in\"']"))

# Outputs that are not plain files of the step's own.
case("output-symlink-to-private", two_steps(
    "[sh, -c, 'ln -s \"$PWD/private/secret.txt\" \"$PODFLOW_OUTPUTS/stolen\"']"),
    exit=1, stderr=["output 'stolen' is a symbolic link"], then=expect_outside(SECRET))
case("outputs-directory-replaced-by-symlink", two_steps(
    "[sh, -c, 'rm -rf \"$PODFLOW_OUTPUTS\" && ln -s \"$PWD/private\" \"$PODFLOW_OUTPUTS\"']"),
    exit=1, stderr=["the step replaced its outputs directory"], then=expect_outside(SECRET))
case("output-hard-link-to-private", two_steps(
    "[sh, -c, 'ln \"$PWD/private/secret.txt\" \"$PODFLOW_OUTPUTS/stolen\"']",
    end="[sh, -c, 'test \"$(cat \"$PODFLOW_INPUTS/stolen\")\" = \"the canary''s private bytes\"']"),
    then=stored_copy_is_podflows_own)
case("output-fifo", two_steps("[sh, -c, 'mkfifo \"$PODFLOW_OUTPUTS/pipe\"']"), exit=1,
     stderr=["output 'pipe' is not a regular file"])
case("output-many-small-files", two_steps(
    "[sh, -c, 'cd \"$PODFLOW_OUTPUTS\" && for i in $(seq 1 2000); do echo $i > f$i; done']",
    end="[sh, -c, 'test $(ls \"$PODFLOW_INPUTS\" | wc -l) -eq 2000']"),
    then=expect_blobs_intact)
case("output-nested-directories", two_steps(
    "[sh, -c, 'mkdir -p \"$PODFLOW_OUTPUTS/a/b/c/d/e\" && echo deep > \"$PODFLOW_OUTPUTS/a/b/c/d/e/f\"']",
    end="[sh, -c, 'test \"$(cat \"$PODFLOW_INPUTS/a/b/c/d/e/f\")\" = deep']"))
case("output-empty-file", two_steps("[sh, -c, ': > \"$PODFLOW_OUTPUTS/empty\"']",
                                    end="[sh, -c, 'test -f \"$PODFLOW_INPUTS/empty\" && test ! -s \"$PODFLOW_INPUTS/empty\"']"))
case("output-name-with-newline", two_steps(
    "[sh, -c, 'echo x > \"$PODFLOW_OUTPUTS/$(printf \"a\\\\nb\")\"']"), then=expect_blobs_intact)

# Foreach lists a careless step writes.
FOREACH = """\
    - name: start
      command: [sh, -c, {write}]
      foreach: items
      next: [each]
    - name: each
      command: ["true"]
      next: [join]
    - name: join
      join: true
      command: ["true"]
      next: [end]
    - name: end
      command: ["true"]
    """
for name, write, message in [
        ("foreach-not-json", "'echo not json > \"$PODFLOW_OUTPUTS/items\"'", "items"),
        ("foreach-not-a-list", "'echo {} > \"$PODFLOW_OUTPUTS/items\"'", "items"),
        ("foreach-empty-list", "'echo [] > \"$PODFLOW_OUTPUTS/items\"'", "items"),
        ("foreach-missing", "'true'", "foreach artifact 'items' was not produced"),
        ("foreach-too-many", "'seq 1 101 | paste -sd, | sed \"s/.*/[&]/\" > \"$PODFLOW_OUTPUTS/items\"'",
         "--max-num-splits")]:
    case(name, flow("hostile", FOREACH.format(write=write)), exit=1, stderr=[message])

# Inputs a step mishandles: none of it may reach the parent's committed blobs.
case("input-deleted-by-step", two_steps("[sh, -c, 'echo x > \"$PODFLOW_OUTPUTS/x\"']",
                                        end="[sh, -c, 'rm -f \"$PODFLOW_INPUTS/x\"']"),
     then=expect_blobs_intact)
case("input-new-file-beside-inputs", two_steps("[sh, -c, 'echo x > \"$PODFLOW_OUTPUTS/x\"']",
                                               end="[sh, -c, 'echo y > \"$PODFLOW_INPUTS/y\"']"),
     then=expect_blobs_intact)
case("input-moved-to-outputs", flow("hostile", """\
    - name: start
      command: [sh, -c, 'echo x > "$PODFLOW_OUTPUTS/x"']
      next: [middle]
    - name: middle
      command: [sh, -c, 'mv "$PODFLOW_INPUTS/x" "$PODFLOW_OUTPUTS/x"']
      next: [end]
    - name: end
      command: [sh, -c, 'test "$(cat "$PODFLOW_INPUTS/x")" = x']
    """), then=expect_blobs_intact)
case("output-large-file", two_steps("[sh, -c, 'head -c 50000000 /dev/urandom > \"$PODFLOW_OUTPUTS/big\"']",
                                    end="[sh, -c, 'test $(wc -c < \"$PODFLOW_INPUTS/big\") -eq 50000000']"),
     then=expect_blobs_intact)

def resume_heals(workspace, result, context):
    """The damaged blob was moved aside, not deleted: `podflow resume` re-runs start, which
    stores the same bytes again, and the run completes."""
    resumed = workspace.podflow("resume", workspace.run_id(result))
    if resumed.returncode != 0:
        fail(f"podflow resume failed:\n{resumed.stderr}")
    if "podflow: running start again instead of reusing it: artifact 'x'" not in resumed.stderr:
        fail(f"resume does not say why start runs again:\n{resumed.stderr}")
    expect_blobs_intact(workspace)
    zeros = hashlib.sha256(b"\0" * 2097152).hexdigest()
    if zeros not in blob_files(workspace):
        fail("the 2 MiB blob was not stored again")


case("input-rewritten-in-place", two_steps(
    "[sh, -c, 'head -c 2097152 /dev/zero > \"$PODFLOW_OUTPUTS/x\"']",
    end="[sh, -c, 'test -e \"$PWD/rewrote\" && exit 0; touch \"$PWD/rewrote\"; "
        "chmod u+w \"$PODFLOW_INPUTS/x\"; printf changed >> \"$PODFLOW_INPUTS/x\"']"),
    exit=1, stderr=["the step modified its input 'x'"], then=resume_heals, changes={"rewrote"})

# The run's own directories and records, tampered with.
def plant_foreign_work_directory(workspace, context):
    os.makedirs(workspace.datastore)
    os.makedirs(os.path.join(workspace.datastore, "_work"))
    os.chown(os.path.join(workspace.datastore, "_work"), 65534, 65534)


case("work-directory-owned-by-another-user", two_steps('["true"]'), setup=plant_foreign_work_directory,
     exit=1, stderr=["_work for the run's work directories: it belongs to uid 65534, not to you"])


def plant_symlinked_work_directory(workspace, context):
    os.makedirs(workspace.datastore)
    os.makedirs(os.path.join(workspace.path, "elsewhere"))
    os.symlink(os.path.join(workspace.path, "elsewhere"), os.path.join(workspace.datastore, "_work"))


case("work-directory-is-a-symlink", two_steps('["true"]'), setup=plant_symlinked_work_directory,
     exit=1, stderr=["it is a symbolic link or not a directory"])


def plant_open_work_directory(workspace, context):
    os.makedirs(os.path.join(workspace.datastore, "_work"))
    os.chmod(os.path.join(workspace.datastore, "_work"), 0o777)


def work_directory_made_private(workspace, result, context):
    mode = stat.S_IMODE(os.stat(os.path.join(workspace.datastore, "_work")).st_mode)
    if mode != 0o700:
        fail(f"_work is {mode:o}, expected 700")


case("work-directory-open-to-others-is-closed", two_steps('["true"]'),
     setup=plant_open_work_directory, then=work_directory_made_private)


def keep_workdir(workspace, result, context):
    work = os.path.join(workspace.datastore, "_work")
    kept = os.listdir(work)
    if len(kept) != 1 or not kept[0].startswith(workspace.run_id(result) + "-"):
        fail(f"expected one kept run directory in {work}, found {kept}")
    inside = os.listdir(os.path.join(work, kept[0]))
    if "start.0" not in inside:
        fail(f"the start task's work directory is not kept: {inside}")


case("keep-workdir", two_steps("[sh, -c, 'echo x > \"$PODFLOW_OUTPUTS/x\"']"),
     env={"PODFLOW_KEEP_WORKDIR": "1"}, stderr=["PODFLOW_KEEP_WORKDIR=1: the work directories are kept in"],
     then=keep_workdir)


def malformed_record(workspace, context):
    first = workspace.podflow("run", "flow.yaml", check=0)
    context["run"] = workspace.run_id(first)
    with open(os.path.join(workspace.datastore, "_runs", "77.json"), "w") as f:
        f.write('{"run": 77, "flow": ["not", "a", "name"]}\n')
    with open(os.path.join(workspace.datastore, "_runs", "78.json"), "w") as f:
        f.write('{not json\n')


def list_shows_the_good_run(workspace, result, context):
    if f"{context['run']} " not in result.stdout or "succeeded" not in result.stdout:
        fail(f"podflow list lost the good run:\n{result.stdout}")


case("list-with-malformed-records", two_steps('["true"]'), args=("list",), setup=malformed_record,
     stderr=["_runs/77.json: not a run record"], then=list_shows_the_good_run)
case("status-path-traversal", args=("status", "../../private/secret"), exit=1, stderr=["podflow status:"])
case("logs-path-traversal", args=("logs", "../../private/secret/x"), exit=1, stderr=["podflow logs:"])
case("status-missing-run", args=("status", "4242"), exit=1, stderr=["there is no run 4242"])
case("logs-run-id-with-shell", args=("logs", "1;rm -rf ~/end"), exit=1, stderr=["podflow logs:"])
case("resume-missing-run", two_steps('["true"]'), args=("resume", "999"), exit=1,
     stderr=["there is no run 999"])


def datastore_is_a_file(workspace, context):
    with open(workspace.datastore, "w") as f:
        f.write("not a directory\n")
    os.chmod(workspace.datastore, 0o444)


case("datastore-is-a-file", two_steps('["true"]'), setup=datastore_is_a_file, exit=1,
     stderr=["podflow: datastore:"])


# A full disk: the message says what uses the space, and no try leaves anything behind.
case("disk-full-before-the-run", two_steps('["true"]'),
     setup=lambda ws, ctx: mount_small_filesystem(ws, ctx, fill=True), exit=1,
     stderr=["No space left on device", "free of 2.0 MiB", "podflow keeps there the datastore", "filler 2.0 MiB"],
     then=nothing_partial_left)
case("disk-full-storing-an-output", two_steps(
    "[sh, -c, 'head -c 1500000 /dev/zero > \"$PODFLOW_OUTPUTS/a\" && ln \"$PODFLOW_OUTPUTS/a\" \"$PODFLOW_OUTPUTS/b\"']"),
     setup=lambda ws, ctx: mount_small_filesystem(ws, ctx, fill=False), exit=1,
     stderr=["podflow keeps there the datastore"], then=nothing_partial_left)

# Processes that try to outlive their task.
def no_late_writes(workspace, result, context):
    time.sleep(2.5)  # the daemon would have written by now
    expect_blobs_intact(workspace)


# The daemon holds the output open (a descriptor, not the path) and writes after the step ended.
case("daemon-appends-after-exit", two_steps(
    "[sh, -c, 'echo first > \"$PODFLOW_OUTPUTS/out\"; setsid sh -c \"exec 3>>$PODFLOW_OUTPUTS/out; "
    f"sleep 1; echo late >&3; exec sleep {MARK}\" & sleep 0.2']",
    end="[sh, -c, 'sleep 2; test \"$(cat \"$PODFLOW_INPUTS/out\")\" = first']"),
    then=no_late_writes)
# The step ends only once the daemon has left its process group (else the group kill races it).
case("daemon-double-fork", two_steps(
    f"[sh, -c, '(setsid sh -c \"(sleep {MARK} &) ; touch $PODFLOW_OUTPUTS/detached; sleep {MARK}\" &) ; "
    "while [ ! -e \"$PODFLOW_OUTPUTS/detached\" ]; do sleep 0.05; done']"))


def as_test(item):
    """The case as a test function of harness.main, which counts and reports it."""
    def test(workspace):
        try:
            item.run(workspace)
        finally:
            kill_marked()
            if getattr(item, "context", {}).get("cleanup"):
                item.context["cleanup"]()
            subprocess.run(["chmod", "-R", "u+rwX", workspace.path], check=False)
    test.__name__ = item.name
    return test


if __name__ == "__main__":
    only = sys.argv[1:]
    main([as_test(item) for item in CASES if not only or item.name in only])
