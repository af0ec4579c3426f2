#!/usr/bin/env python3
"""Cluster orchestration of an N-way fan-out on KWOK: podflow FlowRun vs Kubernetes Indexed Job vs
Argo Workflows.

    source /tmp/podflow-cluster-bench/env       # a running tests/cluster (up)
    python3 bench/cluster_compare.py --systems podflow,job,argo --splits 1000 --parallelism 16,0 \\
        --repeat 3 --out /tmp/cluster_compare.jsonl
    python3 bench/cluster_compare.py --summarize /tmp/cluster_compare.jsonl
    # both client limits of podflow and Argo in one run, the five variants alternating in every repeat:
    python3 bench/cluster_compare.py --splits 1000 --parallelism 0 --repeat 3 --out /tmp/cc.jsonl \\
        --variant podflow --variant 'podflow:--kube-api-qps 200 --kube-api-burst 400' --variant job \\
        --variant argo --variant 'argo:--qps 200 --burst 400'

Variants: each row of the table is one system at one setting of its controller's API client limits,
named with them: `podflow defaults(100/200)`, `podflow qps200/burst400`, `job (kcm 200/400)`,
`argo defaults(20/30)`, `argo qps200/burst400`. `--variant [NAME=]SYSTEM[:FLAGS]` (repeatable) adds one:
FLAGS are the controller's extra flags (podflow-operator's --kube-api-qps/--kube-api-burst, defaults
100/200; workflow-controller's --qps/--burst, defaults 20/30); the Job has no flags of its own, its
limits are read from the cluster's kube-controller-manager command line. A podflow variant may also
say `--serial-duration D` (not an operator flag): the fake run time of the flow's start, join and end
pods instead of --duration, e.g. 0s so that podflow's pods do the Job's fake work and no more (the
Job runs only the N members; podflow's flow runs three more pods one after another around them).
Without --variant, every
system of --systems is one variant, with --podflow-flags / --argo-flags. Each repeat runs every
variant once, in the order given, so the variants alternate over the run.

Every task is a KWOK fake pod (nodeSelector type: kwok + the KWOK toleration) annotated
podflow.dev/kwok-duration (default 1s): it goes Running, then Succeeded after that duration.
Parallelism 0 means unlimited (= N).

  podflow  a FlowRun of bench/operator_kwok.py's Flow: start (foreach, splitCount N) -> work x N -> join
           -> end (N + 3 pods); maxWorkers = parallelism or N, maxNumSplits = N; a fresh podflow-operator
           (build/bin, default flags unless --podflow-flags or a variant's) per run, scoped to the run's
           namespace.
  job      a batch/v1 Job, completionMode Indexed, completions N, parallelism = parallelism or N (N pods),
           run by kube-controller-manager's Job controller (the cluster's, --kube-api-qps 200 / burst 400).
  argo     an Argo Workflow: steps with one step fanned out withItems [0..N-1] (N pods), spec.parallelism =
           parallelism or unset; a fresh workflow-controller process (--argo-controller) per run,
           --namespaced to the run's namespace, default flags (--qps 20 --burst 30) unless --argo-flags.

Measured per run (a fresh namespace each; the next run starts when the previous namespace is gone).
"Per member" is divided by N (the members of the fan-out), for every system:
  seconds     from the create request (kubectl create) to done (kubectl wait: FlowRun phase Succeeded,
              Job condition Complete, Workflow phase Succeeded);
  requests    kube-apiserver's own apiserver_request_total (kubectl get --raw /metrics), delta from just
              before the create to done, all clients (the controller, scheduler, KWOK, ...); per member
              (requests_per_task) = / N; the idle rate of the cluster (node leases, ...) is measured for a
              few seconds before each run and reported separately;
  controller requests
              the controller process's own API client, counted by the client itself: every HTTP request
              it sent, watches included, from just before the create to done, / N. apiserver_request_total
              has no client label, so the counter comes from each controller's /metrics:
              podflow-operator's podflow_kube_requests_total, the Argo workflow-controller's
              argo_workflows_k8s_request_total (its transport wrapper, one per HTTP request), and
              kube-controller-manager's rest_client_requests_total (client-go, one per HTTP request; the
              whole process: the Job controller and the garbage collector, namespace controller, ...
              that run beside it, so its idle rate, measured with the cluster's, is reported too as
              controller_idle_requests_per_s);
  cpu         utime+stime delta (/proc/<pid>/stat) of the controller (podflow-operator, the Argo
              workflow-controller, or kube-controller-manager for the Job) and of every cluster component;
              the table shows the API server's and the controller's as ms per member;
  rss         the controller's VmHWM; a fresh process per run for podflow and Argo; for the Job the
              controller-manager lives as long as the cluster, so its VmHWM is a lifetime peak and its
              VmRSS before/after is reported too;
  etcd        etcd's own gauges (its /metrics on its client URL, found on etcd's command line; or
              PODFLOW_ETCD_URL) just before the create and at done: etcd_mvcc_db_total_size_in_bytes (the
              file; freed pages are reused, so this is growth beyond the free pages), ..._in_use_in_bytes,
              etcd_debugging_mvcc_keys_total (a deleted key counts until the API server's next compaction,
              every 5 min), etcd_debugging_mvcc_current_revision (one per write) and
              etcd_debugging_mvcc_total_put_size_in_bytes (bytes written, untouched by compaction); deltas,
              in total and / N. Before each run (before the idle window) etcd is compacted at its
              current revision and defragmented (--no-etcd-defrag: not), so the file has no free pages
              and no earlier run's history; the API server's own compaction during a long run still
              lowers in-use bytes and keys;
  objects     the keys of the run's namespace in etcd at done, by resource (pods, tasks, events, ...: what
              the system left stored), from a keys-only scan of /registry/ through etcd's JSON gateway;
  timeline    pods' creation and finish times relative to the top object's creation (1 s resolution;
              only up to --timeline-max members: listing 100,000 pods takes minutes).
One JSON line per run goes to --out (appended), and a min/median/max table is printed at the end.
--series FILE also appends each run's totals as a {"final": true, ...} line, the form
bench/operator_kwok.py --series writes at the end of a run, so bench/scale_series.py FILE prints a
100,000-way Job's totals beside podflow's.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tests", "operator"))
from operator_harness import OperatorTest, cluster_env, free_port  # noqa: E402
import operator_kwok  # noqa: E402
from cluster_metrics import (COMPONENTS, apiserver_metrics, client_requests, component_pids,  # noqa: E402
                             etcd_compact_defrag, etcd_growth, etcd_metrics, etcd_namespace_keys, kcm_metrics_text,
                             proc_cpu, proc_status, process_flag, request_key)

KWOK = operator_kwok.KWOK
ARGO_VERSION = "v3.6.12"
ARGO_DIR = os.path.expanduser(f"~/.cache/podflow/argo-{ARGO_VERSION}")


# ---------------------------------------------------------------- process and metrics helpers
def kubectl(env, *args, input=None, check=True, timeout=300):
    result = subprocess.run(["kubectl"] + list(args), input=input, capture_output=True, text=True, env=env,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args)} failed ({result.returncode}): {result.stderr}{result.stdout}")
    return result


def apiserver_requests(env):
    """{(verb, resource, subresource): count} of apiserver_request_total."""
    return apiserver_metrics(env)[0]


def mean_latency_ms(after, before, top=10):
    """Mean server-side latency of the busiest non-WATCH (verb, resource) during the run."""
    (_, s1, c1), (_, s0, c0) = after, before
    rows = []
    for k, count in c1.items():
        n = count - c0.get(k, 0.0)
        if n > 0 and k[0] not in ("WATCH", "WATCHLIST", "CONNECT"):
            rows.append((n, k, (s1[k] - s0.get(k, 0.0)) / n * 1000))
    rows.sort(reverse=True)
    return {request_key(k): round(ms, 1) for n, k, ms in rows[:top]}


def requests_delta(after, before):
    d = {k: v - before.get(k, 0.0) for k, v in after.items() if v - before.get(k, 0.0) > 0}
    top = sorted(d.items(), key=lambda kv: -kv[1])
    return int(sum(d.values())), {request_key(k): int(n) for k, n in top[:12]}


def operator_summary(before, after):
    """podflow-operator's own view: its requests, reconciles, retries, client rate-limiter wait, queue waits."""
    S, D, G = operator_kwok.samples, operator_kwok.delta, operator_kwok.group

    def per_controller(family, suffix=""):
        return {c: round(sum(D(S(after, f"{family}_{c}{suffix}"), S(before, f"{family}_{c}{suffix}")).values()), 1)
                for c in ("flow", "flowrun", "task")}
    requests = D(S(after, "podflow_kube_requests_total"), S(before, "podflow_kube_requests_total"))
    return {"requests": int(sum(requests.values())), "by_verb": G(requests, "verb"),
            "reconciles": per_controller("podflow_reconciles_total"),
            "workqueue_retries": per_controller("podflow_workqueue_retries_total"),
            "queue_wait_s": per_controller("podflow_workqueue_queue_duration_seconds", "_sum"),
            "rate_limiter_wait_s": round(sum(D(S(after, "podflow_kube_rate_limiter_wait_seconds_sum"),
                                               S(before, "podflow_kube_rate_limiter_wait_seconds_sum")).values()), 1)}


