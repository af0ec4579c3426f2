#!/usr/bin/env python3
"""podflow-runtime's own cost per task, locally: podflow-runtime run directly, N times, on a task
with 2 small inputs (inherited from a parent task) and 3 small outputs, no-op otherwise.

Each repetition is one attempt (0, 1, ...) of the task `work` of one run, whose parent `start`
wrote the inputs `a` and `b`; the command is `sh -c` writing 3 outputs of a few bytes that differ
per attempt (so each stores 3 new blobs). Measured per attempt:
  startup    process start (just before the spawn) to the manifest's startedAt: exec, loading,
             the command line, reading the task spec
  prepare    the result's prepareMs: work directory, opening the datastore, parent manifest,
             linking (local) or downloading (S3) the inputs
  to command startup + prepare: the runtime's start to the step command's start
  command    the result's commandMs: spawning `sh`, which writes the outputs, until it exits
  commit     the result's commitMs: the command's exit to the committed manifest (logs, 3 blobs,
             the manifest)
  after      the manifest's finishedAt to the runtime's exit (result file, teardown)
  overhead   the whole process's wall time minus commandMs
  wall       the runtime process's wall time, spawn to exit
  CPU        user + sys of the runtime and its command (os.wait4), less sensitive to the load
  direct     for comparison: the same `sh -c` command spawned directly (wall time and CPU)
Timings from the runtime are whole milliseconds (prepareMs, commandMs, commitMs) and the
manifest's times are RFC 3339 with milliseconds, so single values are +-1 ms; the summaries
(min / median / p95 / max) over many attempts are what count.

  bench/runtime_cost.py [--repeat 200] [--datastore local|s3|both] [--runtime PATH]...

--runtime may be given several times (say, the runtime before a change and after it): each gets
a run of its own, and their attempts alternate (A B, B A, A B, ...), so that whatever else the
machine does falls on all of them alike. Each gets its table, then a side-by-side table of the
medians and p95s.

--datastore s3 (or both) uses s3://$PODFLOW_S3_BUCKET/runtime-cost-<time> on the test cluster's
MinIO: it sources nothing itself, so run it after `source $PODFLOW_CLUSTER_DIR/env` (or
/tmp/podflow-cluster/env); without PODFLOW_S3_ENDPOINT it says so and skips S3.
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLOW = "runtimecost"
WRITE_OUTPUTS = ('printf "x %s" "$PODFLOW_ATTEMPT" > "$PODFLOW_OUTPUTS/x"; '
                 'printf "y %s" "$PODFLOW_ATTEMPT" > "$PODFLOW_OUTPUTS/y"; '
                 'printf "z %s" "$PODFLOW_ATTEMPT" > "$PODFLOW_OUTPUTS/z"')
WRITE_INPUTS = ('printf "a %s" "$PODFLOW_RUN_ID" > "$PODFLOW_OUTPUTS/a"; '
                'printf "b %s" "$PODFLOW_RUN_ID" > "$PODFLOW_OUTPUTS/b"')


def parse_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


S3_BENCH = None  # podflow-s3-bench: next to the (first) runtime, else in build/bin


def read_manifest(datastore, key, scratch):
    if not datastore.startswith("s3://"):
        with open(os.path.join(datastore, key)) as f:
            return json.load(f)
    # S3: read it with podflow's own client (`podflow-s3-bench cat`) when built, else the awscli.
    bench = S3_BENCH
    if bench:
        text = subprocess.run([bench, "cat", datastore, key], check=True,
                              capture_output=True).stdout
    else:
        text = subprocess.run(["aws", "--endpoint-url", os.environ["PODFLOW_S3_ENDPOINT"], "s3",
                               "cp", datastore.rstrip("/") + "/" + key, "-"], check=True,
                              capture_output=True).stdout
    return json.loads(text)


def run_task(runtime, spec, scratch):
    # A result file of its own per task, as the local runner gives each (rewriting one file
    # would make every runtime truncate it: on some filesystems a synchronous discard).
    result_path = os.path.join(scratch, f"result-{os.path.basename(spec['workDir'])}.json")
    env = dict(os.environ, PODFLOW_TASK=json.dumps(spec))
    began = time.time()
    began_mono = time.monotonic()
    proc = subprocess.Popen([runtime, "--result", result_path], env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - began_mono
    ended = time.time()
    with open(result_path) as f:
        result = json.load(f)
    os.unlink(result_path)
    if proc.returncode != 0 or result.get("status") != "succeeded":
        sys.exit(f"podflow-runtime failed (exit {proc.returncode}): {result}")
    return began, ended, wall, (usage.ru_utime + usage.ru_stime) * 1000, result


def start_run(runtime, datastore, scratch, label):
    """Runs the parent task `start` of a new run; returns the base of the work tasks' specs."""
    run = f"{int(time.time() * 1000)}-{label}"
    base = {"datastore": datastore, "flow": FLOW, "run": run, "workingDir": scratch}
    start = dict(base, step="start", task="start", attempt=0, command=["sh", "-c", WRITE_INPUTS],
                 workDir=os.path.join(scratch, "work", f"start-{label}"))
    run_task(runtime, start, scratch)
    return base


