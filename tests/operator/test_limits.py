"""What a step asks for lands on its pod exactly, and the run-wide limits hold on the cluster:
resources (cpu, memory in MB and as a quantity, disk, gpu and its vendor), a step too big for any
node (Pending with the scheduler's reason in the Task and FlowRun status), maxWorkers measured
from the steps' own start and end times, and maxNumSplits (101 splits fail by default with the
message, and pass with maxNumSplits 200), and the operator's client rate limit (--kube-api-qps) both
set and off."""
import os
import re
import subprocess
import time
from decimal import Decimal

from operator_harness import OPERATOR, OperatorTest, expect, flow_document, foreach_steps, main


def container(pod):
    return pod["spec"]["containers"][0]


SUFFIXES = {"m": Decimal("0.001"), "": Decimal(1), "k": Decimal(10) ** 3, "M": Decimal(10) ** 6,
            "G": Decimal(10) ** 9, "T": Decimal(10) ** 12, "Ki": Decimal(2) ** 10, "Mi": Decimal(2) ** 20,
            "Gi": Decimal(2) ** 30, "Ti": Decimal(2) ** 40}


def amount(quantity):
    """A Kubernetes quantity's value: the API server writes "3000M" back as "3G"."""
    match = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", quantity)
    return Decimal(match.group(1)) * SUFFIXES[match.group(2)]


def amounts(resources):
    return {section: {name: amount(value) for name, value in values.items()}
            for section, values in resources.items()}


def resources_land_exactly():
    with OperatorTest("resources") as t:
        t.start_operator()
        steps = """
- name: start
  command: ["true"]
  resources: {cpu: "500m", memory: 3000, disk: "2Gi"}
  timeoutSeconds: 600
  labels: {team: ml}
  next: [big]
- name: big
  command: ["true"]
  resources: {cpu: 3, memory: "1536Mi", disk: 4096}
  next: [end]
- name: end
  command: ["true"]
"""
        t.apply(flow_document("sized", steps, run={"flowRef": {"name": "sized"}}))
        t.wait_flowrun("sized", "Succeeded", timeout=120)
        start = t.get("pod", "sized.start")
        expect(amounts(container(start)["resources"]) == amounts({
            "requests": {"cpu": "500m", "memory": "3000M", "ephemeral-storage": "2Gi"},
            "limits": {"memory": "3000M", "ephemeral-storage": "2Gi"}}),
            f"start's resources: {container(start)['resources']}")
        expect(start["spec"]["activeDeadlineSeconds"] == 600, f"deadline {start['spec'].get('activeDeadlineSeconds')}")
        labels = start["metadata"]["labels"]
        for key, value in {"podflow.dev/run": "sized", "podflow.dev/step": "start", "podflow.dev/task": "start",
                           "podflow.dev/attempt": "0", "podflow.dev/flow": "sized", "team": "ml"}.items():
            expect(labels.get(key) == value, f"label {key}={labels.get(key)}, wanted {value}")
        big = t.get("pod", "sized.big")
        expect(amounts(container(big)["resources"])["requests"] ==
               amounts({"r": {"cpu": "3", "memory": "1536Mi", "ephemeral-storage": "4096M"}})["r"],
               f"big's requests: {container(big)['resources']}")
        end = t.get("pod", "sized.end")
        expect(amounts(container(end)["resources"])["requests"] ==
               amounts({"r": {"cpu": "1", "memory": "4096M", "ephemeral-storage": "10240M"}})["r"],
               f"the defaults (cpu 1, memory 4096 MB, disk 10240 MB): {container(end)['resources']}")
        expect(end["spec"]["activeDeadlineSeconds"] == 432000, "the default timeout is 5 days")
        # Pod Security `restricted` holds: the namespace enforces it in the next test too.
        security = container(start)["securityContext"]
        expect(security.get("allowPrivilegeEscalation") is False and security["capabilities"]["drop"] == ["ALL"],
               f"container securityContext {security}")


