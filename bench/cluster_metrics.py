"""What the test cluster's own components say about a run: their CPU and memory (/proc of the
pids tests/cluster/up records) and the API server's request counters (its /metrics).
Shared by cluster_compare.py (per run) and operator_kwok.py (per growth sample)."""
import os
import subprocess

COMPONENTS = ("kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler", "kwok")


def cpu_seconds(pid):
    """user + system CPU time of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    try:
        return cpu_seconds(pid)
    except OSError:
        return None


def proc_status(pid, key):
    """A /proc/<pid>/status field in kB, as MiB (VmRSS, VmHWM); None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def component_pids(env):
    pids = {}
    for name in COMPONENTS:
        try:
            with open(os.path.join(env["PODFLOW_CLUSTER_DIR"], "pids", name)) as f:
                pids[name] = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return pids


def components_now(env):
    """{component: {"cpu_s", "rss_mb"}} of every running cluster component."""
    out = {}
    for name, pid in component_pids(env).items():
        cpu, rss = proc_cpu(pid), proc_status(pid, "VmRSS")
        if cpu is not None:
            out[name] = {"cpu_s": round(cpu, 1), "rss_mb": round(rss or 0, 1)}
    return out


def _split_labels(text):
    parts, cur, quoted = [], "", False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur:
        parts.append(cur)
    return [p.replace('"', "") for p in parts]


def apiserver_metrics(env, timeout=60):
    """apiserver_request_total and apiserver_request_duration_seconds sum/count, each as
    {(verb, resource, subresource): value}."""
    text = subprocess.run(["kubectl", "get", "--raw", "/metrics"], capture_output=True, text=True, env=env,
                          timeout=timeout, check=True).stdout
    families = {"apiserver_request_total": {}, "apiserver_request_duration_seconds_sum": {},
                "apiserver_request_duration_seconds_count": {}}
    for line in text.splitlines():
        name = line.split("{", 1)[0]
        if name not in families:
            continue
        key, _, value = line.rpartition(" ")
        labels = dict(part.split("=", 1) for part in _split_labels(key[len(name) + 1:-1]))
        k = (labels.get("verb", "?"), labels.get("resource", "?"), labels.get("subresource", ""))
        out = families[name]
        out[k] = out.get(k, 0.0) + float(value)
    return (families["apiserver_request_total"], families["apiserver_request_duration_seconds_sum"],
            families["apiserver_request_duration_seconds_count"])


def request_key(key):
    verb, resource, subresource = key
    return f"{verb} {resource}{'/' + subresource if subresource else ''}"
