"""Failures on the cluster say what happened and what to do: a timeout ends the task with
DeadlineExceeded, a failed attempt is retried with a new attempt (a new pod), a failing step fails
the run with its reason; invalid flows are refused by the API server's schema or reported as
Valid=False with the linter's message, a run waits for a missing or broken Flow and starts once it
is fixed, and the operator neither crashes nor loops on any of it."""
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
        expect(start["phase"] == "Succeeded" and start["attempt"] == 1, f"start: {start}")
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
        # Settle first: a Task whose pod was seen running is looked at again 10 s after the pod's
        # start (TaskReconciler::kRunningWriteDelay), once, even if it has ended since.
        time.sleep(11)
        before = sum(operator.metric(f"podflow_reconciles_total_{c}") for c in ("flow", "flowrun", "task"))
        time.sleep(5)
        after = sum(operator.metric(f"podflow_reconciles_total_{c}") for c in ("flow", "flowrun", "task"))
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
        expect(status["exitCode"] == 7 and status["phase"] == "Failed", f"the task: {status}")


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
        expect(status["attempt"] == 2 and status["phase"] == "Succeeded",
               f"each deletion was a failed attempt, retried: {status}")
        expect("third attempt" in t.kubectl("logs", "gone.start").stdout, "the retry ran the step")
        events = t.kubectl("get", "events", "--field-selector", "involvedObject.name=gone.start").stdout
        expect(events.count("PodDeleted") == 2, f"each deletion is an Event:\n{events}")
        expect(run["status"]["tasks"]["succeeded"] == 2, f"counts: {run['status']['tasks']}")

if __name__ == "__main__":
    main([timeout_and_retry, invalid_flows, failing_step, deleted_pod])
