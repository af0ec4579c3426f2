"""Steps written with the package, run by the real podflow: typed parameters, the foreach item,
`current`, artifacts in every format read back by the next step, a join's inputs in order and by
step, merge_artifacts, and the errors a user sees for a mistake."""
import subprocess
import sys

from conftest import SOURCE
from podflow import Run

KINDS_FLOW = """\
- name: start
  command: [PY, start]
  foreach: items
  next: [work]
- name: work
  command: [PY, work]
  resources: {cpu: "1.5"}
  next: [join]
- name: join
  join: true
  command: [PY, join]
  next: [end]
- name: end
  command: [PY, end]
"""
KINDS_PARAMETERS = """\
- {name: count, type: integer, default: 3}
- {name: alpha, type: number, default: 0.5}
- {name: debug, type: boolean, default: true}
- {name: config, type: json, default: {layers: [64, 64]}}
- {name: who, default: ada}
"""
KINDS_STEPS = """
import numpy

parameters(count=int, alpha="number", debug=bool, config="json")

@step
def start(task):
    p = task.params
    assert (p.count, p.alpha, p.debug, p.config, p.who) == (3, 0.5, True, {"layers": [64, 64]}, "ada"), dict(p)
    assert type(p.count) is int and type(p.alpha) is float
    task.items = [10 * i for i in range(p.count)]
    task.text = "héllo"
    task.raw = b"\\x00\\x01"
    task.pair = (1, 2)
    task.array = numpy.arange(6).reshape(2, 3)
    task.write("nested/config.json", {"a": 1})
    task.shared = "the same in every split"

@step
def work(task):
    assert task.text == "héllo" and task.raw == b"\\x00\\x01" and task.pair == (1, 2)
    assert task.array.shape == (2, 3) and task["nested/config.json"] == {"a": 1}
    assert [task.format_of(n) for n in ("items", "text", "raw", "pair", "array")] == \\
        ["json", "text", "bytes", "pickle", "npy"]
    task.value = task.input + 1
    task.where = {"index": task.index, "split_index": current.split_index,
                  "split_path": list(current.split_path), "task_id": current.task_id,
                  "step": current.step_name, "attempt": current.attempt, "cpu": current.cpu,
                  "cores": current.cores, "flow": current.flow_name, "run": current.run_id,
                  "pathspec": current.pathspec}

@step
def join(task, inputs):
    task.values = [parent.value for parent in inputs]
    task.order = [parent.task_id for parent in inputs]
    task.merged = task.merge_artifacts(inputs, exclude=["value", "where"])

@step
def end(task):
    print("end sees", task.values, task.shared, task.pair)
"""


def test_parameters_items_current_formats_and_join(workspace):
    workspace.steps(KINDS_STEPS)
    run_id = workspace.run(workspace.flow("kinds", KINDS_FLOW, KINDS_PARAMETERS))
    run = Run(f"kinds/{run_id}", datastore=workspace.datastore)
    join = run["join"].task
    assert join.data.values == [1, 11, 21]
    assert join.data.order == ["work.0", "work.1", "work.2"]
    # merged: what every split agreed on, with its format; not what they differ on
    assert "shared" in join.data.merged and "items" in join.data.merged and "value" not in join.data.merged
    assert join["pair"].format == "pickle" and join.data.pair == (1, 2)
    assert join["array"].format == "npy" and join.data.array.tolist() == [[0, 1, 2], [3, 4, 5]]
    assert run.data.shared == "the same in every split"
    assert "end sees [1, 11, 21] the same in every split (1, 2)" in run["end"].task.stdout
    where = [task.data.where for task in run["work"]]
    assert where[2] == {"index": 2, "split_index": 2, "split_path": [2], "task_id": "work.2",
                        "step": "work", "attempt": 0, "cpu": 1.5, "cores": 2, "flow": "kinds",
                        "run": run_id, "pathspec": f"kinds/{run_id}/work/work.2"}
    # JSON artifacts are plain JSON text, a str plain UTF-8: what a C++ or shell step reads
    assert run["start"].task["items"].raw() == b"[0, 10, 20]"
    assert run["start"].task["text"].raw() == "héllo".encode()


BRANCH_FLOW = """\
- name: start
  command: [PY, start]
  next: [left, right]
- name: left
  command: [PY, left]
  next: [join]
- name: right
  command: [PY, right]
  next: [join]
- name: join
  join: true
  command: [PY, join]
  next: [end]
- name: end
  command: [PY, end]
"""


