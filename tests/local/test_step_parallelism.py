"""A step's `parallelism` caps how many of its tasks run at once, measured from the tasks' own
start and end times, while the ready tasks of other steps still start beside them (a capped step
at the head of the queue does not hold them back) and max-workers stays the run-wide limit."""
import os

from harness import expect, flow, main

ITEMS = "import json,os,sys,time; time.sleep(float(sys.argv[2])); json.dump(list(range(int(sys.argv[1]))), open(os.environ['PODFLOW_OUTPUTS']+'/items','w'))"

# start splits into a foreach of 6 `work` tasks (capped at 2) and, beside it, a foreach of 4
# `side` tasks without a cap. `other` waits a little before it writes its list, so the work tasks
# are ahead of the side tasks in the queue: the side tasks must start past four waiting work tasks.
SPLIT = flow("capped", f"""\
    - name: start
      command: ["true"]
      next: [fan, other]
    - name: fan
      command: [python3, -c, "{ITEMS}", "6", "0"]
      foreach: items
      next: [work]
    - name: work
      command: [python3, timed.py, "1.2"]
      next: [work_join]
      PARALLELISM
    - name: work_join
      join: true
      command: ["true"]
      next: [join]
    - name: other
      command: [python3, -c, "{ITEMS}", "4", "0.3"]
      foreach: items
      next: [side]
    - name: side
      command: [python3, timed.py, "2"]
      next: [side_join]
    - name: side_join
      join: true
      command: ["true"]
      next: [join]
    - name: join
      join: true
      command: ["true"]
      next: [end]
    - name: end
      command: ["true"]
    """)

# Each task records when it started and finished, from its own clock, in a file of its own under
# $TIMES/<step>/.
TIMED = """\
import os, sys, time
start = time.time()
time.sleep(float(sys.argv[1]))
directory = os.path.join(os.environ["TIMES"], os.environ["PODFLOW_STEP"])
os.makedirs(directory, exist_ok=True)
with open(os.path.join(directory, os.environ["PODFLOW_TASK_ID"]), "w") as f:
    f.write(f"{start} {time.time()}")
"""


def intervals(times, step):
    directory = os.path.join(times, step)
    if not os.path.isdir(directory):
        return []
    return [tuple(map(float, open(os.path.join(directory, name)).read().split()))
            for name in sorted(os.listdir(directory))]


def peak(spans):
    events = [(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans]
    running = most = 0
    for _, change in sorted(events):  # an end before a start at the same instant
        running += change
        most = max(most, running)
    return most


def run(workspace, parallelism_line):
    workspace.write("flow.yaml", SPLIT.replace("PARALLELISM", parallelism_line))
    workspace.write("timed.py", TIMED)
    times = os.path.join(workspace.path, "times")
    os.makedirs(times)
    env = dict(os.environ, TIMES=times)
    workspace.podflow("run", "flow.yaml", "--max-workers", "8", check=0, env=env)
    work, side = intervals(times, "work"), intervals(times, "side")
    expect(len(work) == 6, f"{len(work)} work tasks recorded their times, expected 6")
    expect(len(side) == 4, f"{len(side)} side tasks recorded their times, expected 4")
    return work, side


def test_parallelism_caps_the_step_and_not_the_others(workspace):
    work, side = run(workspace, "parallelism: 2")
    expect(peak(work) <= 2, f"{peak(work)} work tasks ran at once with parallelism: 2")
    expect(peak(work) == 2, f"only {peak(work)} work task ran at a time; parallelism: 2 allows 2")
    # The side tasks were behind four waiting work tasks in the queue and started anyway: each
    # before the last work task started (the third pair), and together with work tasks.
    last_work_start = max(start for start, _ in work)
    late = [start for start, _ in side if start >= last_work_start]
    expect(not late, f"{len(late)} side task(s) started only after the last work task started: "
                     f"blocked behind the capped step")
    expect(peak(side) >= 3, f"only {peak(side)} side tasks overlapped; nothing caps them")
    expect(peak(work + side) >= 5,
           f"at most {peak(work + side)} tasks ran at once; expected 2 work and 4 side together")


def test_without_parallelism_the_step_uses_the_workers(workspace):
    # The control: the same flow without the cap runs more than 2 work tasks at once, so the
    # measurement above can tell a capped step from one that is not.
    work, _ = run(workspace, "")
    expect(peak(work) >= 3, f"only {peak(work)} work tasks overlapped without parallelism")


def test_parallelism_from_spec_defaults_applies_to_every_step(workspace):
    # parallelism: 1 in spec.defaults runs every step's tasks one at a time, the side tasks too;
    # the step's own value wins over it.
    text = SPLIT.replace("PARALLELISM", "parallelism: 3").replace(
        "spec:\n", "spec:\n  defaults:\n    parallelism: 1\n", 1)
    workspace.write("flow.yaml", text)
    workspace.write("timed.py", TIMED.replace("time.sleep(float(sys.argv[1]))", "time.sleep(0.5)"))
    times = os.path.join(workspace.path, "times")
    os.makedirs(times)
    env = dict(os.environ, TIMES=times)
    workspace.podflow("run", "flow.yaml", "--max-workers", "8", check=0, env=env)
    work, side = intervals(times, "work"), intervals(times, "side")
    expect(len(work) == 6 and len(side) == 4, f"{len(work)} work and {len(side)} side tasks ran")
    expect(peak(side) == 1, f"{peak(side)} side tasks ran at once with spec.defaults parallelism 1")
    expect(2 <= peak(work) <= 3, f"{peak(work)} work tasks ran at once with their own parallelism 3")
    expect(peak(work + side) >= 2, "the two foreach steps did not run side by side")


if __name__ == "__main__":
    main([test_parallelism_caps_the_step_and_not_the_others,
          test_without_parallelism_the_step_uses_the_workers,
          test_parallelism_from_spec_defaults_applies_to_every_step])
