"""A step written with the package and a C++ step (interop_step.cpp, through sdk/podflow/step.hpp)
read each other's artifacts: JSON, text and bytes go to C++ as they are; C++'s outputs, which
carry no format record, read as bytes or in the format the Python step names; and an artifact C++
rewrote no longer matches Python's record, so it reads as bytes, never as stale JSON."""
import os

import pytest

from podflow import Run

INTEROP = os.environ.get("PODFLOW_INTEROP_STEP")

FLOW = """\
- name: start
  command: [PY, start]
  next: [cpp]
- name: cpp
  command: [INTEROP, cpp]
  next: [end]
- name: end
  command: [PY, end]
"""


def test_python_and_cpp_steps_read_each_others_artifacts(workspace):
    if not INTEROP:
        pytest.fail("PODFLOW_INTEROP_STEP is not set: ctest sets it to the built podflow-python-interop-step")
    workspace.steps("""
@step
def start(task):
    task.numbers = [1, 2, 3, 4]
    task.greeting = "grüß dich"
    task.blob = bytes([200, 1, 2])

@step
def end(task):
    assert task.format_of("cpp_sum") == "bytes" and task.cpp_sum == b"10"
    assert task.read("cpp_sum", format="json") == 10
    report = task.read("cpp_report", format="json")
    assert report == {"greeting": "grüß dich", "blob_size": 3, "first_byte": 200}, report
    # rewritten by C++ after Python recorded it as JSON: the record no longer matches
    assert task.format_of("numbers") == "bytes" and task.numbers == b"not json any more"
    assert task.greeting == "grüß dich" and task.format_of("greeting") == "text"
    task.checked = True
""")
    flow = workspace.flow("interop", FLOW.replace("INTEROP", INTEROP))
    run_id = workspace.run(flow)
    run = Run(f"interop/{run_id}", workspace.datastore)
    assert run["cpp"].task.stdout.strip() == "cpp: sum 10, greeting grüß dich"
    assert run.data.checked is True
    # the Client applies the same rule
    end = run["end"].task
    assert end["numbers"].format == "bytes" and end["greeting"].format == "text"
    assert end["cpp_report"].read("json")["blob_size"] == 3
