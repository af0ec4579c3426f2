"""The Client reads a run the operator made on the test cluster (ctest fixture `cluster`):
examples/fanout, whose steps use the package, runs as a FlowRun of podflow-operator with its pods on
the process node and its artifacts in MinIO; the Client finds it in the namespace's prefix by the
FlowRun's run id, with the same values and sha256 checks as for a local run."""
import sys
from pathlib import Path

import pytest

from podflow import Flow, NotFound, Run

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests" / "operator"))
from operator_harness import OperatorTest  # noqa: E402


def test_client_reads_an_operator_run():
    flow = (REPO / "examples" / "fanout" / "flow.yaml").read_text().split("\n---\n")[0]
    run_yaml = ("apiVersion: podflow.dev/v1alpha1\nkind: FlowRun\nmetadata: {name: five}\n"
                "spec:\n  flowRef: {name: fanout}\n  parameters: [{name: count, value: \"5\"}]\n")
    with OperatorTest("python-client") as t:
        t.start_operator()
        t.apply(flow + "\n---\n" + run_yaml)
        status = t.wait_flowrun("five", "Succeeded", timeout=300)["status"]
        store = f"s3://{t.env['PODFLOW_S3_BUCKET']}/{t.ns}"

        run = Run(f"fanout/{status['runId']}", datastore=store)
        # an operator's run has no local run record: its state comes from the end step's commit
        assert (run.state, run.successful) == ("succeeded", True)
        assert run.data.total == sum(i * i for i in range(5))
        squares = sorted((task.data.result["id"], task.data.result["square"]) for task in run["square"])
        assert squares == [(i, i * i) for i in range(5)]
        assert "The sum of squares is 30" in run["end"].task.stdout
        assert Flow("fanout", store).latest_run.id == status["runId"]
        with pytest.raises(NotFound, match=status["runId"]):
            Run("fanout/no-such-run", store)
