"""What the test cluster's own components say about a run: their CPU and memory (/proc of the
pids tests/cluster/up records), the API server's request counters (its /metrics), etcd's database
size, keys and revision (its /metrics on its client URL) and the objects a namespace holds in etcd (a
keys-only scan through etcd's JSON gateway), and kube-controller-manager's client request counters (its
/metrics on its secure port). Shared by cluster_compare.py (per run) and operator_kwok.py (per growth
sample and per run)."""
import json
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


# ---------------------------------------------------------------- command lines, etcd, controllers' clients
def process_flag(pid, flag):
    """The value of `--flag value` or `--flag=value` on a process's command line; None if absent."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().decode(errors="replace").split("\0")
    except OSError:
        return None
    for i, arg in enumerate(argv):
        if arg == flag and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(flag + "="):
            return arg[len(flag) + 1:]
    return None


def etcd_url(env):
    """etcd's client URL: PODFLOW_ETCD_URL, else the running etcd's --listen-client-urls (tests/cluster/up
    starts it with one http://127.0.0.1:PORT), else http://127.0.0.1:$PODFLOW_ETCD_PORT."""
    if env.get("PODFLOW_ETCD_URL"):
        return env["PODFLOW_ETCD_URL"].rstrip("/")
    pid = component_pids(env).get("etcd")
    urls = process_flag(pid, "--listen-client-urls") if pid else None
    if urls:
        return urls.split(",")[0].rstrip("/")
    return f"http://127.0.0.1:{env.get('PODFLOW_ETCD_PORT', '27379')}"


# etcd's own gauges of its database (etcd serves /metrics on its client URL): the file's size (pages are
# reused, never returned without a defrag), the bytes in use, the keys in its index (a deleted key counts
# until the next compaction; kube-apiserver compacts every 5 min) and the revision (one per write).
# etcd_debugging_mvcc_total_put_size_in_bytes counts the bytes of every write, whatever compaction does.
ETCD_METRICS = ("etcd_mvcc_db_total_size_in_bytes", "etcd_mvcc_db_total_size_in_use_in_bytes",
                "etcd_debugging_mvcc_keys_total", "etcd_debugging_mvcc_current_revision",
                "etcd_debugging_mvcc_total_put_size_in_bytes")


def etcd_metrics(env, timeout=30):
    """{name: value} of ETCD_METRICS that etcd reports (a missing one is left out); {} if unreachable."""
    import urllib.request
    try:
        with urllib.request.urlopen(etcd_url(env) + "/metrics", timeout=timeout) as r:
            text = r.read().decode()
    except OSError:
        return {}
    out = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in ETCD_METRICS:
            out[name] = float(value)
    return out


def etcd_compact_defrag(env, timeout=300):
    """Compacts etcd at its current revision and defragments it (its JSON gateway), so that the growth
    of a run that follows starts from a file without free pages and without earlier runs' history;
    the revision, or an error text."""
    import urllib.request

    def post(path, body):
        request = urllib.request.Request(etcd_url(env) + path, data=json.dumps(body).encode())
        with urllib.request.urlopen(request, timeout=timeout) as r:
            return json.loads(r.read())
    try:
        revision = int(post("/v3/maintenance/status", {})["header"]["revision"])
        post("/v3/kv/compaction", {"revision": revision, "physical": True})
        post("/v3/maintenance/defragment", {})
        return revision
    except (OSError, ValueError, KeyError) as error:
        return f"etcd compact/defragment failed: {error}"


def etcd_namespace_keys(env, ns, page=5000, timeout=120):
    """{resource: keys} of the objects of namespace `ns` in etcd now (kube-apiserver's keys are
    /registry/RESOURCE/NS/NAME or /registry/GROUP/RESOURCE/NS/NAME), by a keys-only scan of /registry/ through
    etcd's JSON gateway in pages; None if etcd cannot be read."""
    import base64
    import urllib.request

    def b64(data):
        return base64.b64encode(data).decode()
    url = etcd_url(env) + "/v3/kv/range"
    key, end = b"/registry/", b"/registry0"
    counts = {}
    try:
        while True:
            body = json.dumps({"key": b64(key), "range_end": b64(end), "keys_only": True, "limit": page}).encode()
            with urllib.request.urlopen(urllib.request.Request(url, data=body), timeout=timeout) as r:
                answer = json.loads(r.read())
            kvs = answer.get("kvs") or []
            for kv in kvs:
                parts = base64.b64decode(kv["key"]).decode(errors="replace").split("/")
                if len(parts) == 5 and parts[3] == ns:
                    resource = parts[2]
                elif len(parts) == 6 and parts[4] == ns:
                    resource = f"{parts[2]}/{parts[3]}"
                else:
                    continue
                counts[resource] = counts.get(resource, 0) + 1
            if not answer.get("more") or not kvs:
                break
            key = base64.b64decode(kvs[-1]["key"]) + b"\0"
    except (OSError, ValueError):
        return None
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def etcd_growth(before, after, n):
    """The deltas of ETCD_METRICS from before to after, in total and per member (/ n)."""
    short = {"etcd_mvcc_db_total_size_in_bytes": "db_bytes", "etcd_mvcc_db_total_size_in_use_in_bytes":
             "db_in_use_bytes", "etcd_debugging_mvcc_keys_total": "keys", "etcd_debugging_mvcc_current_revision":
             "revisions", "etcd_debugging_mvcc_total_put_size_in_bytes": "put_bytes"}
    out = {}
    for name, key in short.items():
        if name in before and name in after:
            out[key] = int(after[name] - before[name])
            per_member = (after[name] - before[name]) / n
            out[key + "_per_member"] = round(per_member) if key.endswith("bytes") else round(per_member, 2)
    return out


def metric_samples(text, family):
    """[(labels dict, value)] of one family's samples in a Prometheus text page."""
    out = []
    for line in text.splitlines():
        if not (line.startswith(family + "{") or line.startswith(family + " ")):
            continue
        key, _, value = line.rpartition(" ")
        labels = {}
        if "{" in key:
            labels = dict(part.split("=", 1) for part in _split_labels(key[len(family) + 1:-1]) if "=" in part)
        out.append((labels, float(value)))
    return out


def client_requests(text, family, label):
    """{label value: count} of a client request counter (its samples summed by `label`)."""
    out = {}
    for labels, value in metric_samples(text, family):
        out[labels.get(label, "?")] = out.get(labels.get(label, "?"), 0.0) + value
    return out


def kcm_metrics_text(env, timeout=30):
    """kube-controller-manager's /metrics, from its --secure-port with the cluster's admin client
    certificate (tests/cluster/up: $PODFLOW_CLUSTER_DIR/pki/admin.{crt,key}); None if unreachable."""
    import ssl
    import urllib.request
    pid = component_pids(env).get("kube-controller-manager")
    port = process_flag(pid, "--secure-port") if pid else None
    pki = os.path.join(env["PODFLOW_CLUSTER_DIR"], "pki")
    if not port:
        return None
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        context.load_cert_chain(os.path.join(pki, "admin.crt"), os.path.join(pki, "admin.key"))
        with urllib.request.urlopen(f"https://127.0.0.1:{port}/metrics", timeout=timeout, context=context) as r:
            return r.read().decode()
    except (OSError, ssl.SSLError):
        return None