def stamp(text):
    return operator_kwok._seconds(text) if text else None


def pod_timeline(env, ns, zero):
    """[first, last] pod creation, PodScheduled and container finish, seconds after zero."""
    out = kubectl(env, "-n", ns, "get", "pods", "--no-headers", "-o",
                  "custom-columns=C:.metadata.creationTimestamp,"
                  "S:.status.conditions[?(@.type=='PodScheduled')].lastTransitionTime,"
                  "F:.status.containerStatuses[0].state.terminated.finishedAt", timeout=600).stdout
    cols = {"created": [], "scheduled": [], "finished": []}
    for line in out.splitlines():
        fields = line.split()
        for key, value in zip(("created", "scheduled", "finished"), fields):
            s = stamp(value) if value not in ("<none>", "") else None
            if s is not None:
                cols[key].append(s - zero)
    return {k: [round(min(v), 1), round(max(v), 1)] if v else None for k, v in cols.items()} | {
        "pods": len(out.splitlines())}


def wait_namespace_gone(env, ns):
    kubectl(env, "delete", "namespace", ns, "--wait=false", check=False)
    kubectl(env, "wait", "--for=delete", f"namespace/{ns}", "--timeout=900s", check=False, timeout=930)


# ---------------------------------------------------------------- variants: a system and its client limits
# (qps flag, burst flag, default qps, default burst) of the controllers started here
CLIENT_LIMIT_FLAGS = {"podflow": ("--kube-api-qps", "--kube-api-burst", 100, 200),
                      "argo": ("--qps", "--burst", 20, 30)}