def measure_attempt(runtime, base, datastore, attempt, scratch, label):
    spec = dict(base, step="work", task="work", attempt=attempt,
                command=["sh", "-c", WRITE_OUTPUTS],
                parents=[{"step": "start", "prefix": [], "attempts": {"start": 0}}],
                workDir=os.path.join(scratch, "work", f"work-{label}-{attempt}"))
    began, ended, wall, cpu, result = run_task(runtime, spec, scratch)
    manifest = read_manifest(datastore, result["manifest"], scratch)
    if sorted(manifest["artifacts"]) != ["a", "b", "x", "y", "z"]:
        sys.exit(f"unexpected artifacts: {sorted(manifest['artifacts'])}")
    timings = result["timings"]
    startup = (parse_time(manifest["startedAt"]) - began) * 1000
    return {
        "startup": startup,
        "prepare": timings["prepareMs"],
        "to command": startup + timings["prepareMs"],
        "command": timings["commandMs"],
        "commit": timings["commitMs"],
        "after": (ended - parse_time(manifest["finishedAt"])) * 1000,
        "overhead": wall * 1000 - timings["commandMs"],
        "wall": wall * 1000,
        "CPU, runtime + command": cpu,
    }


def pct(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def measure(runtimes, datastore, repeat, scratch, label):
    bases = [start_run(runtime, datastore, scratch, str(i)) for i, runtime in enumerate(runtimes)]
    samples = [[] for _ in runtimes]
    for attempt in range(repeat):
        order = list(range(len(runtimes)))
        if attempt % 2:
            order.reverse()
        for i in order:
            samples[i].append(measure_attempt(runtimes[i], bases[i], datastore, attempt, scratch,
                                              str(i)))
    direct, direct_cpu = [], []
    env = dict(os.environ, PODFLOW_ATTEMPT="0", PODFLOW_OUTPUTS=os.path.join(scratch, "direct"))
    os.makedirs(env["PODFLOW_OUTPUTS"], exist_ok=True)
    for _ in range(repeat):
        began = time.monotonic()
        proc = subprocess.Popen(["sh", "-c", WRITE_OUTPUTS], env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        direct.append((time.monotonic() - began) * 1000)
        direct_cpu.append((usage.ru_utime + usage.ru_stime) * 1000)

    print(f"\n{label}: {repeat} attempts per runtime, load average {os.getloadavg()[0]:.2f} "
          "at the end")
    for i, runtime in enumerate(runtimes):
        if len(runtimes) > 1:
            print(f"\nruntime {chr(65 + i)}: {runtime}")
        print("| ms per task | min | median | p95 | max |")
        print("| --- | ---: | ---: | ---: | ---: |")
        rows = [(key, [s[key] for s in samples[i]]) for key in samples[i][0]]
        rows += [("direct `sh -c`", direct), ("CPU, direct `sh -c`", direct_cpu)]
        for key, values in rows:
            print(f"| {key} | {min(values):.1f} | {statistics.median(values):.1f} "
                  f"| {pct(values, 95):.1f} | {max(values):.1f} |")
    if len(runtimes) > 1:
        names = [chr(65 + i) for i in range(len(runtimes))]
        print("\nside by side, median / p95:")
        print("| ms per task | " + " | ".join(f"{n} median | {n} p95" for n in names) + " |")
        print("| --- |" + " ---: | ---: |" * len(runtimes))
        for key in samples[0][0]:
            cells = []
            for i in range(len(runtimes)):
                values = [s[key] for s in samples[i]]
                cells.append(f"{statistics.median(values):.1f} | {pct(values, 95):.1f}")
            print(f"| {key} | " + " | ".join(cells) + " |")
    return samples


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime", action="append",
                        help="podflow-runtime to measure (repeat to compare several); default: "
                             "build/bin/podflow-runtime")
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--datastore", choices=["local", "s3", "both"], default="both")
    parser.add_argument("--json", help="also write every sample to this file")
    args = parser.parse_args()
    runtimes = [os.path.abspath(r) for r in args.runtime or
                [os.path.join(ROOT, "build", "bin", "podflow-runtime")]]
    global S3_BENCH
    for candidate in (os.path.join(os.path.dirname(runtimes[0]), "podflow-s3-bench"),
                      os.path.join(ROOT, "build", "bin", "podflow-s3-bench")):
        if os.path.exists(candidate):
            S3_BENCH = candidate
            break
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    names = ", ".join(f"{chr(65 + i)} = {r}" for i, r in enumerate(runtimes))
    print(f"podflow-runtime {names} (the checkout's commit {commit}), {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f} at the start")
    out = {}
    with tempfile.TemporaryDirectory(prefix="podflow-runtime-cost-") as scratch:
        if args.datastore in ("local", "both"):
            out["local"] = measure(runtimes, os.path.join(scratch, "store"), args.repeat,
                                   scratch, "local datastore")
        if args.datastore in ("s3", "both"):
            if not os.environ.get("PODFLOW_S3_ENDPOINT"):
                print("\nS3: skipped, no PODFLOW_S3_ENDPOINT (source $PODFLOW_CLUSTER_DIR/env "
                      "after tests/cluster/up)")
            else:
                bucket = os.environ.get("PODFLOW_S3_BUCKET", "podflow-test")
                prefix = f"runtime-cost-{int(time.time())}"
                out["s3"] = measure(runtimes, f"s3://{bucket}/{prefix}", args.repeat,
                                    scratch, f"S3 datastore s3://{bucket}/{prefix} "
                                    f"({os.environ['PODFLOW_S3_ENDPOINT']})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
