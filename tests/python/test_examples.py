"""examples/fanout and examples/pysum as users run them: their steps are zip applications of the
steps file and the package (build/bin/fanout-steps, pysum-steps), run with no package installed."""
import random

from conftest import REPO
from podflow import Run

NO_PACKAGE = {"PYTHONPATH": ""}


def test_fanout(workspace):
    run_id = workspace.run(REPO / "examples" / "fanout" / "flow.yaml", "--param", "count=40", env=NO_PACKAGE)
    run = Run(f"fanout/{run_id}", workspace.datastore)
    assert "join: all 40 items arrived exactly once" in run["join"].task.stdout
    assert run.data.total == sum(i * i for i in range(40))
    assert run["start"].task["items"].format == "json"
    assert run["square"]["square.7"].data.result == {"id": 7, "square": 49}


def test_pysum_uses_parallel_map_on_the_cores_asked_for(workspace):
    size = 300
    run_id = workspace.run(REPO / "examples" / "pysum" / "flow.yaml", "--param", f"size={size}", env=NO_PACKAGE)
    run = Run(f"pysum/{run_id}", workspace.datastore)
    start = run["start"].task
    assert start.data.cores == 2  # resources.cpu: 2
    expected = 0.0
    for row in range(size):
        generator = random.Random(row + 1)
        expected += sum(generator.expovariate(1.0) for _ in range(size))
    assert abs(start.data.sum - expected) < 1e-6 * expected
    assert f"The sum is {start.data.sum:f}." in run["end"].task.stdout