def flag_value(flags, name):
    """The value of `name V` or `name=V` in a flag list, and the list without it."""
    value, rest, i = None, [], 0
    while i < len(flags):
        if flags[i] == name and i + 1 < len(flags):
            value, i = flags[i + 1], i + 2
            continue
        if flags[i].startswith(name + "="):
            value = flags[i][len(name) + 1:]
        else:
            rest.append(flags[i])
        i += 1
    return value, rest


def make_variant(system, flags, env, name=None):
    """{"system", "flags", "limits": {"qps", "burst", "defaults"}, "label", "serial_duration"} of one
    system at one setting."""
    if system not in ("podflow", "job", "argo"):
        raise SystemExit(f"unknown system {system!r} (podflow, job or argo)")
    serial_duration = None
    if system == "podflow":
        # Not an operator flag: the fake run time of the flow's start, join and end pods.
        serial_duration, flags = flag_value(list(flags), "--serial-duration")
    if system == "job":
        if flags:
            raise SystemExit("the Job has no controller flags: its limits are the cluster's "
                             "kube-controller-manager's (tests/cluster/up)")
        pid = component_pids(env).get("kube-controller-manager")
        qps = process_flag(pid, "--kube-api-qps") if pid else None
        burst = process_flag(pid, "--kube-api-burst") if pid else None
        limits = {"qps": float(qps or 20), "burst": int(burst or 30), "defaults": qps is None and burst is None}
        label = f"job (kcm {limits['qps']:g}/{limits['burst']})"
    else:
        qps_flag, burst_flag, qps, burst = CLIENT_LIMIT_FLAGS[system]
        qps_set, rest = flag_value(list(flags), qps_flag)
        burst_set, rest = flag_value(rest, burst_flag)
        limits = {"qps": float(qps_set or qps), "burst": int(burst_set or burst),
                  "defaults": qps_set is None and burst_set is None}
        label = (f"{system} defaults({limits['qps']:g}/{limits['burst']})" if limits["defaults"]
                 else f"{system} qps{limits['qps']:g}/burst{limits['burst']}")
        if rest:
            label += " " + " ".join(rest)
        if serial_duration is not None:
            label += f" start/join/end {serial_duration}"
    return {"system": system, "flags": list(flags), "limits": limits, "label": name or label,
            "serial_duration": serial_duration}


