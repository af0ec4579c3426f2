"""max-workers is never exceeded (measured from the tasks' own start and end times), and
max-num-splits stops a foreach that is too wide, with the flag to raise in the message."""
import os

from harness import expect, flow, main

FANOUT = flow("wide", """\
    - name: start
      command: [python3, -c, "import json,os; n=int(os.environ['PODFLOW_PARAM_SPLITS']); json.dump(list(range(n)), open(os.environ['PODFLOW_OUTPUTS']+'/items','w'))"]
      foreach: items
      next: [work]
    - name: work
      command: [python3, work.py]
      next: [join]
    - name: join
      join: true
      command: [python3, -c, "print(len(open(__import__('os').environ['PODFLOW_INPUT_TASKS']).read().split()))"]
      next: [end]
    - name: end
      command: ["true"]
    """, parameters="- {name: splits, type: integer, default: 10}\n")

# Each task records when it started and finished, from its own clock, in a file of its own.
WORK = """\
import os, time
start = time.time()
time.sleep(float(os.environ.get("SLEEP", "0.3")))
with open(os.path.join(os.environ["TIMES"], os.environ["PODFLOW_TASK_ID"]), "w") as f:
    f.write(f"{start} {time.time()}")
"""


def max_overlap(directory):
    events = []
    for name in os.listdir(directory):
        start, end = map(float, open(os.path.join(directory, name)).read().split())
        events += [(start, 1), (end, -1)]
    running = peak = 0
    for _, change in sorted(events, key=lambda event: (event[0], event[1])):
        running += change
        peak = max(peak, running)
    return peak, len(events) // 2


def test_max_workers_is_never_exceeded(workspace):
    workspace.write("flow.yaml", FANOUT)
    workspace.write("work.py", WORK)
    times = os.path.join(workspace.path, "times")
    os.makedirs(times)
    env = dict(os.environ, TIMES=times, SLEEP="0.4")
    workspace.podflow("run", "flow.yaml", "--param", "splits=24", "--max-workers", "3", check=0, env=env)
    peak, count = max_overlap(times)
    expect(count == 24, f"{count} tasks recorded their times, expected 24")
    expect(peak <= 3, f"{peak} tasks ran at once with --max-workers 3")
    expect(peak >= 2, f"only {peak} task ran at a time: no parallelism with --max-workers 3")


def test_max_workers_default_allows_sixteen(workspace):
    workspace.write("flow.yaml", FANOUT)
    workspace.write("work.py", WORK)
    times = os.path.join(workspace.path, "times")
    os.makedirs(times)
    env = dict(os.environ, TIMES=times, SLEEP="3")
    workspace.podflow("run", "flow.yaml", "--param", "splits=40", check=0, env=env)
    peak, count = max_overlap(times)
    expect(count == 40, f"{count} tasks recorded their times, expected 40")
    expect(peak <= 16, f"{peak} tasks ran at once with the default max-workers 16")
    expect(peak >= 8, f"only {peak} tasks overlapped; the default should allow 16")


def test_default_max_num_splits_fails_at_101(workspace):
    workspace.write("flow.yaml", FANOUT)
    workspace.write("work.py", "pass\n")
    result = workspace.podflow("run", "flow.yaml", "--param", "splits=101", check=1)
    message = ("foreach artifact 'items' has 101 items, more than max-num-splits 100; "
               "raise it with --max-num-splits 101")
    expect(message in result.stderr, f"no max-num-splits message in:\n{result.stderr}")
    record = workspace.record(workspace.run_id(result))
    expect(record["state"] == "failed", f"state {record['state']}")
    work = [s for s in record["steps"] if s["name"] == "work"][0]
    expect(work["succeeded"] == 0, "work tasks ran although the foreach failed")


def test_raised_max_num_splits_passes(workspace):
    workspace.write("flow.yaml", FANOUT)
    workspace.write("work.py", "pass\n")
    result = workspace.podflow("run", "flow.yaml", "--param", "splits=101", "--max-num-splits", "1000",
                               check=0)
    logs = workspace.podflow("logs", f"{workspace.run_id(result)}/join", check=0)
    expect(logs.stdout.strip() == "101", f"the join saw {logs.stdout!r} inputs, expected 101")


if __name__ == "__main__":
    main([test_max_workers_is_never_exceeded, test_max_workers_default_allows_sixteen,
          test_default_max_num_splits_fails_at_101, test_raised_max_num_splits_passes])
