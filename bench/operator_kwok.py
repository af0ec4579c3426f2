#!/usr/bin/env python3
"""podflow-operator at scale: a 1000-way foreach whose every task is a KWOK fake pod.

    source /tmp/podflow-cluster/env      # a running tests/cluster (up)
    python3 bench/operator_kwok.py [--splits 1000] [--repeat 3] [-- operator flags...]

Each repetition: a fresh namespace and operator (tests/operator/operator_harness.py), a Flow whose
steps all run on the KWOK nodes (nodeSelector type: kwok + the KWOK toleration); the step
annotations make each fake pod go Succeeded after podflow.dev/kwok-duration with a termination
message that is podflow-runtime's result JSON (runtime/task_result.hpp) -- the foreach step's holds
"splitCount": N. maxWorkers = maxNumSplits = N.

Measures:
  - seconds from `kubectl create` of the FlowRun to phase Succeeded (kubectl wait on a watch);
  - API requests per Task: the operator's podflow_kube_requests_total after minus before, divided
    by the number of Tasks (N + 3), with the breakdown by verb and resource;
  - the operator's peak RSS (VmHWM of /proc/<pid>/status) and its CPU time during the run;
  - reconciles, workqueue retries and rate-limiter wait from /metrics;
  - per member (/ N): the operator's requests, the API server's requests (all clients) and CPU time,
    and etcd's growth (database bytes, bytes in use, bytes written, keys, revisions;
    cluster_metrics.etcd_growth) from the create to Succeeded, etcd compacted and defragmented just
    before (--no-etcd-defrag: not); the objects the namespace holds in etcd then.
--series FILE appends a growth sample every --sample seconds (with etcd's gauges) and, at the end,
the run's totals as a {"final": true, ...} line; bench/scale_series.py FILE prints both.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "operator"))
from operator_harness import OperatorTest, expect  # noqa: E402
from cluster_metrics import (apiserver_metrics, component_pids, components_now, cpu_seconds,  # noqa: E402
                             etcd_compact_defrag, etcd_growth, etcd_metrics, etcd_namespace_keys, proc_cpu, request_key)

KWOK = {"nodeSelector": {"type": "kwok"},
        "tolerations": [{"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}]}


def result_message(split_count=None):
    result = {"status": "succeeded", "exitCode": 0, "retryable": True,
              "timings": {"prepareMs": 0, "commandMs": 0, "commitMs": 0}}
    if split_count is not None:
        result["splitCount"] = split_count
    return json.dumps(result, separators=(",", ":"))


def flow_yaml(name, splits, duration, serial_duration=None):
    """serial_duration: the fake run time of start, join and end (default: duration, as the splits')."""
    def annotations(split_count=None, run_time=duration):
        return {"podflow.dev/kwok-duration": run_time,
                "podflow.dev/kwok-termination-message": result_message(split_count)}
    serial = serial_duration or duration
    spec = {"defaults": dict(KWOK, resources={"cpu": "10m", "memory": 16}, annotations=annotations()),
            "steps": [
                {"name": "start", "command": ["true"], "foreach": "items", "next": ["work"],
                 "annotations": annotations(splits, serial)},
                {"name": "work", "command": ["true"], "next": ["join"]},
                {"name": "join", "join": True, "command": ["true"], "next": ["end"],
                 "annotations": annotations(run_time=serial)},
                {"name": "end", "command": ["true"], "annotations": annotations(run_time=serial)}]}
    flow = {"apiVersion": "podflow.dev/v1alpha1", "kind": "Flow", "metadata": {"name": name}, "spec": spec}
    return json.dumps(flow)


def flowrun_json(name, splits):
    return json.dumps({"apiVersion": "podflow.dev/v1alpha1", "kind": "FlowRun", "metadata": {"name": name},
                       "spec": {"flowRef": {"name": name}, "maxWorkers": splits, "maxNumSplits": splits}})


def samples(text, name):
    """{label text: value} of one metric family's samples."""
    out = {}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            key, _, value = line.rpartition(" ")
            out[key[len(name):]] = float(value)
    return out


def delta(after, before):
    return {k: v - before.get(k, 0.0) for k, v in after.items() if v - before.get(k, 0.0) > 0}


def group(counts, label):
    grouped = {}
    for key, value in counts.items():
        match = re.search(label + r'="([^"]*)"', key)
        name = match.group(1) if match else "?"
        grouped[name] = grouped.get(name, 0) + value
    return dict(sorted(grouped.items(), key=lambda item: -item[1]))


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def one_run(splits, duration, operator_flags, timeout, sample=30, series=None, wait_delete=True, etcd_defrag=True):
    name = "kwokbench"
    with OperatorTest("kwokbench") as t:
        operator = t.start_operator(*operator_flags)
        t.apply(flow_yaml(name, splits, duration))
        t.wait_until("the operator to be ready", lambda: _ready(operator), 60)
        t.wait_until("the Flow to be valid", lambda: (t.condition(t.get("flow", name), "Valid") or {}).get(
            "status") == "True", 60)
        pids = component_pids(t.env)
        etcd_compacted = etcd_compact_defrag(t.env) if etcd_defrag else None
        apiserver_before = sum(apiserver_metrics(t.env)[0].values())
        etcd_before = etcd_metrics(t.env)
        before = operator.metrics()
        cpu_before = cpu_seconds(operator.process.pid)
        components_before = {c: proc_cpu(pid) for c, pid in pids.items()}
        started = time.monotonic()
        t.kubectl("create", "-f", "-", input=flowrun_json(name, splits))
        waiter = subprocess.Popen(["kubectl", "-n", t.ns, "wait", f"flowrun/{name}",
                                   "--for=jsonpath={.status.phase}=Succeeded", f"--timeout={timeout}s"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=t.env)
        largest_flowrun = 0
        while True:
            try:
                waiter.wait(timeout=sample)
                break
            except subprocess.TimeoutExpired:
                pass
            point = growth_sample(t, name, operator.process.pid, time.monotonic() - started)
            largest_flowrun = max(largest_flowrun, point["flowrun_bytes"])
            if series:
                with open(series, "a") as f:
                    f.write(json.dumps(dict(point, splits=splits)) + "\n")
            print(f"  {point['seconds']:7.0f} s  {point['tasks']}  RSS {point['rss_mb']} MiB  "
                  f"FlowRun {point['flowrun_bytes']} B", file=sys.stderr, flush=True)
        expect(waiter.returncode == 0, f"kubectl wait: {waiter.stderr.read().decode()}")
        elapsed = time.monotonic() - started
        at_end = operator.metrics()
        cpu = cpu_seconds(operator.process.pid) - cpu_before
        components_cpu = {c: proc_cpu(pid) for c, pid in pids.items()}
        apiserver_at_end = sum(apiserver_metrics(t.env)[0].values())
        etcd_at_end = etcd_metrics(t.env)
        objects_left = etcd_namespace_keys(t.env, t.ns)
        time.sleep(5)  # the requests that follow the last status write (events, late watch events)
        after = operator.metrics()
        run = t.flowrun(name)
        tasks = run["status"]["tasks"]
        expect(tasks["succeeded"] == splits + 3 == tasks["total"], f"task counts {tasks}")
        requests = delta(samples(after, "podflow_kube_requests_total"), samples(before, "podflow_kube_requests_total"))
        requests_at_end = sum(delta(samples(at_end, "podflow_kube_requests_total"),
                                    samples(before, "podflow_kube_requests_total")).values())
        def per_controller(family):
            return {c: round(sum(delta(samples(after, f"{family}_{c}"), samples(before, f"{family}_{c}")).values()), 1)
                    for c in ("flow", "flowrun", "task")}
        reconciles = per_controller("podflow_reconciles_total")
        retries = per_controller("podflow_workqueue_retries_total")
        queue_wait = {
            c: round(sum(delta(samples(after, f"podflow_workqueue_queue_duration_seconds_{c}_sum"),
                               samples(before, f"podflow_workqueue_queue_duration_seconds_{c}_sum")).values()), 1)
            for c in ("flow", "flowrun", "task")}
        limiter = delta(samples(after, "podflow_kube_rate_limiter_wait_seconds_sum"),
                        samples(before, "podflow_kube_rate_limiter_wait_seconds_sum"))
        result = {"seconds": round(elapsed, 1), "tasks": tasks["total"],
                  "requests": int(sum(requests.values())), "requests_at_succeeded": int(requests_at_end),
                  "requests_per_task": round(sum(requests.values()) / tasks["total"], 2),
                  "by_verb": group(requests, "verb"),
                  "by_code": group(requests, "code"),
                  "reconciles": reconciles, "workqueue_retries": retries,
                  "rate_limiter_wait_s": round(sum(limiter.values()), 1),
                  "queue_wait_s": queue_wait,
                  "peak_rss_mb": round(peak_rss_mb(operator.process.pid), 1),
                  "operator_cpu_s": round(cpu, 1),
                  "operator_log": operator.log_path}
        flowrun_bytes = len(t.kubectl("get", "flowrun", name, "-o", "json").stdout)
        result["flowrun_bytes_largest"] = max(largest_flowrun, flowrun_bytes)
        # per member (/ N, the foreach's splits), from the create to Succeeded, as cluster_compare.py
        result["operator_requests_per_member"] = round(requests_at_end / splits, 2)
        result["apiserver_requests_per_member"] = round((apiserver_at_end - apiserver_before) / splits, 2)
        result["component_cpu_s"] = {c: round(components_cpu[c] - components_before[c], 1) for c in pids
                                     if components_cpu[c] is not None and components_before[c] is not None}
        if "kube-apiserver" in result["component_cpu_s"]:
            result["apiserver_cpu_ms_per_member"] = round(
                1000 * result["component_cpu_s"]["kube-apiserver"] / splits, 2)
        result["etcd"] = etcd_growth(etcd_before, etcd_at_end, splits)
        if etcd_compacted is not None:
            result["etcd_compacted_at"] = etcd_compacted
        if objects_left is not None:
            result["objects_left"] = sum(objects_left.values())
            result["objects_left_by_resource"] = objects_left
        if series:
            with open(series, "a") as f:
                f.write(json.dumps(final_record(result, splits, operator_flags)) + "\n")
        if splits <= 20000:  # a list of 100,000 Tasks is more than kubectl's 2 minutes
            result["timeline_s"] = timeline(run, t.items("tasks"))
        ns = t.ns
    # The next repetition should not share the cluster with this one's garbage collection.
    if wait_delete:
        subprocess.run(["kubectl", "wait", "--for=delete", f"namespace/{ns}", "--timeout=300s"],
                       capture_output=True, env=t.env, timeout=330)
    return result


def final_record(result, splits, operator_flags):
    """The run's totals as the last line of a --series file (bench/scale_series.py prints it)."""
    qps, burst = 100, 200  # podflow-operator's defaults
    for i, flag in enumerate(operator_flags):
        value = operator_flags[i + 1] if i + 1 < len(operator_flags) else None
        if flag.startswith("--kube-api-qps"):
            qps = float(flag.split("=", 1)[1] if "=" in flag else value)
        elif flag.startswith("--kube-api-burst"):
            burst = int(flag.split("=", 1)[1] if "=" in flag else value)
    limited = any(f.startswith(("--kube-api-qps", "--kube-api-burst")) for f in operator_flags)
    label = f"podflow qps{qps:g}/burst{burst}" if limited else f"podflow defaults({qps:g}/{burst})"
    return {"final": True, "system": "podflow", "variant": label, "splits": splits, "ok": True,
            "seconds": result["seconds"], "source": "operator_kwok.py", "operator_flags": list(operator_flags),
            "controller_requests_per_member": result["operator_requests_per_member"],
            "apiserver_requests_per_member": result["apiserver_requests_per_member"],
            "controller_peak_rss_mb": result["peak_rss_mb"],
            "controller_cpu_ms_per_member": round(1000 * result["operator_cpu_s"] / splits, 2),
            "apiserver_cpu_ms_per_member": result.get("apiserver_cpu_ms_per_member"),
            "etcd": result["etcd"], "objects_left": result.get("objects_left")}


def growth_sample(t, name, pid, seconds):
    """One point of the growth series: the FlowRun's counts and size, the operator's memory."""
    text = t.kubectl("get", "flowrun", name, "-o", "json", check=False).stdout
    counts = json.loads(text).get("status", {}).get("tasks", {}) if text else {}
    rss = hwm = 0.0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
    point = {"seconds": round(seconds, 1), "tasks": counts, "flowrun_bytes": len(text),
             "rss_mb": round(rss, 1), "peak_rss_mb": round(hwm, 1),
             "operator_cpu_s": round(cpu_seconds(pid), 1)}
    # What bounds the pace as the run grows: every component's CPU and memory so far, and the API
    # server's requests so far by verb and resource (the series' differences are the rates).
    point["components"] = components_now(t.env)
    point["etcd"] = etcd_metrics(t.env)
    try:
        requests = apiserver_metrics(t.env)[0]
        point["apiserver_requests"] = {request_key(k): int(v) for k, v in sorted(requests.items())
                                       if k[0] not in ("WATCH", "WATCHLIST", "CONNECT") and v >= 1}
    except (subprocess.SubprocessError, OSError) as error:
        point["apiserver_requests_error"] = str(error)
    return point


def _seconds(stamp):
    import calendar
    if not stamp:
        return None
    stamp = stamp.rstrip("Z")
    whole, _, fraction = stamp.partition(".")
    return calendar.timegm(time.strptime(whole, "%Y-%m-%dT%H:%M:%S")) + (float("0." + fraction) if fraction else 0.0)


def timeline(run, tasks):
    """Per step: [first, last] Task creation and completion, in seconds after the FlowRun's creation
    (API server timestamps; creation has 1 s resolution)."""
    zero = _seconds(run["metadata"]["creationTimestamp"])
    steps = {}
    for task in tasks:
        step = steps.setdefault(task["spec"]["step"], {"created": [], "completed": []})
        created = _seconds(task["metadata"]["creationTimestamp"])
        completed = _seconds(task.get("status", {}).get("completionTime"))
        step["created"].append(created - zero)
        if completed is not None:
            step["completed"].append(completed - zero)
    out = {}
    for name in ("start", "work", "join", "end"):
        if name in steps:
            out[name] = {key: [round(min(values), 1), round(max(values), 1)] if values else None
                         for key, values in steps[name].items()}
    out["run_completed"] = round(_seconds(run["status"].get("completionTime")) - zero, 1)
    return out


def _ready(operator):
    import urllib.request
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{operator.probe_port}/readyz", timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--splits", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--duration", default="1s", help="each fake pod's run time (podflow.dev/kwok-duration)")
    parser.add_argument("--timeout", type=int,
                        help="seconds to wait for one run (default: 900, or 0.2 s per split when more: "
                             "a 20,000-way run takes ~1,100 s on the 2-core test cluster)")
    parser.add_argument("--sample", type=float, default=30,
                        help="seconds between growth samples (FlowRun counts and size, operator RSS)")
    parser.add_argument("--series", help="append each growth sample to this JSONL file")
    parser.add_argument("--no-wait-delete", action="store_true",
                        help="do not wait for the namespace's deletion (10,000s of pods take long)")
    parser.add_argument("--no-etcd-defrag", action="store_true",
                        help="do not compact and defragment etcd before the run (etcd growth then counts from "
                             "a file with free pages)")
    parser.add_argument("operator_flags", nargs="*", help="extra podflow-operator flags (after --)")
    args = parser.parse_args()
    if args.timeout is None:
        args.timeout = max(900, args.splits // 5)
    results = []
    for i in range(args.repeat):
        result = one_run(args.splits, args.duration, args.operator_flags, args.timeout, args.sample,
                         args.series, not args.no_wait_delete, not args.no_etcd_defrag)
        results.append(result)
        print(json.dumps(result, indent=1), flush=True)
    print("\nrun  seconds  tasks  requests  req/task  peak RSS MB  operator CPU s  "
          "op req/member  API req/member  API CPU ms/member  etcd DB B/member  etcd keys/member")
    for i, r in enumerate(results, 1):
        etcd = r.get("etcd") or {}
        print(f"{i:3}  {r['seconds']:7.1f}  {r['tasks']:5}  {r['requests']:8}  {r['requests_per_task']:8.2f}  "
              f"{r['peak_rss_mb']:11.1f}  {r['operator_cpu_s']:14.1f}  {r['operator_requests_per_member']:13.2f}  "
              f"{r['apiserver_requests_per_member']:14.2f}  {r.get('apiserver_cpu_ms_per_member', 0):17.2f}  "
              f"{etcd.get('db_bytes_per_member', 0):16.0f}  {etcd.get('keys_per_member', 0):15.1f}")


if __name__ == "__main__":
    main()
