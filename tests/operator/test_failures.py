"""Failures on the cluster say what happened and what to do: a timeout ends the task with
DeadlineExceeded, a failed attempt is retried with a new attempt (a new pod), a failing step fails
the run with its reason; invalid flows are refused by the API server's schema or reported as
Valid=False with the linter's message, a run waits for a missing or broken Flow and starts once it
is fixed, and the operator neither crashes nor loops on any of it."""
import json
import os
import time

from operator_harness import OperatorTest, expect, flow_document, main


def timeout_and_retry():
    with OperatorTest("timeouts") as t:
        t.start_operator()
        marker = os.path.join(t.dir, "tried")
        steps = f"""
- name: start
  command: [sh, -c, "if [ -f {marker} ]; then echo second try; else touch {marker}; echo first try; exit 3; fi"]
  retry: {{times: 2, delaySeconds: 1}}
  next: [slow]
- name: slow
  command: [sleep, "60"]
  timeoutSeconds: 3
  next: [end]
- name: end
  command: ["true"]
"""
        t.apply(flow_document("flaky", steps, run={"flowRef": {"name": "flaky"}}))
        run = t.wait_flowrun("flaky", "Failed", timeout=120)

        start = t.get("task", "flaky.start")["status"]
        expect(start["phase"] == "Succeeded" and start["succeededIndexes"] == "0"
               and [(r["index"], r["attempt"], r["failures"]) for r in start["retried"]] == [(0, 1, 1)],
               f"start: {start}")
        pod = t.get("pod", "flaky.start")
        expect(pod["metadata"]["labels"]["podflow.dev/attempt"] == "1", "the pod is the second attempt's")
        logs = t.kubectl("logs", "flaky.start").stdout
        expect("second try" in logs, f"kubectl logs shows the latest attempt: {logs}")
        events = t.kubectl("get", "events", "--field-selector", "involvedObject.name=flaky.start").stdout
        expect("exit code 3" in events, f"the failed attempt is an Event with its reason:\n{events}")

        slow = t.get("task", "flaky.slow")["status"]
        expect(slow["phase"] == "Failed" and slow["reason"] in ("DeadlineExceeded", "TimedOut"),
               f"slow: {slow}")
        expect("timed out after 3" in slow["message"], f"slow's message: {slow['message']}")
        failed = t.condition(run, "Failed")
        expect("flaky.slow" in failed["message"] or "task slow" in failed["message"],
               f"the run names the failing task: {failed}")
        expect("timed out" in failed["message"], f"and why: {failed}")
        expect(t.find("task", "flaky.end") is None, "no task after the failure")


def invalid_flows():
    with OperatorTest("invalid") as t:
        operator = t.start_operator()
        # 1. The schema refuses what it can see: kubectl apply fails, naming the field.
        bad_name = flow_document("badname", """
- name: Start-Here
  command: ["true"]
""")
        result = t.kubectl("apply", "-f", "-", input=bad_name, check=False)
        expect(result.returncode != 0 and "steps" in result.stderr, f"apply of a bad step name: {result.stderr}")

        # 2. Graph rules: the server accepts, the operator says Valid=False with the linter's words.
        cycle = """
- name: start
  command: ["true"]
  next: [a]
- name: a
  command: ["true"]
  next: [b]
- name: b
  command: ["true"]
  next: [a]
- name: end
  command: ["true"]
"""
        t.apply(flow_document("loop", cycle, run={"flowRef": {"name": "loop"}}))

        def flow_invalid():
            flow = t.find("flow", "loop")
            condition = t.condition(flow, "Valid") if flow else None
            return condition if condition and condition["status"] == "False" else None

        condition = t.wait_until("flow loop to be Valid=False", flow_invalid, 30)
        expect("loop" in condition["message"] and "a -> b -> a" in condition["message"],
               f"the linter's message: {condition['message']}")
        printed = t.kubectl("get", "flow", "loop").stdout
        expect("False" in printed, f"kubectl get flow shows it:\n{printed}")

        def run_waiting(name, reason):
            run = t.find("flowrun", name)
            condition = t.condition(run, "Valid") if run else None
            return run if condition and condition["reason"] == reason else None

        run = t.wait_until("FlowRun loop to wait for a valid Flow", lambda: run_waiting("loop", "Invalid"), 30)
        expect(run["status"]["phase"] == "Pending", f"phase {run['status']['phase']}")
        # Fixing the Flow starts the run.
        t.apply(flow_document("loop", cycle.replace("next: [a]\n- name: end", "next: [end]\n- name: end")))
        t.wait_flowrun("loop", "Succeeded", timeout=60)

        # 3. A run of a Flow that does not exist yet waits for it.
        t.apply("apiVersion: podflow.dev/v1alpha1\nkind: FlowRun\nmetadata:\n  name: early\n"
                "spec:\n  flowRef: {name: later}\n")
        run = t.wait_until("FlowRun early to wait for its Flow", lambda: run_waiting("early", "FlowNotFound"), 30)
        expect("later" in t.condition(run, "Valid")["message"], f"names the Flow: {run['status']}")
        t.apply(flow_document("later", '- name: start\n  command: ["true"]\n  next: [end]\n'
                                       '- name: end\n  command: ["true"]'))
        t.wait_flowrun("early", "Succeeded", timeout=60)

        # 4. Parameters are checked against the flow: an unknown one fails the run, naming it.
        t.apply(flow_document("params", '- name: start\n  command: ["true"]\n  next: [end]\n'
                                        '- name: end\n  command: ["true"]',
                              spec_extra="  parameters:\n    - {name: size, type: integer, default: 3}\n"))
        t.apply("apiVersion: podflow.dev/v1alpha1\nkind: FlowRun\nmetadata:\n  name: params\n"
                "spec:\n  flowRef: {name: params}\n  parameters:\n  - {name: sise, value: \"4\"}\n")
        run = t.wait_flowrun("params", "Failed", timeout=30)
        message = t.condition(run, "Valid")["message"]
        expect("sise" in message and "size" in message, f"names the parameter and suggests: {message}")

        # The operator survived all of it and is idle: no hot loop.
        expect(operator.alive(), "the operator is running")
        # Settle first: the last Task status writes come within a second of the runs' ends.
        time.sleep(3)
        before = sum(operator.metric(f"podflow_reconciles_total_{c}") for c in ("flow", "flowrun"))
        time.sleep(5)
        after = sum(operator.metric(f"podflow_reconciles_total_{c}") for c in ("flow", "flowrun"))
        expect(after - before <= 2, f"{after - before} reconciles in 5 idle seconds")


