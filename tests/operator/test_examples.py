"""examples/bigsum on the cluster, exactly as a user runs it: kubectl apply -f the example file,
kubectl wait for the FlowRun, kubectl logs of the end task, kubectl delete flowrun -- in both
background and foreground deletion -- leaves no Task and no Pod; deleting a running FlowRun stops
its processes."""
import os
import subprocess
import time

from operator_harness import OperatorTest, expect, flow_document, foreach_steps, main


def no_tasks_or_pods(t, run):
    tasks = t.items("tasks", selector=f"podflow.dev/run={run}")
    pods = t.items("pods", selector=f"podflow.dev/run={run}")
    return not tasks and not pods


def bigsum():
    with OperatorTest("bigsum") as t:
        t.start_operator()
        t.kubectl("apply", "-f", "examples/bigsum/flow.yaml")
        t.kubectl("wait", "--for=condition=Succeeded", "flowrun/bigsum", "--timeout=240s", timeout=260)
        logs = t.kubectl("logs", "bigsum.end").stdout
        expect("The sum is" in logs, f"kubectl logs bigsum.end printed:\n{logs}")
        run = t.flowrun("bigsum")
        status = run["status"]
        expect(status["tasks"] == {"total": 2, "pending": 0, "running": 0, "succeeded": 2, "failed": 0},
               f"task counts {status['tasks']}")
        # The artifacts are in S3 where docs/datastore.md says, readable by the AWS CLI.
        prefix = f"s3://{t.env['PODFLOW_S3_BUCKET']}/{t.ns}/bigsum/{status['runId']}/end/end/0/"
        listing = subprocess.run(["aws", "--endpoint-url", t.env["PODFLOW_S3_ENDPOINT"], "s3", "ls", prefix],
                                 capture_output=True, text=True, env=t.env).stdout
        for name in ("manifest.json", "stdout.log"):
            expect(name in listing, f"{prefix} holds no {name}:\n{listing}")
        printed = t.kubectl("get", "flowrun", "bigsum").stdout
        expect("Succeeded" in printed.splitlines()[1], f"kubectl get flowrun shows:\n{printed}")

        t.kubectl("delete", "flowrun", "bigsum")  # background propagation, kubectl's default
        t.wait_until("the garbage collector to remove bigsum's Tasks and Pods",
                     lambda: no_tasks_or_pods(t, "bigsum"), 60)

        # Foreground: the FlowRun is gone only after its Tasks and their Pods are.
        t.apply("apiVersion: podflow.dev/v1alpha1\nkind: FlowRun\nmetadata:\n  name: bigsum-fg\n"
                "spec:\n  flowRef: {name: bigsum}\n")
        t.wait_flowrun("bigsum-fg", "Succeeded", timeout=240)
        t.kubectl("delete", "flowrun", "bigsum-fg", "--cascade=foreground", "--timeout=120s", timeout=140)
        expect(no_tasks_or_pods(t, "bigsum-fg"), "after a foreground delete returned, Tasks or Pods remain")


def delete_running():
    with OperatorTest("delete-running") as t:
        t.start_operator()
        marker = os.path.join(t.dir, "still-running")
        steps = foreach_steps([1, 2, 3], f'[sh, -c, "touch {marker}.$PODFLOW_SPLIT_INDEX; sleep 600"]')
        t.apply(flow_document("sleepy", steps, run={"flowRef": {"name": "sleepy"}}))
        t.wait_until("three sleeping splits", lambda: len(
            [p for p in t.items("pods", selector="podflow.dev/step=work") if p["status"].get("phase") == "Running"]) == 3,
            120)
        t.kubectl("delete", "flowrun", "sleepy")
        t.wait_until("the run's Tasks and Pods to be gone", lambda: no_tasks_or_pods(t, "sleepy"), 90)
        # The processes went with their pods.
        t.wait_until("the sleeping step processes to end", lambda: subprocess.run(
            ["pgrep", "-f", f"touch {marker}"], capture_output=True).returncode != 0, 30)


if __name__ == "__main__":
    main([bigsum, delete_running])