def test_static_branch_inputs_by_step_and_merge_conflict(workspace):
    workspace.steps("""
@step
def start(task):
    task.base = 1
    task.side = "start"

@step
def left(task):
    task.side = "left"
    task.only_left = [task.base]

@step
def right(task):
    task.side = "right"

@step
def join(task, inputs):
    assert [p.step_name for p in inputs] == ["left", "right"]
    task.sides = [inputs.left.side, inputs.right.side]
    try:
        task.merge_artifacts(inputs)
    except MergeError as error:
        task.conflict = str(error)
    task.side = "joined"   # assigned first: wins over the parents' values
    task.merge_artifacts(inputs)

@step
def end(task):
    assert task.side == "joined" and task.base == 1 and task.only_left == [1]
""")
    run_id = workspace.run(workspace.flow("branchy", BRANCH_FLOW))
    join = Run(f"branchy/{run_id}", workspace.datastore)["join"].task
    assert join.data.sides == ["left", "right"]
    assert "the parents differ on 'side' (left, right)" in join.data.conflict
    assert "exclude=[...]" in join.data.conflict


def test_a_mistake_fails_the_task_with_a_message_naming_what_exists(workspace):
    workspace.steps("""
@step
def start(task):
    task.total = 1

@step
def end(task):
    print(task.totl)
""")
    flow = workspace.flow("oops", "- {name: start, command: [PY, start], next: [end]}\n- {name: end, command: [PY, end]}\n")
    run_id = workspace.run(flow, expect=1)
    run = Run(f"oops/{run_id}", workspace.datastore)
    assert run.state == "failed" and not run.successful
    stderr = run["end"].task.stderr
    assert "step end's inputs (from start) has no artifact 'totl'; it has: total" in stderr, stderr


def test_join_written_as_a_linear_step_is_refused(workspace):
    workspace.steps("""
@step
def start(task):
    task.x = 1

@step
def left(task):
    pass

@step
def right(task):
    pass

@step
def join(task):
    pass

@step
def end(task):
    pass
""")
    run_id = workspace.run(workspace.flow("nojoin", BRANCH_FLOW), expect=1)
    stderr = Run(f"nojoin/{run_id}", workspace.datastore)["join"].task.stderr
    assert "step join has 2 parent tasks, so it is a join: define it as def join(task, inputs)" in stderr


def test_parameter_declared_with_the_wrong_type(workspace):
    workspace.steps("""
parameters(name=int)

@step
def start(task):
    print(task.params.name)

@step
def end(task):
    pass
""")
    flow = workspace.flow("badparam", "- {name: start, command: [PY, start], next: [end]}\n- {name: end, command: [PY, end]}\n",
                          parameters="- {name: name, default: ada}\n")
    run_id = workspace.run(flow, expect=1)
    stderr = Run(f"badparam/{run_id}", workspace.datastore)["start"].task.stderr
    assert "parameter 'name' is declared integer in this steps file but its value 'ada' is not one" in stderr


def run_steps_file(workspace, *args, env=None):
    path = workspace.steps("@step\ndef start(task):\n    pass\n")
    return subprocess.run([sys.executable, str(path), *args], capture_output=True, text=True,
                          env={"PYTHONPATH": str(SOURCE), **(env or {})})


def test_usage_errors_of_the_entry_point(workspace):
    result = run_steps_file(workspace)
    assert result.returncode == 2 and "usage: steps.py STEP, STEP one of: start" in result.stderr
    result = run_steps_file(workspace, "stort")
    assert result.returncode == 2 and "no step 'stort' here" in result.stderr
    result = run_steps_file(workspace, "start")
    assert result.returncode == 2 and "PODFLOW_OUTPUTS is not set: run this step through podflow" in result.stderr


def test_parameters_typed_by_the_flow_without_a_declaration(workspace):
    # the runtime exports the flow's declared types (PODFLOW_PARAMETER_TYPES): no parameters(...)
    workspace.steps("""
@step
def start(task):
    p = task.params
    assert (p.count, p.alpha, p.debug, p.config, p.who) == (3, 0.5, True, {"layers": [64, 64]}, "ada"), dict(p)
    task.seen = [type(p[name]).__name__ for name in ("count", "alpha", "debug", "config", "who")]

@step
def end(task):
    pass
""")
    flow = workspace.flow("flowtypes", "- {name: start, command: [PY, start], next: [end]}\n- {name: end, command: [PY, end]}\n",
                          parameters=KINDS_PARAMETERS)
    run_id = workspace.run(flow, "--param", "count=3")
    assert Run(f"flowtypes/{run_id}", workspace.datastore).data.seen == ["int", "float", "bool", "dict", "str"]