def failing_step():
    with OperatorTest("failing") as t:
        t.start_operator()
        steps = """
- name: start
  command: [sh, -c, "echo something broke >&2; exit 7"]
  next: [end]
- name: end
  command: ["true"]
"""
        t.apply(flow_document("broken", steps, run={"flowRef": {"name": "broken"}}))
        run = t.wait_flowrun("broken", "Failed", timeout=60)
        message = t.condition(run, "Failed")["message"]
        expect("exit code 7" in message and "something broke" in message, f"the run's failure: {message}")
        status = t.get("task", "broken.start")["status"]
        expect(status["phase"] == "Failed" and status["failedIndexes"] == "0" and "exit code 7" in status["message"],
               f"the task: {status}")


def deleted_pod():
    """A pod deleted while its step runs is a failed attempt (PodDeleted), retried with a new pod:
    deleted gracefully (the runtime is stopped and says so) or forcibly in its first seconds
    (the pod is gone before the Task has written anything about it)."""
    with OperatorTest("podgone") as t:
        t.start_operator()
        counter = os.path.join(t.dir, "attempts")
        steps = f"""
- name: start
  command: [sh, -c, "n=$(cat {counter} 2>/dev/null || echo 0); echo $((n+1)) > {counter}; if [ $n -lt 2 ]; then sleep 60; else echo third attempt; fi"]
  retry: {{times: 2, delaySeconds: 0}}
  next: [end]
- name: end
  command: ["true"]
"""
        def started(n):
            def check():
                try:
                    with open(counter) as f:
                        return f.read().strip() == str(n)
                except OSError:
                    return False
            t.wait_until(f"attempt {n - 1}'s step to start", check, timeout=60, interval=0.1)

        t.apply(flow_document("gone", steps, run={"flowRef": {"name": "gone"}}))
        started(1)
        t.kubectl("delete", "pod", "gone.start", "--wait=false")
        started(2)
        t.kubectl("delete", "pod", "gone.start", "--grace-period=0", "--force", "--wait=false")
        run = t.wait_flowrun("gone", "Succeeded", timeout=120)
        status = t.get("task", "gone.start")["status"]
        expect(status["phase"] == "Succeeded" and [(r["attempt"], r["failures"]) for r in status["retried"]] == [(2, 2)],
               f"each deletion was a failed attempt, retried: {status}")
        expect("third attempt" in t.kubectl("logs", "gone.start").stdout, "the retry ran the step")
        events = t.kubectl("get", "events", "--field-selector", "involvedObject.name=gone.start").stdout
        expect(events.count("PodDeleted") == 2, f"each deletion is an Event:\n{events}")
        expect(run["status"]["tasks"]["succeeded"] == 2, f"counts: {run['status']['tasks']}")

KWOK_RESULT = json.dumps({"status": "succeeded", "exitCode": 0, "retryable": True,
                          "timings": {"prepareMs": 0, "commandMs": 0, "commitMs": 0}}, separators=(",", ":"))


