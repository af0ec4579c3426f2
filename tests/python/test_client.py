"""The Client API on real local runs: runs, steps, tasks, state, artifacts and logs; a damaged
blob is refused with both hashes; missing things are named with what exists."""
import json
import os
import socket
from pathlib import Path

import pytest

from conftest import FOREACH_FLOW as FLOW
from podflow import Flow, IntegrityError, NotFound, Run, flows

STEPS = """
parameters(count=int, fail_at="integer")

@step
def start(task):
    task.items = list(range(task.params.count))

@step
def square(task):
    if task.input == task.params.fail_at:
        raise ValueError(f"item {task.input} refused")
    print("squaring", task.input)
    task.result = task.input ** 2

@step
def join(task, inputs):
    task.total = sum(parent.result for parent in inputs)

@step
def end(task):
    print("total", task.total)
"""
PARAMETERS = "- {name: count, type: integer, default: 12}\n- {name: fail_at, type: integer, default: -1}\n"


@pytest.fixture
def runs(workspace):
    workspace.steps(STEPS)
    flow = workspace.flow("squares", FLOW, PARAMETERS)
    good = workspace.run(flow)
    bad = workspace.run(flow, "--param", "fail_at=5", expect=1)
    return workspace, good, bad


def test_reads_a_run_its_steps_tasks_and_artifacts(runs):
    workspace, good, _ = runs
    run = Run(f"squares/{good}", datastore=workspace.datastore)
    assert (run.state, run.successful, run.finished) == ("succeeded", True, True)
    assert run.parameters == {"count": "12", "fail_at": "-1"}
    assert run.step_names() == ["start", "square", "join", "end"]
    square = run["square"]
    assert len(square) == 12 and [t.id for t in square][:3] == ["square.0", "square.1", "square.2"]
    assert [t.data.result for t in square] == [i * i for i in range(12)]
    assert square["square.11"].stdout == "squaring 11\n"
    assert run["join"].task.data.total == sum(i * i for i in range(12)) == run.data.total
    artifact = run["start"].task["items"]
    assert artifact.format == "json" and artifact.size == len(artifact.raw())
    assert run["end"].task.artifact_names() == ["total"]  # a join starts afresh
    assert flows(workspace.datastore) == ["squares"]
    assert [r.id for r in Flow("squares", workspace.datastore)] == [str(int(good) + 1), good]


def test_a_failed_run(runs):
    workspace, _, bad = runs
    run = Run(f"squares/{bad}", datastore=workspace.datastore)
    assert (run.state, run.successful) == ("failed", False)
    task = run["square"]["square.5"]
    assert not task.successful and task.attempts() == [0]
    assert "ValueError: item 5 refused" in task.stderr
    with pytest.raises(NotFound, match="square.5 did not commit: attempts 0 have no manifest.json"):
        task.data.result
    assert "join" not in run.step_names()


def test_datastore_default_is_podflow_datastore_variable(runs, monkeypatch):
    workspace, good, _ = runs
    monkeypatch.setenv("PODFLOW_DATASTORE", workspace.datastore)
    assert Run(f"squares/{good}").data.total == 506


def test_missing_things_are_named_with_what_exists(runs):
    workspace, good, bad = runs
    store = workspace.datastore
    with pytest.raises(NotFound, match=f"flow 'squares' has no run 99 in .*; its runs: {bad}, {good}"):
        Run("squares/99", store)
    with pytest.raises(NotFound, match="no flow 'cubes' in .*; flows there: squares"):
        Flow("cubes", store)
    run = Run(f"squares/{good}", store)
    with pytest.raises(NotFound, match="has no step 'sqaure'.*; its steps: start, square, join, end"):
        run["sqaure"]
    with pytest.raises(NotFound, match=r"has 12 tasks .* iterate it or name one, run\['square'\]\['square.0'\]"):
        run["square"].task
    with pytest.raises(NotFound, match="has no task 'square.12'; its tasks: square.0, square.1"):
        run["square"]["square.12"]
    with pytest.raises(AttributeError, match="has no artifact 'totl'; it has: total"):
        run.data.totl
    with pytest.raises(ValueError, match="a run is named flow/run"):
        Run("squares", store)


def test_a_damaged_blob_is_refused(runs):
    workspace, good, _ = runs
    run = Run(f"squares/{good}", workspace.datastore)
    artifact = run["join"].task["total"]
    blob = Path(workspace.datastore, "squares", "data", artifact.sha256[:2], artifact.sha256)
    os.chmod(blob, 0o644)
    blob.write_bytes(b"507")  # same size, other bytes
    with pytest.raises(IntegrityError, match=f"holds 3 bytes with SHA-256 [0-9a-f]{{64}}, the manifest says 3 bytes with SHA-256 {artifact.sha256}"):
        run["join"].task.data.total
    blob.unlink()
    with pytest.raises(IntegrityError, match="is missing"):
        run["join"].task.data.total


def test_state_without_a_record_and_of_a_lost_runner(runs):
    workspace, good, _ = runs
    record_path = Path(workspace.datastore, "_runs", f"{good}.json")
    record = json.loads(record_path.read_text())
    # a runner on this machine that is gone: what `podflow status` shows as lost
    lost = dict(record, state="running", host=socket.gethostname(), pid=2**22 + 17, pidStartTicks=1,
                bootId=Path("/proc/sys/kernel/random/boot_id").read_text().strip())
    record_path.write_text(json.dumps(lost))
    assert Run(f"squares/{good}", workspace.datastore).state == "lost"
    # this process as the runner: still running
    ticks = int(Path(f"/proc/{os.getpid()}/stat").read_text().rsplit(")", 1)[1].split()[19])
    record_path.write_text(json.dumps(dict(lost, pid=os.getpid(), pidStartTicks=ticks)))
    assert Run(f"squares/{good}", workspace.datastore).state == "running"
    # a cluster run has no record: told from its tasks
    record_path.unlink()
    run = Run(f"squares/{good}", workspace.datastore)
    assert (run.record, run.state, run.successful) == (None, "succeeded", True)
