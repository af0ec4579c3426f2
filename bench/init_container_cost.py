#!/usr/bin/env python3
"""What any-image costs per task pod on the real node: the init container that copies
podflow-runtime into the pod (the operator's --runtime-image) against no init container (the
step's image holds podflow-runtime itself), in the same run, alternating.

Both modes run the same flow in the same image, podflow's own (which has podflow-runtime on its
PATH, so it can run either way): examples/bigsum's two steps with size=10 (a trivial matrix),
cpu 100m, memory 128 MB. Each repetition creates one FlowRun in each mode's namespace (the order
alternates) and times it from `kubectl create` to phase Succeeded (polled every 0.1 s), then the
per-pod timeline from the pods' own status (the kubelet's timestamps have 1 s resolution, so only
the wall time is precise). Each mode has its own operator process (build/bin) and namespace on
the real node (tests/operator/operator_harness.py, PODFLOW_TEST_NODE=real).

    source /tmp/podflow-cluster/env   # a running tests/cluster/up with its real node
    python3 bench/init_container_cost.py [--repeat 10]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
os.environ["PODFLOW_TEST_NODE"] = "real"
sys.path.insert(0, os.path.join(ROOT, "tests", "operator"))
from operator_harness import OperatorTest, flow_document  # noqa: E402

STEPS = """
- name: start
  command: [bigsum, start]
  resources: {cpu: 100m, memory: 128}
  next: [end]
- name: end
  command: [bigsum, end]
  resources: {cpu: 100m, memory: 128}
"""


def run_once(t, index):
    name = f"r{index}"
    text = (f"apiVersion: podflow.dev/v1alpha1\nkind: FlowRun\nmetadata:\n  name: {name}\nspec:\n"
            f"  flowRef: {{name: initcost}}\n")
    began = time.monotonic()
    t.kubectl("create", "-f", "-", input=text)
    while True:
        phase = t.kubectl("get", "flowrun", name, "-o", "jsonpath={.status.phase}", check=False).stdout
        if phase in ("Succeeded", "Failed"):
            break
        if time.monotonic() - began > 300:
            raise SystemExit(f"flowrun {name} in {t.ns} did not finish in 300 s")
        time.sleep(0.1)
    seconds = time.monotonic() - began
    if phase != "Succeeded":
        raise SystemExit(f"flowrun {name} in {t.ns} ended {phase}")
    return seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    with OperatorTest("initcost-with") as with_init, OperatorTest("initcost-without") as without:
        with_init.start_operator()
        without.start_operator(runtime_image=False)
        image = with_init.env["PODFLOW_IMAGE"]
        for t in (with_init, without):
            t.apply(flow_document("initcost", STEPS, spec_extra=f"  image: {image}\n  parameters:\n"
                                                                "    - {name: size, type: integer, default: 10}\n"))
        # one warm-up each: the node pulls the image once
        run_once(with_init, 0)
        run_once(without, 0)
        times = {"with": [], "without": []}
        for i in range(1, args.repeat + 1):
            order = [("with", with_init), ("without", without)]
            if i % 2 == 0:
                order.reverse()
            for mode, t in order:
                times[mode].append(run_once(t, i))
                print(f"repetition {i}: {mode} init container {times[mode][-1]:.2f} s", flush=True)
        load = os.getloadavg()[0]
        print(f"\n2-task FlowRun (2 pods), create to Succeeded, {args.repeat} repetitions, image {image}, "
              f"load average {load:.2f}")
        print("| mode | min | median | max |\n| --- | ---: | ---: | ---: |")
        for mode in ("without", "with"):
            v = times[mode]
            print(f"| {mode} init container (s) | {min(v):.2f} | {statistics.median(v):.2f} | {max(v):.2f} |")
        delta = statistics.median(times["with"]) - statistics.median(times["without"])
        print(f"median difference per run: {delta:+.2f} s, per pod {delta / 2:+.2f} s")


if __name__ == "__main__":
    main()