def kwok_node(name, pool):
    """A KWOK node (tests/cluster/up's, with a label of its own instead of type: kwok)."""
    return json.dumps({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "annotations": {"kwok.x-k8s.io/node": "fake"},
                     "labels": {"podflow.dev/pool": pool, "kubernetes.io/hostname": name}},
        "spec": {"taints": [{"key": "kwok.x-k8s.io/node", "value": "fake", "effect": "NoSchedule"}]}})


def disruptions():
    """An attempt Kubernetes takes away is run again without counting against retry.times (here
    0, so a counted failure would fail the run), with the reason in the Task's status: a pod
    evicted through the Eviction API, and a pod whose node was deleted (the pod garbage collector
    removes it)."""
    with OperatorTest("disrupted") as t:
        t.start_operator()
        marker = os.path.join(t.dir, "evicted-once")
        steps = f"""
- name: start
  command: [sh, -c, "if [ -f {marker} ]; then echo after the eviction; else touch {marker}; sleep 120; fi"]
  next: [end]
- name: end
  command: ["true"]
"""
        t.apply(flow_document("evicted", steps, run={"flowRef": {"name": "evicted"}}))
        t.wait_until("start's pod to run", lambda: os.path.exists(marker) and t.find("pod", "evicted.start")
                     and t.get("pod", "evicted.start")["status"].get("phase") == "Running", 60)
        eviction = json.dumps({"apiVersion": "policy/v1", "kind": "Eviction",
                               "metadata": {"name": "evicted.start", "namespace": t.ns}})
        t.kubectl("create", "--raw", f"/api/v1/namespaces/{t.ns}/pods/evicted.start/eviction", "-f", "-",
                  input=eviction, namespaced=False)
        run = t.wait_flowrun("evicted", "Succeeded", timeout=120)
        status = t.get("task", "evicted.start")["status"]
        retried = status.get("retried", [{}])[0]
        expect(retried.get("attempt") == 1 and retried.get("failures") == 0 and retried.get("disruptions") == 1
               and retried.get("reason") == "Evicted" and "not counted" in retried.get("message", ""),
               f"the eviction is recorded, not counted: {status}")
        expect("after the eviction" in t.kubectl("logs", "evicted.start").stdout, "attempt 1 ran the step")
        expect(run["status"]["tasks"]["succeeded"] == 2, f"counts: {run['status']['tasks']}")

        # A node deleted under a running pod: a KWOK node of this test only, where the pod runs for
        # 10 minutes (the KWOK stages); the next attempt may only go to the process node, which
        # gets the pool's label once the KWOK node is gone.
        pool = t.ns
        doomed = f"{t.ns}-doomed"[-63:]
        process_node = os.environ.get("PODFLOW_PROCESS_NODE_NAMES", "process-node-1").split()[0]
        t.kubectl("apply", "-f", "-", input=kwok_node(doomed, pool), namespaced=False)
        steps = f"""
- name: start
  command: ["true"]
  nodeSelector: {{podflow.dev/pool: {pool}}}
  tolerations: [{{key: kwok.x-k8s.io/node, operator: Exists, effect: NoSchedule}}]
  annotations: {{podflow.dev/kwok-duration: 10m, podflow.dev/kwok-termination-message: '{KWOK_RESULT}'}}
  next: [end]
- name: end
  command: ["true"]
"""
        t.apply(flow_document("nodegone", steps, run={"flowRef": {"name": "nodegone"}}))
        try:
            t.wait_until("start's pod to run on the doomed node", lambda: t.find("pod", "nodegone.start") and (
                lambda pod: pod["spec"].get("nodeName") == doomed and pod["status"].get("phase") == "Running")(
                t.get("pod", "nodegone.start")), 60)
            t.kubectl("delete", "node", doomed, namespaced=False)
            t.kubectl("label", "node", process_node, f"podflow.dev/pool={pool}", namespaced=False)
            # The pod garbage collector removes the pods of a node that is gone (after 40 s).
            t.wait_flowrun("nodegone", "Succeeded", timeout=180)
        finally:
            t.kubectl("delete", "node", doomed, "--ignore-not-found", namespaced=False, check=False)
            t.kubectl("label", "node", process_node, "podflow.dev/pool-", namespaced=False, check=False)
        pod = t.get("pod", "nodegone.start")
        expect(pod["metadata"]["labels"]["podflow.dev/attempt"] == "1" and pod["spec"]["nodeName"] == process_node,
               f"attempt 1 ran on {pod['spec'].get('nodeName')}")
        status = t.get("task", "nodegone.start")["status"]
        retried = status.get("retried", [{}])[0]
        expect(retried.get("failures") == 0 and retried.get("disruptions") == 1
               and retried.get("reason") == "NodeLost" and "DeletionByPodGC" in retried.get("message", ""),
               f"the lost node is recorded, not counted: {status}")


if __name__ == "__main__":
    main([timeout_and_retry, invalid_flows, failing_step, deleted_pod, disruptions])
