#!/usr/bin/env python3
"""podflow against Metaflow, locally, on the same flow shapes, interleaved in one invocation.

Shapes (the flows are in bench/metaflow_flows/, a YAML for podflow and a FlowSpec for Metaflow,
every step a no-op: `true` in podflow, only self.next(...) in Metaflow):
  linear   10 steps: start, s1 ... s8, end                                     (10 tasks)
  foreach  start -> noop x SPLITS -> join -> end, --max-num-splits SPLITS      (SPLITS + 3 tasks)
  nested   start -> outer x OUTER -> inner x INNER -> inner_join -> outer_join -> end,
           --max-num-splits max(OUTER, INNER)                   (OUTER * INNER + 2 * OUTER + 3)
Both run with --max-workers 16, each with a fresh datastore in a temporary directory (podflow:
--datastore DIR; Metaflow: the local datastore and metadata, METAFLOW_DATASTORE_SYSROOT_LOCAL=DIR,
METAFLOW_DEFAULT_METADATA=local, a fresh METAFLOW_HOME, USERNAME=bench).

Metaflow comes from PyPI at a pinned version (--metaflow-version) into a venv under
~/.cache/podflow/bench-venv-metaflow-<version>, created once and reused afterwards.

Per run: wall time; CPU = user + sys of the whole process tree (os.wait4 on the tool's process,
which includes every descendant it waited for); the largest single process's peak RSS (ru_maxrss
of that rusage); the peak of the summed RSS of the process tree, sampled every 50 ms from /proc.
Repetitions are interleaved (podflow then Metaflow, the order swapped every repetition), and the
ratios podflow / Metaflow are taken per repetition, then summarised as min / median / max.

  bench/metaflow_compare.py [--repeat 3] [--repeat-large 1] [--shapes linear,foreach,nested]
                            [--splits 1000] [--outer 10] [--inner 100] [--json FILE]

Standard library only (Metaflow runs only inside its venv).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FLOWS = os.path.join(ROOT, "bench", "metaflow_flows")
PAGE = os.sysconf("SC_PAGE_SIZE")
LARGE_SHAPES = ("foreach", "nested")


def ensure_venv(version):
    """The venv with metaflow==version: reused when it already imports that version."""
    venv = os.path.expanduser(f"~/.cache/podflow/bench-venv-metaflow-{version}")
    python = os.path.join(venv, "bin", "python")
    check = [python, "-c", "import metaflow, sys; sys.exit(metaflow.__version__ != sys.argv[1])",
             version]
    if os.path.exists(python) and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    print(f"creating {venv} (metaflow=={version} from PyPI)", flush=True)
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", f"metaflow=={version}"],
                   check=True)
    subprocess.run(check, check=True)
    return python


def tree_rss(root_pid):
    """Summed RSS (bytes) of root_pid and all its descendants, from /proc/*/stat."""
    children, rss = {}, {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                text = f.read()
        except OSError:
            continue
        fields = text[text.rindex(b")") + 2:].split()
        pid = int(entry)
        children.setdefault(int(fields[1]), []).append(pid)  # fields[1]: ppid
        rss[pid] = int(fields[21]) * PAGE                      # fields[21]: rss in pages
    total, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, ()))
    return total


def measure(argv, env, cwd, log_path):
    """Runs argv to completion: wall (s), cpu (s, the tree's user + sys), maxrss of the largest
    process (bytes), peak summed RSS of the tree (bytes, sampled every 50 ms), return code."""
    with open(log_path, "wb") as log:
        began = time.monotonic()
        proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)
        peak = [0]
        done = threading.Event()

        def sample():
            while not done.wait(0.05):
                peak[0] = max(peak[0], tree_rss(proc.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - began
        proc.returncode = os.waitstatus_to_exitcode(status)
        done.set()
        sampler.join()
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime,
            "maxrss": usage.ru_maxrss * 1024, "peak_total_rss": peak[0],
            "returncode": proc.returncode}


def count_files(top, prefix):
    return sum(name.startswith(prefix) for _, _, files in os.walk(top) for name in files)


class Shape:
    def __init__(self, name, yaml, py, tasks, max_splits, params, env):
        self.name, self.yaml, self.py, self.tasks = name, yaml, py, tasks
        self.max_splits, self.params, self.env = max_splits, params, env


def shapes_for(args):
    nested_tasks = args.outer * args.inner + 2 * args.outer + 3
    return {
        "linear": Shape("linear", "linear.yaml", "linear_flow.py", 10, 100, [], {}),
        "foreach": Shape("foreach", "foreach.yaml", "foreach_flow.py", args.splits + 3,
                         args.splits, [f"splits={args.splits}"],
                         {"PODFLOW_BENCH_SPLITS": str(args.splits)}),
        "nested": Shape("nested", "nested_foreach.yaml", "nested_foreach_flow.py", nested_tasks,
                        max(args.outer, args.inner),
                        [f"outer={args.outer}", f"inner={args.inner}"],
                        {"PODFLOW_BENCH_OUTER": str(args.outer),
                         "PODFLOW_BENCH_INNER": str(args.inner)}),
    }


def run_podflow(args, shape, scratch):
    store = os.path.join(scratch, "store")
    argv = [args.podflow, "run", os.path.join(FLOWS, shape.yaml), "--max-workers",
            str(args.max_workers), "--max-num-splits", str(shape.max_splits), "--datastore", store]
    for param in shape.params:
        argv += ["--param", param]
    result = measure(argv, dict(os.environ), scratch, os.path.join(scratch, "log"))
    result["tasks"] = count_files(store, "manifest.json")
    return argv, result


def run_metaflow(args, python, shape, scratch):
    home, store = os.path.join(scratch, "home"), os.path.join(scratch, "store")
    os.makedirs(home)
    os.makedirs(store)
    env = dict(os.environ, METAFLOW_HOME=home, USERNAME="bench", METAFLOW_DEFAULT_METADATA="local",
               METAFLOW_DATASTORE_SYSROOT_LOCAL=store, **shape.env)
    argv = [python, os.path.join(FLOWS, shape.py), "--no-pylint", "run", "--max-workers",
            str(args.max_workers), "--max-num-splits", str(shape.max_splits)]
    result = measure(argv, env, scratch, os.path.join(scratch, "log"))
    # The local metadata provider marks each successful task attempt with sysmeta_attempt_ok_*.
    result["tasks"] = count_files(store, "sysmeta_attempt_ok_")
    return argv, result


def summary(values):
    return min(values), statistics.median(values), max(values)


def fmt(triple, digits=2):
    return " / ".join(f"{v:.{digits}f}" for v in triple)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--podflow", default=os.path.join(ROOT, "build", "bin", "podflow"))
    parser.add_argument("--metaflow-version", default="2.19.39")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--repeat-large", type=int, default=1,
                        help="repetitions of the foreach and nested shapes (default 1: Metaflow "
                        "takes minutes for each on 2 cores, see BENCHMARKS.md)")
    parser.add_argument("--shapes", default="linear,foreach,nested")
    parser.add_argument("--splits", type=int, default=1000)
    parser.add_argument("--outer", type=int, default=10)
    parser.add_argument("--inner", type=int, default=100)
    parser.add_argument("--max-workers", type=int, default=16)
    parser.add_argument("--json", help="also write every measurement to this file")
    args = parser.parse_args()
    repeat_large = args.repeat_large

    python = ensure_venv(args.metaflow_version)
    all_shapes = shapes_for(args)
    chosen = [all_shapes[name] for name in args.shapes.split(",")]
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    print(f"podflow {args.podflow} (commit {commit}), metaflow {args.metaflow_version} "
          f"({python}), {sys.version.split()[0]}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f} at the start", flush=True)

    results = {s.name: {"podflow": [], "metaflow": []} for s in chosen}
    commands, loads = {}, []
    began = time.monotonic()
    for repetition in range(max(args.repeat, repeat_large)):
        for shape in chosen:
            wanted = repeat_large if shape.name in LARGE_SHAPES else args.repeat
            if repetition >= wanted:
                continue
            tools = ["podflow", "metaflow"] if repetition % 2 == 0 else ["metaflow", "podflow"]
            for tool in tools:
                with tempfile.TemporaryDirectory(prefix=f"podflow-mfcmp-{tool}-") as scratch:
                    load_before = os.getloadavg()[0]
                    if tool == "podflow":
                        argv, r = run_podflow(args, shape, scratch)
                    else:
                        argv, r = run_metaflow(args, python, shape, scratch)
                    r["load"] = (load_before + os.getloadavg()[0]) / 2
                    loads.append(r["load"])
                    commands[(shape.name, tool)] = argv
                    if r["returncode"] != 0 or r["tasks"] != shape.tasks:
                        with open(os.path.join(scratch, "log"), errors="replace") as f:
                            tail = f.read()[-3000:]
                        sys.exit(f"{tool} {shape.name}: exit {r['returncode']}, {r['tasks']} of "
                                 f"{shape.tasks} tasks committed\n{tail}")
                results[shape.name][tool].append(r)
                print(f"[{time.monotonic() - began:6.0f} s] {shape.name:8s} {tool:8s} "
                      f"rep {repetition + 1}: wall {r['wall']:7.2f} s, cpu {r['cpu']:7.2f} s, "
                      f"max RSS {r['maxrss'] / 2**20:6.1f} MiB, peak tree RSS "
                      f"{r['peak_total_rss'] / 2**20:7.1f} MiB, load {r['load']:.1f}", flush=True)

    print(f"\ntotal {time.monotonic() - began:.0f} s; load average during the runs "
          f"{min(loads):.1f}-{max(loads):.1f}\n")
    for shape in chosen:
        print(f"{shape.name}: `{' '.join(commands[(shape.name, 'podflow')])}` vs "
              f"`{' '.join(os.path.relpath(a, ROOT) if a.startswith(ROOT) else a for a in commands[(shape.name, 'metaflow')])}`")
    print()
    print("| shape | tasks | measure | podflow min / med / max | Metaflow min / med / max "
          "| podflow / Metaflow min / med / max |")
    print("| --- | ---: | --- | ---: | ---: | ---: |")
    measures = [("wall time (s)", "wall", 1), ("CPU, whole tree (s)", "cpu", 1),
                ("largest process RSS (MiB)", "maxrss", 2**20),
                ("peak summed RSS of the tree (MiB)", "peak_total_rss", 2**20)]
    for shape in chosen:
        pf, mf = results[shape.name]["podflow"], results[shape.name]["metaflow"]
        for label, key, scale in measures:
            a = [r[key] / scale for r in pf]
            b = [r[key] / scale for r in mf]
            ratios = [x / y for x, y in zip(a, b)]
            digits = 3 if key in ("wall", "cpu") else 2
            print(f"| {shape.name} | {shape.tasks} | {label} | {fmt(summary(a))} "
                  f"| {fmt(summary(b))} | {fmt(summary(ratios), digits)} |")
        speedups = [y["wall"] / x["wall"] for x, y in zip(pf, mf)]
        print(f"| {shape.name} | | Metaflow wall / podflow wall | | | "
              f"{' / '.join(f'{v:.1f}x' for v in summary(speedups))} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"metaflow": args.metaflow_version, "commit": commit, "results": results,
                       "commands": {f"{k[0]}/{k[1]}": v for k, v in commands.items()}}, f,
                      indent=1)


if __name__ == "__main__":
    main()