def too_big_and_gpus():
    """A step no node can hold stays Pending with the scheduler's words in Task and FlowRun status;
    GPU requests land as <vendor>/gpu."""
    with OperatorTest("unschedulable") as t:
        t.kubectl("label", "namespace", t.ns, "pod-security.kubernetes.io/enforce=restricted", namespaced=False)
        t.start_operator()
        steps = """
- name: start
  command: ["true"]
  next: [huge, gpus]
- name: huge
  command: ["true"]
  resources: {memory: "50Ti"}
  next: [join]
- name: gpus
  command: ["true"]
  resources: {gpu: 2, gpuVendor: amd.com}
  next: [join]
- name: join
  join: true
  command: ["true"]
  next: [end]
- name: end
  command: ["true"]
"""
        t.apply(flow_document("toobig", steps, run={"flowRef": {"name": "toobig"}}))

        def unschedulable(name):
            task = t.find("task", name)
            status = task.get("status", {}) if task else {}
            return status if status.get("reason") == "Unschedulable" else None

        huge = t.wait_until("task toobig.huge to be Unschedulable", lambda: unschedulable("toobig.huge"), 90)
        expect(huge["phase"] == "Pending", f"huge: {huge}")
        expect("Insufficient memory" in huge["message"] and "50Ti" in huge["message"],
               f"huge's message names the shortage and the request: {huge['message']}")
        gpus = t.wait_until("task toobig.gpus to be Unschedulable", lambda: unschedulable("toobig.gpus"), 90)
        expect("amd.com/gpu" in gpus["message"], f"gpus' message: {gpus['message']}")
        pod = t.get("pod", "toobig.gpus")
        expect(container(pod)["resources"]["requests"].get("amd.com/gpu") == "2"
               and container(pod)["resources"]["limits"].get("amd.com/gpu") == "2",
               f"gpu resources {container(pod)['resources']}")

        def running_condition():
            run = t.flowrun("toobig")
            condition = t.condition(run, "Running")
            return condition if condition and condition["reason"] == "Unschedulable" else None

        condition = t.wait_until("the FlowRun to say a task is unschedulable", running_condition, 60)
        expect("Insufficient" in condition["message"], f"FlowRun Running condition: {condition}")
        printed = t.kubectl("get", "task", "toobig.huge").stdout
        expect("Pending" in printed, f"kubectl get task:\n{printed}")


def max_workers():
    with OperatorTest("maxworkers") as t:
        t.start_operator()
        trace = os.path.join(t.dir, "trace")
        steps = foreach_steps(list(range(12)), f'[sh, -c, "echo start $(date +%s%N) >> {trace}; '
                                               f'sleep 1.5; echo end $(date +%s%N) >> {trace}"]')
        t.apply(flow_document("workers", steps, run={"flowRef": {"name": "workers"}, "maxWorkers": 3}))
        t.wait_flowrun("workers", "Succeeded", timeout=180)
        events = []
        for line in open(trace):
            kind, stamp = line.split()
            events.append((int(stamp), 1 if kind == "start" else -1))
        events.sort(key=lambda e: (e[0], e[1]))  # an end before a start at the same instant
        running = peak = 0
        for _, change in events:
            running += change
            peak = max(peak, running)
        expect(len(events) == 24, f"{len(events)} start/end records, wanted 24")
        expect(peak <= 3, f"{peak} splits ran at once with maxWorkers 3")
        expect(peak == 3, f"at most {peak} splits ran at once: maxWorkers 3 was never used fully")


def step_parallelism():
    """A step's `parallelism` caps its running pods on the cluster too, beside maxWorkers."""
    with OperatorTest("parallelism") as t:
        t.start_operator()
        trace = os.path.join(t.dir, "trace")
        steps = foreach_steps(list(range(8)), f'[sh, -c, "echo start $(date +%s%N) >> {trace}; '
                                              f'sleep 1.5; echo end $(date +%s%N) >> {trace}"]',
                              "parallelism: 2")
        t.apply(flow_document("capped", steps, run={"flowRef": {"name": "capped"}, "maxWorkers": 16}))
        t.wait_flowrun("capped", "Succeeded", timeout=180)
        events = sorted((int(stamp), 1 if kind == "start" else -1)
                        for kind, stamp in (line.split() for line in open(trace)))
        running = peak = 0
        for _, change in events:
            running += change
            peak = max(peak, running)
        expect(len(events) == 16, f"{len(events)} start/end records, wanted 16")
        expect(peak == 2, f"{peak} splits ran at once with parallelism 2 (maxWorkers 16)")


