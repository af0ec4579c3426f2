"""The operator's end-to-end tests: what users type (kubectl apply, wait, logs, delete) against the
real loopback cluster of tests/cluster, with podflow-operator running as a process with a
kubeconfig, scoped to the test's own namespace so tests run side by side.

    with OperatorTest("bigsum") as t:
        t.start_operator()
        t.kubectl("apply", "-f", "examples/bigsum/flow.yaml")
        t.wait_flowrun("bigsum", "Succeeded", timeout=120)

With PODFLOW_TEST_NODE=real the test's namespace sends every pod to the cluster's real node
(kubelet, containerd, runc; tests/cluster/realnode.sh): the namespace's node-selector and
default-tolerations annotations (the API server's PodNodeSelector and PodTolerationRestriction
admission), Pod Security "restricted" enforced, podflow-runtime put into every task pod by an init
container of podflow's image (--runtime-image) and a Debian image with python3 and nothing of
podflow as the tasks' default image, both from the cluster's registry, pulled with an
imagePullSecret on the namespace's default ServiceAccount, and MinIO at the pod network's gateway.
The same test then proves the same things on a real kubelet.
"""
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

SOURCE = os.environ.get("PODFLOW_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
OPERATOR = os.environ.get("PODFLOW_OPERATOR", os.path.join(SOURCE, "build", "bin", "podflow-operator"))
CLUSTER_DIR = os.environ.get("PODFLOW_CLUSTER_DIR", "/tmp/podflow-cluster")
REAL_NODE = os.environ.get("PODFLOW_TEST_NODE", "process") == "real"
REAL_NODE_TOLERATION = {"key": "podflow.dev/node", "operator": "Equal", "value": "real", "effect": "NoSchedule"}


class TestFailure(Exception):
    pass


class Terminated(SystemExit):
    """This script got SIGTERM (a ctest timeout, a benchmark stopped by hand)."""


def _exit_on_sigterm(signum, frame):
    raise Terminated(128 + signum)


def expect(condition, message):
    if not condition:
        raise TestFailure(message)


def cluster_env():
    """The environment of tests/cluster/up's env file, on top of ours."""
    env = dict(os.environ)
    path = os.path.join(CLUSTER_DIR, "env")
    if not os.path.exists(path):
        sys.exit(f"error: no cluster env at {path} (run tests/cluster/up)")
    out = subprocess.run(["bash", "-c", f"source {path} && env -0"], capture_output=True, check=True).stdout
    for entry in out.split(b"\0"):
        if b"=" in entry:
            key, value = entry.split(b"=", 1)
            env[key.decode()] = value.decode()
    return env


# The admission policies a chart install puts in the cluster (charts/podflow/templates/
# admission-policies.yaml), rendered as `helm install podflow -n podflow-system` would: every test
# runs under what users get. Cluster-scoped and the same for every test, so applying them again is
# harmless.
POLICY_RELEASE = ("podflow", "podflow-system")
_rendered_policies = None


def admission_policies(env, *helm_args):
    """The chart's admission policies as YAML (helm template --show-only)."""
    global _rendered_policies
    if _rendered_policies is not None and not helm_args:
        return _rendered_policies
    command = ["helm", "template", POLICY_RELEASE[0], os.path.join(SOURCE, "charts", "podflow"),
               "-n", POLICY_RELEASE[1], "--show-only", "templates/admission-policies.yaml",
               "--set", "s3.bucket=unused"] + list(helm_args)
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    if result.returncode != 0:
        raise TestFailure(f"{' '.join(command)} failed: {result.stderr}")
    if not helm_args:
        _rendered_policies = result.stdout
    return result.stdout


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Operator:
    """One podflow-operator process."""

    def __init__(self, test, args, name, runtime_image=True):
        self.test = test
        self.metrics_port = free_port()
        self.probe_port = free_port()
        self.log_path = os.path.join(test.dir, f"{name}.log")
        endpoint = test.env["PODFLOW_S3_ENDPOINT_FOR_PODS" if REAL_NODE else "PODFLOW_S3_ENDPOINT"]
        # On the real node: podflow-runtime comes from podflow's image through the init container,
        # and steps that name no image run in a Debian image with nothing of podflow.
        # runtime_image=False: no init container (the step images must hold podflow-runtime).
        image = (["--runtime-image", test.env["PODFLOW_IMAGE"]] if runtime_image else []) + [
            "--default-image", test.env["PODFLOW_TEST_PYTHON_IMAGE"]] if REAL_NODE else []
        self.command = [OPERATOR, "--namespace", test.ns,
                        "--datastore", f"s3://{test.env['PODFLOW_S3_BUCKET']}/{test.ns}",
                        "--s3-endpoint", endpoint, "--s3-region", "us-east-1"] + image + [
                        "--s3-credentials-secret", "podflow-s3",
                        "--metrics-bind-address", f"127.0.0.1:{self.metrics_port}",
                        "--health-probe-bind-address", f"127.0.0.1:{self.probe_port}"] + list(args)
        self.process = None
        self.start()

    def start(self):
        log = open(self.log_path, "a")
        self.process = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT, env=self.test.env)

    def kill(self):
        """SIGKILL: no cleanup, no Lease release, as a crash or an OOM kill."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self, timeout=30):
        """SIGTERM, and the exit code (0 is a clean stop)."""
        if not self.process or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise TestFailure(f"the operator did not stop within {timeout}s of SIGTERM")

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def metrics(self):
        """The /metrics text."""
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=10) as r:
            return r.read().decode()

    def metric(self, name, labels=""):
        """Sum of the samples of `name` whose label text contains `labels`."""
        total = 0.0
        for line in self.metrics().splitlines():
            if line.startswith("#") or not line.startswith(name):
                continue
            key, _, value = line.rpartition(" ")
            if key.split("{")[0] == name and labels in key:
                total += float(value)
        return total

    def log_tail(self, lines=40):
        try:
            with open(self.log_path) as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""


class OperatorTest:
    def __init__(self, name, pin_to_real_node=True):
        """pin_to_real_node=False (with PODFLOW_TEST_NODE=real): the namespace's pods tolerate the
        real node's taint but may go to any node."""
        self.name = name
        self.pin_to_real_node = pin_to_real_node
        self.env = cluster_env()
        self.dir = tempfile.mkdtemp(prefix=f"podflow-operator-{name}-")
        if REAL_NODE and not self.env.get("PODFLOW_REAL_NODE_NAMES"):
            sys.exit("error: PODFLOW_TEST_NODE=real but the cluster has no real node "
                     "(start it with tests/cluster/up without PODFLOW_REAL_NODES=0)")
        self.ns = f"t-{'rn' if REAL_NODE else 'op'}-{name}-{random.randrange(10**8)}"[:63]
        self.operators = []

    # ---- kubectl ----
    def kubectl(self, *args, input=None, check=True, namespaced=True, timeout=120):
        command = ["kubectl"] + (["-n", self.ns] if namespaced else []) + list(args)
        result = subprocess.run(command, input=input, capture_output=True, text=True, env=self.env,
                                cwd=SOURCE, timeout=timeout)
        if check and result.returncode != 0:
            raise TestFailure(f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr}{result.stdout}")
        return result

    def get(self, kind, name=None, selector=None):
        args = ["get", kind] + ([name] if name else []) + (["-l", selector] if selector else []) + ["-o", "json"]
        return json.loads(self.kubectl(*args).stdout)

    def find(self, kind, name):
        """The object, or None when it does not exist (yet)."""
        result = self.kubectl("get", kind, name, "-o", "json", check=False)
        return json.loads(result.stdout) if result.returncode == 0 else None

    def items(self, kind, selector=None):
        return self.get(kind, selector=selector)["items"]

    def apply(self, text):
        return self.kubectl("apply", "-f", "-", input=text)

    # ---- setup ----
    def __enter__(self):
        # Python's default SIGTERM ends the interpreter without running __exit__, and the operators
        # this script started outlived it (one kept polling a later cluster on the same port).
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, _exit_on_sigterm)
        # Tests run side by side (ctest -j): two applies of the same CRDs can race (a 409 Conflict).
        for attempt in range(5):
            result = self.kubectl("apply", "-f", os.path.join(SOURCE, "crds"), namespaced=False,
                                  check=attempt == 4)
            if result.returncode == 0:
                break
            time.sleep(1)
        for crd in ("flows", "flowruns", "tasks"):
            self.kubectl("wait", "--for=condition=Established", f"crd/{crd}.podflow.dev", "--timeout=60s",
                         namespaced=False)
        for attempt in range(5):
            result = self.kubectl("apply", "-f", "-", input=admission_policies(self.env), namespaced=False,
                                  check=attempt == 4)
            if result.returncode == 0:
                break
            time.sleep(1)
        self.kubectl("create", "namespace", self.ns, namespaced=False)
        if REAL_NODE:
            self.send_pods_to_real_node()
        self.wait_for_policies()
        self.kubectl("create", "secret", "generic", "podflow-s3",
                     f"--from-literal=AWS_ACCESS_KEY_ID={self.env['AWS_ACCESS_KEY_ID']}",
                     f"--from-literal=AWS_SECRET_ACCESS_KEY={self.env['AWS_SECRET_ACCESS_KEY']}")
        return self

    def send_pods_to_real_node(self):
        annotations = ["scheduler.alpha.kubernetes.io/defaultTolerations=" + json.dumps([REAL_NODE_TOLERATION])]
        if self.pin_to_real_node:
            annotations.append("scheduler.alpha.kubernetes.io/node-selector=podflow.dev/node=real")
        self.kubectl("annotate", "namespace", self.ns, *annotations, namespaced=False)
        # Task pods, init container included, must pass Pod Security "restricted".
        self.kubectl("label", "namespace", self.ns, "pod-security.kubernetes.io/enforce=restricted",
                     namespaced=False)
        self.kubectl("create", "secret", "docker-registry", "podflow-registry",
                     f"--docker-server={self.env['PODFLOW_REGISTRY']}",
                     f"--docker-username={self.env['PODFLOW_REGISTRY_USER']}",
                     f"--docker-password={self.env['PODFLOW_REGISTRY_PASSWORD']}")
        self.wait_until("the namespace's default ServiceAccount",
                        lambda: self.kubectl("get", "serviceaccount", "default", check=False).returncode == 0, 60)
        self.kubectl("patch", "serviceaccount", "default", "-p",
                     json.dumps({"imagePullSecrets": [{"name": "podflow-registry"}]}))

    def wait_for_policies(self, namespace=None, timeout=60):
        """Until the API server enforces the admission policies (it loads new ones within about a
        second): a FlowRun created before would carry no author, and the operator refuses it."""
        probe = ("apiVersion: podflow.dev/v1alpha1\nkind: FlowRun\nmetadata: {name: policy-probe}\n"
                 "spec: {flowRef: {name: policy-probe}}\n")
        def active():
            result = subprocess.run(["kubectl", "-n", namespace or self.ns, "create", "--dry-run=server",
                                     "-o", "json", "-f", "-"], input=probe, capture_output=True, text=True,
                                    env=self.env, timeout=60)
            return result.returncode == 0 and "podflow.dev/created-by" in result.stdout
        self.wait_until("the admission policies to be active", active, timeout)

    def start_operator(self, *args, name=None, runtime_image=True):
        operator = Operator(self, args, name or f"operator-{len(self.operators)}", runtime_image)
        self.operators.append(operator)
        return operator

    def __exit__(self, kind, value, tb):
        if kind is not None and not issubclass(kind, Terminated):
            self.report()
        codes = []
        for operator in self.operators:
            try:
                codes.append(operator.stop())
            except TestFailure as error:
                codes.append(str(error))
        self.kubectl("delete", "namespace", self.ns, "--wait=false", check=False, namespaced=False)
        if kind is None:
            bad = [c for c, o in zip(codes, self.operators) if c not in (0, None) and o.expect_clean_exit]
            if bad:
                print(f"FAIL: the operator did not exit cleanly on SIGTERM: {bad}", file=sys.stderr)
                for operator in self.operators:
                    print(operator.log_tail(), file=sys.stderr)
                sys.exit(1)
        return False

    def report(self):
        """What a person needs to see when a test fails."""
        print(f"--- state of namespace {self.ns}", file=sys.stderr)
        for args in (["get", "podflow,pods", "-o", "wide"], ["get", "events", "--sort-by=.lastTimestamp"]):
            result = self.kubectl(*args, check=False)
            print(result.stdout[-6000:] + result.stderr[-2000:], file=sys.stderr)
        for operator in self.operators:
            print(f"--- {operator.log_path} (tail)\n{operator.log_tail()}", file=sys.stderr)

    # ---- waiting ----
    def wait_until(self, what, predicate, timeout, interval=0.5):
        end = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > end:
                raise TestFailure(f"timed out after {timeout}s waiting for {what}")
            time.sleep(interval)

    def flowrun(self, name):
        return self.get("flowrun", name)

    def wait_flowrun(self, name, phase, timeout=120):
        """Waits for the FlowRun's phase; fails early when it ends in another one."""
        def check():
            result = self.kubectl("get", "flowrun", name, "-o", "json", check=False)
            if result.returncode != 0:
                return None
            run = json.loads(result.stdout)
            got = run.get("status", {}).get("phase")
            if got == phase:
                return run
            if got in ("Succeeded", "Failed"):
                raise TestFailure(f"flowrun {name} ended {got}, not {phase}: "
                                  f"{json.dumps(run.get('status', {}).get('conditions'), indent=1)}")
            return None
        return self.wait_until(f"flowrun {name} to be {phase}", check, timeout)

    def condition(self, obj, kind):
        for condition in obj.get("status", {}).get("conditions", []):
            if condition["type"] == kind:
                return condition
        return None


