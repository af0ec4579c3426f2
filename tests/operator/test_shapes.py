"""Every graph shape of the local runner's tests (tests/local/test_graph_shapes.py) runs as pods on
the process node with artifacts in MinIO, and ends with the same artifacts as a local run of the
same flow: the end step's trail (which task ran, which artifacts reached whom) and every artifact's
sha256, manifest by manifest.

On the real node (PODFLOW_TEST_NODE=real) the steps run in the image the cluster's env file names
in the variable PODFLOW_TEST_SHAPES_IMAGE names (default: the operator harness's default image, a
Debian image with python3), none of which holds anything of podflow: podflow-runtime comes from
the init container. PODFLOW_TEST_SHAPES_OPERATOR_ARGS adds operator flags
(--read-only-root-filesystem)."""
import json
import os
import subprocess
import sys
import tempfile

from operator_harness import REAL_NODE, SOURCE, OperatorTest, expect, main

sys.path.insert(0, os.path.join(SOURCE, "tests", "local"))
from test_graph_shapes import SHAPES  # noqa: E402

TRAIL = os.path.join(SOURCE, "tests", "local", "trail_step.sh")
PODFLOW = os.path.join(os.environ.get("PODFLOW_BIN", os.path.join(SOURCE, "build", "bin")), "podflow")


def step_image(env):
    """The image the steps name (spec.image), or "" for the operator's default image."""
    variable = os.environ.get("PODFLOW_TEST_SHAPES_IMAGE", "")
    if not REAL_NODE or not variable:
        return ""
    image = env.get(variable, "")
    expect(image != "", f"PODFLOW_TEST_SHAPES_IMAGE={variable}: the cluster's env file has no {variable}")
    return image


def flow_yaml(name, steps, image=""):
    # The local test's steps, with the step script by absolute path (a pod on the process node has
    # no flow directory), or, for a container on the real node, the script itself (`sh -c`).
    if REAL_NODE:
        with open(TRAIL) as f:
            steps = steps.replace("[sh, trail_step.sh,", f"[sh, -c, {json.dumps(f.read())}, trail_step.sh,")
    else:
        steps = steps.replace("[sh, trail_step.sh,", f"[sh, {TRAIL},")
    body = "".join("    " + line + "\n" for line in steps.strip("\n").split("\n"))
    # The real node has 2 cpus for every test running beside this one: small requests, so that the
    # shapes' tasks run at once instead of waiting for cpus (the process node ignores requests).
    defaults = '  defaults:\n    resources: {cpu: "100m", memory: 128}\n' if REAL_NODE else ""
    image_line = f"  image: {image}\n" if image else ""
    return (f"apiVersion: podflow.dev/v1alpha1\nkind: Flow\nmetadata:\n  name: {name}\nspec:\n{image_line}"
            f"{defaults}  steps:\n{body}")


def local_manifests(name, text):
    """Runs the flow locally; returns {step/task: {artifact: sha256}} of the committed attempts."""
    work = tempfile.mkdtemp(prefix=f"podflow-local-{name}-")
    with open(os.path.join(work, "flow.yaml"), "w") as f:
        f.write(text)
    store = os.path.join(work, "store")
    subprocess.run([PODFLOW, "run", "flow.yaml", "--datastore", store], cwd=work, check=True,
                   capture_output=True)
    runs = [d for d in os.listdir(os.path.join(store, name)) if d not in ("data",) and not d.startswith("_")]
    expect(len(runs) == 1, f"local run of {name}: runs {runs}")
    return read_manifests(os.path.join(store, name, runs[0]))


def read_manifests(root):
    """{step/task: {artifact: sha256}} of every manifest.json below root."""
    manifests = {}
    for dirpath, _, files in os.walk(root):
        if "manifest.json" in files:
            with open(os.path.join(dirpath, "manifest.json")) as f:
                manifest = json.load(f)
            manifests[f"{manifest['step']}/{manifest['task']}"] = {
                k: v["sha256"] for k, v in manifest["artifacts"].items()}
    return manifests


def s3_manifests(t, name, run_id):
    bucket = t.env["PODFLOW_S3_BUCKET"]
    target = tempfile.mkdtemp(prefix=f"podflow-s3-{name}-")
    subprocess.run(["aws", "--endpoint-url", t.env["PODFLOW_S3_ENDPOINT"], "s3", "cp", "--recursive",
                    f"s3://{bucket}/{t.ns}/{name}/{run_id}/", target, "--exclude", "*", "--include",
                    "*manifest.json"], check=True, capture_output=True, env=t.env)
    return read_manifests(target)


def shapes():
    with OperatorTest("shapes") as t:
        t.start_operator(*os.environ.get("PODFLOW_TEST_SHAPES_OPERATOR_ARGS", "").split())
        names = {shape: shape.replace("-", "") for shape in SHAPES}
        image = step_image(t.env)
        documents = {shape: flow_yaml(names[shape], SHAPES[shape][0], image) for shape in SHAPES}
        for shape, text in documents.items():
            t.apply(text + f"---\napiVersion: podflow.dev/v1alpha1\nkind: FlowRun\nmetadata:\n"
                           f"  name: {names[shape]}\nspec:\n  flowRef: {{name: {names[shape]}}}\n")
        for shape in SHAPES:
            name = names[shape]
            run = t.wait_flowrun(name, "Succeeded", timeout=240)
            trail = t.kubectl("logs", f"{name}.end").stdout.strip()
            expect(trail == SHAPES[shape][1], f"{shape}: the end step saw\n  {trail}\nexpected\n  {SHAPES[shape][1]}")
            remote = s3_manifests(t, name, run["status"]["runId"])
            local = local_manifests(name, documents[shape])
            expect(remote == local, f"{shape}: artifacts differ from a local run\n cluster: {remote}\n local: {local}")
            # One Task per step and split prefix, recording its members; one pod per member.
            tasks = t.items("tasks", selector=f"podflow.dev/run={name}")
            members = sum(task["status"]["succeeded"] for task in tasks)
            pods = t.items("pods", selector=f"podflow.dev/run={name}")
            expect(members == len(pods) == len(local) == run["status"]["tasks"]["succeeded"],
                   f"{shape}: {members} members of {len(tasks)} Tasks, {len(pods)} pods, {len(local)} local "
                   f"tasks, status {run['status']['tasks']}")
            expect(all(task["status"]["phase"] == "Succeeded" and task["status"]["progress"]
                       == f"{task['spec']['count']}/{task['spec']['count']}" for task in tasks),
                   f"{shape}: Tasks {[(task['metadata']['name'], task['status']) for task in tasks]}")
            if image:
                images = {c["image"] for p in pods for c in p["spec"]["containers"]}
                expect(images == {image}, f"{shape}: the steps ran in {images}, not in {image}")


if __name__ == "__main__":
    main([shapes])