def parse_variant(spec, env):
    """[NAME=]SYSTEM[:FLAGS] -> a variant."""
    name = None
    head = spec.split(":", 1)[0]
    if "=" in head:
        name, spec = spec.split("=", 1)
    system, _, flags = spec.partition(":")
    return make_variant(system.strip(), flags.split(), env, name)


# ---------------------------------------------------------------- the three systems
def pod_annotations(duration):
    return {"podflow.dev/kwok-duration": duration}


def job_json(name, n, parallelism, duration):
    return json.dumps({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
        "spec": {"completionMode": "Indexed", "completions": n, "parallelism": parallelism or n,
                 "backoffLimit": 0,
                 "template": {"metadata": {"annotations": pod_annotations(duration)},
                              "spec": dict(KWOK, restartPolicy="Never", containers=[{
                                  "name": "work", "image": "busybox", "command": ["true"],
                                  "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}])}}})


def workflow_json(name, n, parallelism, duration):
    spec = {"entrypoint": "main", "serviceAccountName": "default",
            "templates": [
                {"name": "main", "steps": [[{"name": "work", "template": "work",
                                             "arguments": {"parameters": [{"name": "i", "value": "{{item}}"}]},
                                             "withItems": list(range(n))}]]},
                {"name": "work", "inputs": {"parameters": [{"name": "i"}]},
                 "metadata": {"annotations": pod_annotations(duration)},
                 "nodeSelector": KWOK["nodeSelector"], "tolerations": KWOK["tolerations"],
                 "container": {"image": "busybox", "command": ["true"],
                               "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}}]}
    if parallelism:
        spec["parallelism"] = parallelism
    return json.dumps({"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": name},
                       "spec": spec})


def flowrun_json(name, n, parallelism):
    run = json.loads(operator_kwok.flowrun_json(name, n))
    run["spec"]["maxWorkers"] = parallelism or n
    return json.dumps(run)


def http_ok(url):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status == 200
    except OSError:
        return False


def wait_for(what, predicate, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.5)
    raise RuntimeError(f"timed out waiting for {what}")


def argo_crds_dir():
    modcache = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True).stdout.strip()
    return os.path.join(modcache, f"github.com/argoproj/argo-workflows/v3@{ARGO_VERSION}/manifests/base/crds/minimal")


def ensure_argo_crds(env):
    """The module's own minimal CRDs (manifests/base/crds/minimal, as the quick-start install uses)."""
    if kubectl(env, "get", "crd", "workflows.argoproj.io", check=False).returncode == 0:
        return
    kubectl(env, "apply", "--server-side", "-k", argo_crds_dir())
    kubectl(env, "wait", "--for=condition=Established", "crd", "--all", "--timeout=120s")


class ArgoController:
    def __init__(self, env, ns, binary, flags, log_dir):
        ensure_argo_crds(env)
        self.metrics_port = free_port()
        config = {"metricsConfig": {"enabled": True, "port": self.metrics_port, "secure": False},
                  "telemetryConfig": {"enabled": False}}
        kubectl(env, "-n", ns, "create", "configmap", "workflow-controller-configmap",
                f"--from-literal=metricsConfig={json.dumps(config['metricsConfig'])}",
                f"--from-literal=telemetryConfig={json.dumps(config['telemetryConfig'])}")
        self.log_path = os.path.join(log_dir, f"argo-{ns}.log")
        command = [binary, "--kubeconfig", env["KUBECONFIG"], "--namespace", ns, "--namespaced",
                   "--managed-namespace", ns, "--executor-image", f"quay.io/argoproj/argoexec:{ARGO_VERSION}",
                   "--configmap", "workflow-controller-configmap"] + list(flags)
        penv = dict(env, LEADER_ELECTION_DISABLE="true")
        self.process = subprocess.Popen(command, stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT,
                                        env=penv)
        wait_for("the Argo controller's metrics endpoint",
                 lambda: self.process.poll() is None and http_ok(f"http://127.0.0.1:{self.metrics_port}/metrics")
                 or self._dead(), 120)

    def metrics_text(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10) as r:
            return r.read().decode()

    def _dead(self):
        if self.process.poll() is not None:
            raise RuntimeError(f"workflow-controller exited {self.process.returncode}; log {self.log_path}:\n"
                               + open(self.log_path).read()[-3000:])
        return False

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def controller_requests(system, env, operator, argo):
    """{verb or HTTP method: requests so far} of the controller process's own API client; None if unreadable."""
    try:
        if system == "podflow":
            return client_requests(operator.metrics(), "podflow_kube_requests_total", "verb")
        if system == "job":
            text = kcm_metrics_text(env)
            return client_requests(text, "rest_client_requests_total", "method") if text is not None else None
        text = argo.metrics_text()
    except OSError:
        return None
    return (client_requests(text, "argo_workflows_k8s_request_total", "verb")
            or client_requests(text, "rest_client_requests_total", "method"))


def one_run(variant, n, parallelism, args, log_dir):
    env = cluster_env()
    pids = component_pids(env)
    name = "fanout"
    system = variant["system"]
    result = {"system": system, "variant": variant["label"], "client_limits": variant["limits"],
              "controller_flags": variant["flags"], "n": n, "parallelism": parallelism or "unlimited",
              "duration": args.duration, "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    harness = None
    argo = None
    operator = None
    try:
        if system == "podflow":
            harness = OperatorTest("cmp")
            harness.__enter__()
            ns = harness.ns
            env = harness.env
            operator = harness.start_operator(*variant["flags"])
            harness.apply(operator_kwok.flow_yaml(name, n, args.duration, variant["serial_duration"]))
            wait_for("the operator to be ready", lambda: operator_kwok._ready(operator), 60)
            wait_for("the Flow to be valid", lambda: (harness.condition(harness.get("flow", name), "Valid") or {})
                     .get("status") == "True", 60)
            controller_pid = operator.process.pid
            binary = operator.command[0]
            st = os.stat(binary)
            result["operator_binary"] = {"path": binary, "mtime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(
                st.st_mtime)), "size": st.st_size}
            create = flowrun_json(name, n, parallelism)
            kind, wait = "flowrun", "--for=jsonpath={.status.phase}=Succeeded"
        else:
            ns = f"cmp-{system}-{int(time.time())}"
            kubectl(env, "create", "namespace", ns)
            wait_for("the default service account", lambda: kubectl(env, "-n", ns, "get", "sa", "default",
                                                                   check=False).returncode == 0, 60)
            if system == "job":
                controller_pid = pids["kube-controller-manager"]
                create = job_json(name, n, parallelism, args.duration)
                kind, wait = "job", "--for=condition=Complete"
            else:
                argo = ArgoController(env, ns, args.argo_controller, variant["flags"], log_dir)
                controller_pid = argo.process.pid
                create = workflow_json(name, n, parallelism, args.duration)
                kind, wait = "workflow", "--for=jsonpath={.status.phase}=Succeeded"
        result["namespace"] = ns

        # etcd compacted and defragmented (before the idle window: watchers that relist settle in it)
        if not args.no_etcd_defrag:
            result["etcd_compacted_at"] = etcd_compact_defrag(env)
        # idle rate of the cluster, then the run
        idle0, t_idle = apiserver_requests(env), time.monotonic()
        controller_idle0 = controller_requests(system, env, operator, argo)
        time.sleep(args.idle)
        before_all = apiserver_metrics(env)
        before = before_all[0]
        controller_before = controller_requests(system, env, operator, argo)
        idle_seconds = time.monotonic() - t_idle
        result["idle_requests_per_s"] = round(sum(before.values()) - sum(idle0.values()), 0) / idle_seconds
        result["idle_requests_per_s"] = round(result["idle_requests_per_s"], 1)
        if controller_idle0 is not None and controller_before is not None:
            result["controller_idle_requests_per_s"] = round(
                (sum(controller_before.values()) - sum(controller_idle0.values())) / idle_seconds, 1)
        etcd_before = etcd_metrics(env)
        cpu_before = {c: proc_cpu(p) for c, p in pids.items()} | {"controller": proc_cpu(controller_pid)}
        rss_before = proc_status(controller_pid, "VmRSS")
        operator_before = operator.metrics() if system == "podflow" else None
        started = time.monotonic()
        kubectl(env, "-n", ns, "create", "-f", "-", input=create)
        done = kubectl(env, "-n", ns, "wait", f"{kind}/{name}", wait, f"--timeout={args.timeout}s",
                       check=False, timeout=args.timeout + 60)
        elapsed = time.monotonic() - started
        after_all = apiserver_metrics(env)
        after = after_all[0]
        controller_after = controller_requests(system, env, operator, argo)
        etcd_after = etcd_metrics(env)
        cpu_after = {c: proc_cpu(p) for c, p in pids.items()} | {"controller": proc_cpu(controller_pid)}
        result["ok"] = done.returncode == 0
        result["seconds"] = round(elapsed, 1)
        total, top = requests_delta(after, before)
        result["requests"] = total
        result["requests_per_task"] = round(total / n, 2)
        result["requests_idle_share"] = round(result["idle_requests_per_s"] * elapsed)
        result["requests_top"] = top
        result["apiserver_latency_ms"] = mean_latency_ms(after_all, before_all)
        if controller_before is not None and controller_after is not None:
            by_verb = {k: int(v - controller_before.get(k, 0.0)) for k, v in controller_after.items()
                       if v - controller_before.get(k, 0.0) > 0}
            result["controller_requests"] = sum(by_verb.values())
            result["controller_requests_per_member"] = round(result["controller_requests"] / n, 2)
            result["controller_requests_by_verb"] = dict(sorted(by_verb.items(), key=lambda kv: -kv[1]))
        result["etcd"] = etcd_growth(etcd_before, etcd_after, n)
        if not result["etcd"]:
            result["etcd_error"] = f"no etcd metrics (before: {etcd_before}, after: {etcd_after})"
        left = etcd_namespace_keys(env, ns)
        if left is not None:
            result["objects_left"] = sum(left.values())
            result["objects_left_by_resource"] = left
        result["controller_cpu_s"] = round(cpu_after["controller"] - cpu_before["controller"], 1)
        result["component_cpu_s"] = {c: round(cpu_after[c] - cpu_before[c], 1) for c in pids
                                     if cpu_after[c] is not None and cpu_before[c] is not None}
        result["controller_peak_rss_mb"] = round(proc_status(controller_pid, "VmHWM") or 0, 1)
        if system == "job":
            result["controller_rss_mb_before_after"] = [round(rss_before or 0, 1),
                                                        round(proc_status(controller_pid, "VmRSS") or 0, 1)]
        obj = kubectl(env, "-n", ns, "get", kind, name, "-o", "json", check=False, timeout=120).stdout
        result["object_bytes"] = len(obj)
        status = json.loads(obj).get("status", {}) if obj else {}
        if not result["ok"]:
            result["error"] = (done.stderr + done.stdout)[-2000:]
            result["status_excerpt"] = json.dumps(status)[:3000]
        if system == "podflow":
            result["status_bytes"] = len(json.dumps(status, separators=(",", ":")))
            result["tasks"] = status.get("tasks")
            result["operator_log"] = operator.log_path
            result["operator"] = operator_summary(operator_before, operator.metrics())
            zero = stamp(json.loads(obj)["metadata"]["creationTimestamp"])
        elif system == "job":
            result["job_status"] = {k: status.get(k) for k in ("succeeded", "failed", "startTime", "completionTime")}
            zero = stamp(json.loads(obj)["metadata"]["creationTimestamp"]) if obj else None
        else:
            result["workflow_status"] = {k: status.get(k) for k in ("phase", "startedAt", "finishedAt", "message",
                                                                    "progress")}
            result["workflow_nodes"] = len(status.get("nodes") or {})
            result["workflow_compressed_nodes_bytes"] = len(status.get("compressedNodes") or "")
            result["argo_log"] = argo.log_path
            result["argo_log_errors"] = subprocess.run(
                ["grep", "-c", "-E", "level=(error|fatal)", argo.log_path], capture_output=True, text=True
            ).stdout.strip()
            zero = stamp(json.loads(obj)["metadata"]["creationTimestamp"]) if obj else None
        if zero is not None and n <= args.timeline_max:
            result["timeline_s"] = pod_timeline(env, ns, zero)
    finally:
        if argo:
            argo.stop()
        if harness:
            harness.__exit__(None, None, None)
        if result.get("namespace"):
            if args.no_wait_delete:
                kubectl(env, "delete", "namespace", result["namespace"], "--wait=false", check=False)
            else:
                wait_namespace_gone(env, result["namespace"])
    return result


def final_record(r):
    """A run's totals in the shape of bench/operator_kwok.py's last --series line (bench/scale_series.py)."""
    cpu = r.get("component_cpu_s") or {}
    n = r["n"]
    return {"final": True, "system": r["system"], "variant": r.get("variant"), "splits": n, "ok": r.get("ok"),
            "seconds": r.get("seconds"), "source": "cluster_compare.py",
            "controller_requests_per_member": r.get("controller_requests_per_member"),
            "apiserver_requests_per_member": r.get("requests_per_task"),
            "controller_peak_rss_mb": r.get("controller_peak_rss_mb"),
            "controller_cpu_ms_per_member": round(1000 * r["controller_cpu_s"] / n, 2)
            if r.get("controller_cpu_s") is not None else None,
            "apiserver_cpu_ms_per_member": round(1000 * cpu["kube-apiserver"] / n, 2)
            if cpu.get("kube-apiserver") is not None else None,
            "etcd": r.get("etcd"), "objects_left": r.get("objects_left")}


# ---------------------------------------------------------------- summary
def per_member_ms(get):
    def value(run):
        seconds = get(run)
        return round(1000 * seconds / run["n"], 2) if seconds is not None else None
    return value


apiserver_cpu_ms = per_member_ms(lambda run: (run.get("component_cpu_s") or {}).get("kube-apiserver"))
controller_cpu_ms = per_member_ms(lambda run: run.get("controller_cpu_s"))


def etcd_per_member(key):
    return lambda run: (run.get("etcd") or {}).get(key + "_per_member")


def row_label(r):
    """The variant's label (system and client limits); rows written before variants: system (flags)."""
    if r.get("client_limits"):
        return r["variant"]
    return r["system"] + (f" ({r['variant']})" if r.get("variant") else "")


def summarize(rows):
    groups = {}
    for r in rows:
        if r.get("excluded") or r.get("final"):  # excluded: set by hand in the results file, with the reason
            continue
        groups.setdefault((r["n"], str(r["parallelism"]), row_label(r)), []).append(r)
    print("Per member = / N. min / median / max over the ok runs. controller requests: the controller's own"
          " client counter; etcd: growth from the create to done; objects left: the namespace's keys in etcd at"
          " done.")
    print("| N | parallelism | system (client limits) | runs (ok) | seconds | API requests/member |"
          " controller requests/member | API server CPU ms/member | controller CPU ms/member |"
          " controller peak RSS MiB | etcd DB bytes/member | etcd in-use bytes/member | etcd written bytes/member |"
          " etcd keys/member | objects left |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    order = {"podflow": 0, "job": 1, "argo": 2}
    for key in sorted(groups, key=lambda k: (k[0], k[1] != "16", order.get(k[2].split()[0], 9), k[2])):
        runs = groups[key]
        ok = [r for r in runs if r.get("ok")]

        def mmm(field):
            get = field if callable(field) else lambda r: r.get(field)
            values = [value for value in (get(r) for r in ok) if value is not None]
            if not values:
                return "-"
            return f"{min(values):g} / {statistics.median(values):g} / {max(values):g}"
        print(f"| {key[0]} | {key[1]} | {key[2]} | {len(runs)} ({len(ok)}) | {mmm('seconds')} | "
              f"{mmm('requests_per_task')} | {mmm('controller_requests_per_member')} | {mmm(apiserver_cpu_ms)} | "
              f"{mmm(controller_cpu_ms)} | {mmm('controller_peak_rss_mb')} | {mmm(etcd_per_member('db_bytes'))} | "
              f"{mmm(etcd_per_member('db_in_use_bytes'))} | {mmm(etcd_per_member('put_bytes'))} | "
              f"{mmm(etcd_per_member('keys'))} | {mmm('objects_left')} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--systems", default="podflow,job,argo", help="one variant each (unless --variant)")
    parser.add_argument("--variant", action="append", default=[], metavar="[NAME=]SYSTEM[:FLAGS]",
                        help="a system at one setting of its controller's flags, e.g. 'podflow:--kube-api-qps 200 "
                             "--kube-api-burst 400' or 'argo:--qps 200 --burst 400'; repeatable, replaces --systems")
    parser.add_argument("--splits", default="1000", help="comma-separated N")
    parser.add_argument("--parallelism", default="16,0", help="comma-separated; 0 = unlimited")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--duration", default="1s")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idle-rate measurement before a run")
    parser.add_argument("--timeout", type=int, default=3600)
    parser.add_argument("--out", default="/tmp/cluster_compare.jsonl")
    parser.add_argument("--series", help="also append each run's totals to this file as a final line "
                                         "(bench/scale_series.py prints them)")
    parser.add_argument("--timeline-max", type=int, default=20000,
                        help="list the pods for the timeline up to this N (default 20000)")
    parser.add_argument("--no-wait-delete", action="store_true",
                        help="do not wait for a run's namespace to be deleted (100,000 pods take long); a next "
                             "run then overlaps that deletion, which its requests, CPU and etcd growth include")
    parser.add_argument("--no-etcd-defrag", action="store_true",
                        help="do not compact and defragment etcd before each run")
    parser.add_argument("--argo-controller", default=os.path.join(ARGO_DIR, "workflow-controller"))
    parser.add_argument("--podflow-flags", default="",
                        help="podflow-operator flags of the podflow variant of --systems, space-separated, e.g. "
                             "'--kube-api-qps 200 --kube-api-burst 400' (defaults 100/200)")
    parser.add_argument("--argo-flags", default="",
                        help="workflow-controller flags of the argo variant of --systems, space-separated, "
                             "e.g. '--qps 200 --burst 400' (defaults 20/30)")
    parser.add_argument("--summarize", metavar="JSONL", help="only print the table of a results file")
    parser.add_argument("operator_flags", nargs="*", help="more podflow-operator flags (after --), as --podflow-flags")
    args = parser.parse_args()
    if args.summarize:
        with open(args.summarize) as f:
            summarize([json.loads(line) for line in f if line.strip()])
        return
    env = cluster_env()
    if args.variant:
        variants = [parse_variant(spec, env) for spec in args.variant]
    else:
        flags = {"podflow": args.podflow_flags.split() + list(args.operator_flags), "argo": args.argo_flags.split()}
        variants = [make_variant(system, flags.get(system, []), env) for system in args.systems.split(",")]
    labels = [v["label"] for v in variants]
    if len(set(labels)) != len(labels):
        raise SystemExit(f"two variants with the same label: {labels}")
    log_dir = os.path.join(os.path.dirname(args.out) or ".", "cluster_compare_logs")
    os.makedirs(log_dir, exist_ok=True)
    rows = []
    for n in [int(x) for x in args.splits.split(",")]:
        for parallelism in [int(x) for x in args.parallelism.split(",")]:
            for i in range(args.repeat):
                for variant in variants:
                    try:
                        r = one_run(variant, n, parallelism, args, log_dir)
                    except Exception as error:  # keep going; record the failure
                        r = {"system": variant["system"], "variant": variant["label"],
                             "client_limits": variant["limits"], "controller_flags": variant["flags"], "n": n,
                             "parallelism": parallelism or "unlimited", "ok": False, "error": str(error)[-3000:]}
                    rows.append(r)
                    with open(args.out, "a") as f:
                        f.write(json.dumps(r) + "\n")
                    if args.series:
                        with open(args.series, "a") as f:
                            f.write(json.dumps(final_record(r)) + "\n")
                    brief = {k: r.get(k) for k in ("variant", "n", "parallelism", "ok", "seconds", "requests_per_task",
                                                   "controller_requests_per_member", "controller_cpu_s",
                                                   "controller_peak_rss_mb", "objects_left", "error")}
                    brief["etcd_db_bytes_per_member"] = (r.get("etcd") or {}).get("db_bytes_per_member")
                    print(json.dumps(brief), flush=True)
    summarize(rows)


if __name__ == "__main__":
    main()
