"""The Client API through S3 (boto3): a flow written with the package runs with
`--datastore s3://` against the test cluster's MinIO (ctest fixture `cluster`), and the Client
reads it back from the bucket as it reads a local datastore, checking every blob's SHA-256."""
import os
import uuid

import boto3
import pytest

from conftest import FOREACH_FLOW as FLOW
from podflow import Flow, IntegrityError, NotFound, Run, flows

STEPS = """
import numpy

@step
def start(task):
    task.items = [1, 2, 3]
    task.matrix = numpy.eye(3)

@step
def square(task):
    task.result = task.input ** 2

@step
def join(task, inputs):
    task.total = sum(parent.result for parent in inputs)
    task.merge_artifacts(inputs, include=["matrix"])

@step
def end(task):
    print("total", task.total)
"""


@pytest.fixture
def bucket():
    for name in ("PODFLOW_S3_ENDPOINT", "PODFLOW_S3_BUCKET", "AWS_ACCESS_KEY_ID"):
        if not os.environ.get(name):
            pytest.fail(f"{name} is not set: run this through ctest (fixture cluster) or source the cluster's env")
    prefix = f"python-client/{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=os.environ["PODFLOW_S3_ENDPOINT"])
    yield client, os.environ["PODFLOW_S3_BUCKET"], prefix
    listing = client.list_objects_v2(Bucket=os.environ["PODFLOW_S3_BUCKET"], Prefix=prefix + "/")
    for item in listing.get("Contents", []):
        client.delete_object(Bucket=os.environ["PODFLOW_S3_BUCKET"], Key=item["Key"])


def test_client_reads_a_run_from_s3(workspace, bucket):
    client, name, prefix = bucket
    url = f"s3://{name}/{prefix}"
    workspace.datastore = url
    workspace.steps(STEPS)
    result = workspace.podflow("run", str(workspace.flow("squares3", FLOW)), "--datastore", url)
    assert result.returncode == 0, result.stderr
    run_id = result.stdout.split()[-1]

    run = Run(f"squares3/{run_id}", datastore=url)
    assert (run.state, run.successful) == ("succeeded", True)
    assert run.data.total == 14 and run["end"].task.stdout == "total 14\n"
    assert [t.data.result for t in run["square"]] == [1, 4, 9]
    matrix = run["join"].task["matrix"]
    assert matrix.format == "npy" and matrix.data.trace() == 3.0
    assert flows(url) == ["squares3"] and Flow("squares3", url).latest_run.id == run_id
    with pytest.raises(NotFound, match=f"flow 'squares3' has no run 999 in {url}; its runs: {run_id}"):
        Run("squares3/999", url)

    # an object replaced behind podflow's back is refused, naming both hashes
    total = run["join"].task["total"]
    client.put_object(Bucket=name, Key=f"{prefix}/squares3/data/{total.sha256[:2]}/{total.sha256}", Body=b"15")
    with pytest.raises(IntegrityError, match=f"the manifest says 2 bytes with SHA-256 {total.sha256}"):
        Run(f"squares3/{run_id}", url)["join"].task.data.total


def test_a_wrong_key_names_the_endpoint_and_the_fix(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wrong")
    with pytest.raises(Exception, match="cannot list s3://.* at http://127.0.0.1:.*check the bucket, AWS_ACCESS_KEY_ID"):
        flows(f"s3://{os.environ['PODFLOW_S3_BUCKET']}/nothing")