Operator.expect_clean_exit = True


def expand_indexes(text):
    """The indexes of a Task's index list ("0-3,5" -> [0, 1, 2, 3, 5])."""
    indexes = []
    for part in filter(None, (text or "").split(",")):
        first, _, last = part.partition("-")
        indexes.extend(range(int(first), int(last or first) + 1))
    return indexes


def member_ids(task, fields=("succeededIndexes", "failedIndexes")):
    """The task ids of a Task's members in those index lists: "work.0", "work.1", ... or "start"."""
    spec, status = task["spec"], task.get("status", {})
    prefix = "".join(f".{i}" for i in spec.get("splitPrefix", []))
    return [spec["step"] + prefix + (f".{index}" if spec.get("indexed") else "")
            for field in fields for index in expand_indexes(status.get(field, ""))]


def flow_document(name, steps, spec_extra="", run=None):
    """A Flow (and, with run=dict, a FlowRun of it named like the flow) as YAML text."""
    text = f"apiVersion: podflow.dev/v1alpha1\nkind: Flow\nmetadata:\n  name: {name}\nspec:\n{spec_extra}  steps:\n"
    text += "".join("    " + line + "\n" for line in steps.strip("\n").split("\n"))
    if run is not None:
        text += f"---\napiVersion: podflow.dev/v1alpha1\nkind: FlowRun\nmetadata:\n  name: {name}\nspec:\n"
        text += f"  flowRef: {{name: {name}}}\n"
        for key, value in run.items():
            text += f"  {key}: {json.dumps(value)}\n"
    return text