def max_num_splits():
    with OperatorTest("maxnumsplits") as t:
        t.start_operator()
        steps = foreach_steps(list(range(101)), '["true"]', 'resources: {cpu: "100m", memory: 64}')
        t.apply(flow_document("wide", steps, run={"flowRef": {"name": "wide"}}))
        run = t.wait_flowrun("wide", "Failed", timeout=120)
        failed = t.condition(run, "Failed")
        expect("101" in failed["message"] and "maxNumSplits" in failed["message"],
               f"the failure names the count and the setting to raise: {failed['message']}")
        expect(not t.items("pods", selector="podflow.dev/run=wide,podflow.dev/step=work"), "no split started")

        t.apply("apiVersion: podflow.dev/v1alpha1\nkind: FlowRun\nmetadata:\n  name: wide-200\n"
                "spec:\n  flowRef: {name: wide}\n  maxNumSplits: 200\n  maxWorkers: 32\n")
        run = t.wait_flowrun("wide-200", "Succeeded", timeout=400)
        expect(run["status"]["tasks"]["succeeded"] == 104, f"tasks {run['status']['tasks']}")


def max_starting_tasks():
    """A wide foreach creates pods as they start (--max-starting-tasks), not all at once: with pods
    that can never start, exactly that many pods exist, and the FlowRun says why."""
    with OperatorTest("starting") as t:
        t.start_operator("--max-starting-tasks", "5")
        steps = foreach_steps(list(range(30)), '["true"]', "nodeSelector: {podflow.dev/test: nowhere}")
        t.apply(flow_document("wide", steps, run={"flowRef": {"name": "wide"}, "maxWorkers": 30,
                                                  "maxNumSplits": 30}))
        t.wait_until("5 work pods", lambda: len(t.items("pods", "podflow.dev/step=work")) >= 5, timeout=60)
        time.sleep(5)  # the operator has had time to create more, if it would
        work = t.items("pods", "podflow.dev/step=work")
        expect(len(work) == 5, f"{len(work)} work pods with --max-starting-tasks 5 and no pod started")
        counts = t.flowrun("wide")["status"]["tasks"]
        expect(counts["pending"] == 30 and counts["total"] == 31 and counts["succeeded"] == 1,
               f"counts (the 30 splits are planned, 5 of them with a pod): {counts}")
        task = t.get("task", "wide.work")
        expect(task["spec"]["count"] == 30 and task["status"]["pending"] == 30
               and task["status"]["reason"] == "Unschedulable", f"the Task: {task['spec']}, {task['status']}")
        t.kubectl("delete", "flowrun", "wide")


def client_rate_limit():
    """--kube-api-qps reaches the operator's client: at 5 requests/s (burst 1) its requests wait for
    the limiter; at -1 (no client-side limit: the API server's priority and fairness alone, as
    controller-runtime's default) none waits, and both runs succeed. A value that is no finite number
    is refused with the fix."""
    waited = {}
    for qps, name in (("5", "qps5"), ("-1", "qpsoff")):
        with OperatorTest(name) as t:
            operator = t.start_operator(f"--kube-api-qps={qps}", "--kube-api-burst=1")
            steps = foreach_steps(list(range(4)), '["true"]', 'resources: {cpu: "100m", memory: 64}')
            t.apply(flow_document("limited", steps, run={"flowRef": {"name": "limited"}}))
            t.wait_flowrun("limited", "Succeeded", timeout=180)
            waited[qps] = operator.metric("podflow_kube_rate_limiter_wait_seconds_sum")
    expect(waited["5"] > 1, f"at 5 requests/s the client waited only {waited['5']} s in all")
    expect(waited["-1"] == 0, f"with no client-side limit the client waited {waited['-1']} s")
    for bad in ("nan", "inf", "fast"):
        refused = subprocess.run([OPERATOR, f"--kube-api-qps={bad}", "--datastore", "s3://b/p"],
                                 capture_output=True, text=True, timeout=30)
        expect(refused.returncode != 0 and "not a finite number (use -1" in refused.stderr,
               f"--kube-api-qps={bad}: exit {refused.returncode}, {refused.stderr!r}")


if __name__ == "__main__":
    main([resources_land_exactly, too_big_and_gpus, max_workers, step_parallelism, max_num_splits, max_starting_tasks,
          client_rate_limit])
