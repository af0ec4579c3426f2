#!/usr/bin/env python3
"""Local orchestration overhead: a 1000-way foreach of no-op steps (`true`) run by
`podflow run`, against spawning `true` 1000 times directly. Prints one line per repetition and
a summary (min/median/max); the numbers go into BENCHMARKS.md with this command.

  bench/local_overhead.py [--podflow build/bin/podflow] [--splits 1000] [--repeat 5]
"""
import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

FLOW = """apiVersion: podflow.dev/v1alpha1
kind: Flow
metadata:
  name: noop-foreach
spec:
  parameters:
    - {{name: splits, type: integer, default: {splits}}}
  steps:
    - name: start
      command: [sh, -c, 'i=0; printf "[" > "$PODFLOW_OUTPUTS/items"; while [ $i -lt $PODFLOW_PARAM_SPLITS ]; do [ $i -gt 0 ] && printf "," >> "$PODFLOW_OUTPUTS/items"; printf "%s" $i >> "$PODFLOW_OUTPUTS/items"; i=$((i+1)); done; printf "]" >> "$PODFLOW_OUTPUTS/items"']
      foreach: items
      next: [noop]
    - name: noop
      command: ["true"]
      next: [join]
    - name: join
      join: true
      command: ["true"]
      next: [end]
    - name: end
      command: ["true"]
"""


def children_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--podflow", default=os.path.join(root, "build", "bin", "podflow"))
    parser.add_argument("--splits", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--max-workers", type=int, default=16)
    args = parser.parse_args()
    tasks = args.splits + 3

    walls, cpus, raw = [], [], []
    with tempfile.TemporaryDirectory(prefix="podflow-bench-") as scratch:
        flow_path = os.path.join(scratch, "flow.yaml")
        with open(flow_path, "w") as f:
            f.write(FLOW.format(splits=args.splits))
        for repetition in range(args.repeat):
            began, cpu_before = time.monotonic(), children_cpu()
            for _ in range(tasks):
                subprocess.run(["true"], check=True)
            raw.append((time.monotonic() - began) * 1000 / tasks)

            store = os.path.join(scratch, f"store-{repetition}")
            began, cpu_before = time.monotonic(), children_cpu()
            result = subprocess.run(
                [args.podflow, "run", flow_path, "--datastore", store,
                 "--max-num-splits", str(args.splits), "--max-workers", str(args.max_workers)],
                capture_output=True, text=True)
            wall = time.monotonic() - began
            cpu = children_cpu() - cpu_before
            if result.returncode != 0:
                sys.exit(f"podflow run failed:\n{result.stderr}")
            walls.append(wall)
            cpus.append(cpu)
            print(f"run {repetition + 1}: {tasks} tasks in {wall:.2f} s wall, {cpu:.2f} s CPU: "
                  f"{wall * 1000 / tasks:.2f} ms/task (spawning `true` directly: {raw[-1]:.2f} ms)")

    def summary(values, scale=1.0):
        values = [v * scale for v in values]
        return f"min {min(values):.2f}, median {statistics.median(values):.2f}, max {max(values):.2f}"

    print(f"\n{args.splits}-way foreach of no-op steps, {tasks} tasks, max-workers {args.max_workers}, "
          f"{os.cpu_count()} cores, {args.repeat} runs")
    print(f"  wall time (s):           {summary(walls)}")
    print(f"  wall per task (ms):      {summary(walls, 1000 / tasks)}")
    print(f"  CPU per task (ms):       {summary(cpus, 1000 / tasks)}")
    print(f"  spawn `true` alone (ms): {summary(raw)}")


if __name__ == "__main__":
    main()