def foreach_steps(items, work_command, work_extra=""):
    """The steps of start (a foreach over `items`, a JSON list) -> work -> join -> end.
    `work_command` is YAML for the work step's command; `work_extra` more YAML lines of it."""
    extra = "".join(f"  {line}\n" for line in work_extra.splitlines() if line)
    return (f"- name: start\n  command: [sh, -c, \"echo '{json.dumps(items)}' > $PODFLOW_OUTPUTS/items\"]\n"
            "  foreach: items\n  next: [work]\n"
            f"- name: work\n  command: {work_command}\n{extra}  next: [join]\n"
            '- name: join\n  join: true\n  command: ["true"]\n  next: [end]\n'
            '- name: end\n  command: ["true"]\n')


def main(tests):
    """Runs each test function (name -> fn()) in order; exit code 1 on the first failure."""
    selected = sys.argv[1:]
    for test in tests:
        if selected and test.__name__ not in selected:
            continue
        started = time.monotonic()
        try:
            test()
        except TestFailure as error:
            print(f"FAIL {test.__name__}: {error}", file=sys.stderr)
            sys.exit(1)
        except Exception:
            traceback.print_exc()
            print(f"FAIL {test.__name__}: unexpected error", file=sys.stderr)
            sys.exit(1)
        print(f"ok   {test.__name__} ({time.monotonic() - started:.1f}s)")


# ---- robustness helpers (tests/operator/test_restart.py, test_apiserver_restart.py) ----

class PodWatch:
    """Every pod the API server had in the test's namespace while this runs, by uid: a list, then
    a watch (kubectl get --raw ...?watch=1) resumed from the last resourceVersion seen whenever it
    ends (server timeout, API server restart); a 410 Gone relists. So a pod that existed only
    while no watch was open (an API server outage) could be missed; every other one is seen.

        watch = PodWatch(t, "podflow.dev/run=big")
        ...
        watch.stop()
        expect(not watch.duplicates(), ...)
    """

    def __init__(self, test, selector=""):
        import threading
        self.test = test
        self.selector = selector
        self.pods = {}  # uid -> (name, attempt label)
        self.events = 0
        self.relists = 0
        self.failures = []
        self._stopping = threading.Event()
        self._process = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _record(self, pod):
        meta = pod.get("metadata", {})
        uid = meta.get("uid")
        if not uid:
            return
        with self._lock:
            self.pods[uid] = (meta.get("name"), meta.get("labels", {}).get("podflow.dev/attempt"))

    def _path(self, query):
        from urllib.parse import quote
        path = f"/api/v1/namespaces/{self.test.ns}/pods?{query}"
        if self.selector:
            path += "&labelSelector=" + quote(self.selector)
        return path

    def _run(self):
        version = None
        while not self._stopping.is_set():
            try:
                if version is None:
                    result = self.test.kubectl("get", "--raw", self._path("limit=0"), namespaced=False,
                                               check=False, timeout=30)
                    if result.returncode != 0:
                        self.failures.append(result.stderr.strip()[-300:])
                        self._stopping.wait(1)
                        continue
                    listing = json.loads(result.stdout)
                    for pod in listing.get("items", []):
                        self._record(pod)
                    version = listing["metadata"]["resourceVersion"]
                    self.relists += 1
                command = ["kubectl", "get", "--raw", self._path(
                    f"watch=1&allowWatchBookmarks=true&timeoutSeconds=60&resourceVersion={version}")]
                self._process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                                 text=True, env=self.test.env)
                for line in self._process.stdout:
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    obj = event.get("object", {})
                    if event.get("type") == "ERROR":
                        if obj.get("code") == 410:
                            version = None  # too old: list again
                        else:
                            self.failures.append(json.dumps(obj)[:300])
                        break
                    version = obj.get("metadata", {}).get("resourceVersion", version)
                    if event.get("type") != "BOOKMARK":
                        self.events += 1
                        self._record(obj)
                code = self._process.wait()
                if code != 0 and not self._stopping.is_set():
                    self.failures.append(self._process.stderr.read().strip()[-300:])
                    self._stopping.wait(1)
            except Exception as error:  # keep watching; report at the end
                self.failures.append(repr(error))
                self._stopping.wait(1)

    def stop(self):
        """Stops watching after one more list (so nothing created before stop() is missed)."""
        result = self.test.kubectl("get", "--raw", self._path("limit=0"), namespaced=False)
        for pod in json.loads(result.stdout).get("items", []):
            self._record(pod)
        self._stopping.set()
        if self._process and self._process.poll() is None:
            self._process.kill()
        self._thread.join(timeout=30)

    def by_attempt(self):
        """{(pod name, attempt label): set of uids}"""
        attempts = {}
        with self._lock:
            for uid, key in self.pods.items():
                attempts.setdefault(key, set()).add(uid)
        return attempts

    def duplicates(self):
        """The (name, attempt)s that had more than one pod."""
        return {key: uids for key, uids in self.by_attempt().items() if len(uids) > 1}


def apiserver_port(env):
    """The API server's port from PODFLOW_KUBE_APISERVER (tests/cluster scripts need it as
    PODFLOW_APISERVER_PORT: the cluster's env file does not carry the ports)."""
    return env["PODFLOW_KUBE_APISERVER"].rsplit(":", 1)[1].strip("/")
