"""What only a real kubelet does, with podflow's image from the cluster's registry: resources become
cgroup limits the step can read; the kernel OOM-kills a step past its memory, the kubelet stops a
pod at its activeDeadlineSeconds and evicts one that writes past its disk; an image that does not
exist and a missing pull secret are reported in words; a node lost mid-run has its tasks run again
on a node that works. Every test runs its own operator (a process) in its own namespace, whose pods
go to the real node (operator_harness, PODFLOW_TEST_NODE=real).

    tests/cluster/up && source /tmp/podflow-cluster/env && python3 tests/realnode/test_realnode.py [test]
"""
import functools
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

os.environ["PODFLOW_TEST_NODE"] = "real"
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "operator"))
from operator_harness import OperatorTest, PodWatch, TestFailure, cluster_env, expect, flow_document, main  # noqa: E402
from test_shapes import PODFLOW, local_manifests, s3_manifests  # noqa: E402

MiB = 1024 * 1024


@functools.lru_cache(maxsize=None)
def cluster_settings():
    return cluster_env()


def cluster(name, default):
    """A setting of the running cluster (its env file), e.g. PODFLOW_REGISTRY."""
    return cluster_settings().get(name) or default


def task_status(t, name):
    task = t.find("task", name)
    return task.get("status", {}) if task else {}


def limits_from_cgroups():
    """cpu, memory (an integer in MB and a quantity string) and disk land as the container's cgroup
    limits and the pod's ephemeral-storage limit; the step reads them from inside."""
    read = ("for f in memory/memory.limit_in_bytes cpu/cpu.shares cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us; do "
            "printf '%s=%s\\n' $f $(cat /sys/fs/cgroup/$f); done > $PODFLOW_OUTPUTS/limits; cat $PODFLOW_OUTPUTS/limits")
    steps = f"""
- name: start
  command: [sh, -c, "{read}"]
  resources: {{cpu: "0.5", memory: 300, disk: 200}}
  next: [quantity]
- name: quantity
  command: [sh, -c, "{read}"]
  resources: {{cpu: "250m", memory: "160Mi", disk: "1Gi"}}
  next: [end]
- name: end
  command: ["true"]
  resources: {{cpu: "100m", memory: 64}}
"""
    with OperatorTest("limits") as t:
        t.start_operator("--cpu-limits")
        t.apply(flow_document("limits", steps, run={"flowRef": {"name": "limits"}}))
        t.wait_flowrun("limits", "Succeeded", timeout=240)

        def limits(step):
            text = t.kubectl("logs", f"limits.{step}").stdout
            return dict(line.split("=", 1) for line in text.split() if "=" in line)

        start, quantity = limits("start"), limits("quantity")
        # Metaflow's integer memory is MB (10^6 bytes, as podflow documents): 300 -> 300M, which
        # the kernel rounds down to whole pages (the process node showed the exact value)
        page = os.sysconf("SC_PAGE_SIZE")
        expect(start["memory/memory.limit_in_bytes"] == str(300 * 1000 * 1000 // page * page), f"start: {start}")
        expect(start["cpu/cpu.shares"] == "512", f"cpu 0.5 -> 512 shares: {start}")
        expect(int(start["cpu/cpu.cfs_quota_us"]) * 2 == int(start["cpu/cpu.cfs_period_us"]),
               f"cpu limit 0.5 (--cpu-limits) -> quota = period / 2: {start}")
        expect(quantity["memory/memory.limit_in_bytes"] == str(160 * MiB), f"quantity: {quantity}")
        expect(quantity["cpu/cpu.shares"] == "256", f"cpu 250m -> 256 shares: {quantity}")
        for step, disk in (("start", "200M"), ("quantity", "1Gi")):
            pod = t.get("pod", f"limits.{step}")
            limits_of = pod["spec"]["containers"][0]["resources"]["limits"]
            expect(limits_of.get("ephemeral-storage") == disk, f"{step}: ephemeral-storage {limits_of}")
            expect(pod["spec"]["nodeName"] == t.env["PODFLOW_REAL_NODE_NAMES"], f"{step} ran on {pod['spec']['nodeName']}")


def real_failures():
    """Each failure a real kubelet produces is reported on the Task and the FlowRun in words."""
    missing_image = f"{cluster('PODFLOW_REGISTRY', '127.0.0.1:1')}/podflow-test/no-such-image:1"
    # Small cpu requests: the node has 2 cpus, and the pods waiting for an image that never comes
    # hold theirs. The end steps never run.
    flows = {
        # the kernel's OOM killer: 400 MB of shell variable in a 128 MB container; retried once
        "oom": ("""
- name: start
  command: [sh, -c, "x=$(head -c 400000000 /dev/zero | tr '\\\\0' a); echo ${#x}"]
  resources: {cpu: "100m", memory: 128}
  retry: {times: 1, delaySeconds: 1}
  next: [end]
- name: end
  command: ["true"]
""", "OOMKilled", "raise resources.memory"),
        # the kubelet's activeDeadlineSeconds
        "deadline": ("""
- name: start
  command: [sh, -c, "trap '' TERM; sleep 120"]
  resources: {cpu: "100m"}
  timeoutSeconds: 4
  next: [end]
- name: end
  command: ["true"]
""", ("DeadlineExceeded", "TimedOut"), "timeoutSeconds"),
        # the kubelet's eviction: 300 MB written with 50 MB of disk
        "disk": ("""
- name: start
  command: [sh, -c, "dd if=/dev/zero of=$PODFLOW_OUTPUTS/big bs=1M count=300 && sleep 120"]
  resources: {cpu: "100m", disk: 50}
  next: [end]
- name: end
  command: ["true"]
""", "Evicted", "resources.disk"),
        "noimage": (f"""
- name: start
  command: ["true"]
  resources: {{cpu: "100m"}}
  image: {missing_image}
  next: [end]
- name: end
  command: ["true"]
""", ("ErrImagePull", "ImagePullBackOff"), "no-such-image"),
        # a ServiceAccount without the registry's pull secret
        "nosecret": ("""
- name: start
  command: ["true"]
  resources: {cpu: "100m"}
  serviceAccount: no-pull-secret
  next: [end]
- name: end
  command: ["true"]
""", ("ErrImagePull", "ImagePullBackOff"), "imagePullSecret"),
    }
    with OperatorTest("failures") as t:
        t.kubectl("create", "serviceaccount", "no-pull-secret")
        t.start_operator()
        for name, (steps, _, _) in flows.items():
            t.apply(flow_document(name, steps, run={"flowRef": {"name": name}}))

        # pulls that cannot succeed keep the task Pending with the kubelet's words
        for name in ("noimage", "nosecret"):
            _, reasons, words = flows[name]

            def pull_failed():
                status = task_status(t, f"{name}.start")
                return status if status.get("reason") in reasons else None
            status = t.wait_until(f"{name}: the pull failure on the Task", pull_failed, 120)
            expect(words in status.get("message", ""), f"{name}: {status}")
            run = t.flowrun(name)
            expect(run["status"].get("phase") == "Running", f"{name}: the run waits: {run['status']}")
            expect(any(words in c.get("message", "") for c in run["status"].get("conditions", [])),
                   f"{name}: the FlowRun's conditions say why: {run['status'].get('conditions')}")
        unauthorized = task_status(t, "nosecret.start")["message"]
        expect("401" in unauthorized or "unauthorized" in unauthorized.lower() or "authorization" in unauthorized.lower(),
               f"the missing pull secret shows as the registry's refusal: {unauthorized}")

        for name in ("oom", "deadline", "disk"):
            _, reasons, words = flows[name]
            reasons = (reasons,) if isinstance(reasons, str) else reasons
            run = t.wait_flowrun(name, "Failed", timeout=240)
            status = task_status(t, f"{name}.start")
            expect(status.get("reason") in reasons, f"{name}: reason {status.get('reason')}, expected {reasons}: {status}")
            expect(words in status.get("message", ""), f"{name}: the message names the fix ({words}): {status}")
            failed = t.condition(run, "Failed")
            expect(failed and "step 'start'" in failed["message"], f"{name}: the run names the task: {failed}")
        oom = t.get("task", "oom.start")["status"]
        expect([(r["attempt"], r["failures"]) for r in oom.get("retried", [])] == [(1, 2)],
               f"oom: retried once (retry.times 1), both attempts counted: {oom}")
        events = t.kubectl("get", "events", "--field-selector", "involvedObject.name=oom.start").stdout
        expect("OOMKilled" in events or "out of memory" in events, f"the first OOM kill is an Event:\n{events}")
        evicted = t.get("pod", "disk.start")
        expect(evicted["status"].get("reason") == "Evicted", f"the kubelet evicted the pod: {evicted['status']}")
        deadline = t.get("task", "deadline.start")["status"]
        print(f"     deadline: {deadline['reason']}: {deadline['message'][:160]}")


def wait_until_scheduler_sees_cordon(t, node, timeout=90):
    """Until the scheduler refuses the cordoned node. Its node cache can lag the API server: after
    a test that restarted the API server, its watches come back after their backoff (up to 30 s),
    and in CI a fan-out started then went to the cordoned node. A probe pod that only that node
    could take must be reported Unschedulable; a probe bound to it is deleted and tried again."""
    deadline = time.monotonic() + timeout
    attempt = 0
    while True:
        attempt += 1
        name = f"cordon-probe-{attempt}"
        probe = {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {
                "nodeSelector": {"kubernetes.io/hostname": node},
                "tolerations": [{"operator": "Exists", "key": "podflow.dev/node"}],
                "restartPolicy": "Never",
                "securityContext": {"runAsNonRoot": True, "runAsUser": 65534,
                                    "seccompProfile": {"type": "RuntimeDefault"}},
                "containers": [{
                    "name": "probe", "image": t.env["PODFLOW_TEST_BUSYBOX_IMAGE"], "command": ["true"],
                    "securityContext": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
                }],
            },
        }
        t.apply(json.dumps(probe))
        verdict = None
        while verdict is None and time.monotonic() < deadline:
            pod = t.find("pod", name) or {}
            if pod.get("spec", {}).get("nodeName"):
                verdict = "bound"
            for condition in pod.get("status", {}).get("conditions", []):
                if condition.get("type") == "PodScheduled" and condition.get("reason") == "Unschedulable":
                    verdict = "refused"
            time.sleep(0.5)
        t.kubectl("delete", "pod", name, "--wait=false", check=False)
        if verdict == "refused":
            if attempt > 1:
                print(f"     the scheduler saw the cordon after {attempt} probes")
            return
        if time.monotonic() >= deadline:
            raise TestFailure(f"the scheduler still places pods on cordoned node {node} after {timeout}s")
        time.sleep(2)


def node_lost():
    """The real node's kubelet stops during a fan-out: after the not-ready timeout the node's pods
    are gone for the control plane, their tasks run again on the process node, and the run ends
    with every split's artifact exactly once. The process node is cordoned until the kubelet stops,
    so that the fan-out starts on the real node (ctest runs this test alone)."""
    items = list(range(6))
    steps = f"""
- name: start
  command: [sh, -c, "echo '{json.dumps(items)}' > $PODFLOW_OUTPUTS/items"]
  resources: {{cpu: "100m", memory: 64}}
  foreach: items
  next: [work]
- name: work
  command: [sh, -c, "sleep 20; echo $(cat $PODFLOW_FOREACH_ITEM) > $PODFLOW_OUTPUTS/value"]
  resources: {{cpu: "100m", memory: 64}}
  retry: {{times: 1, delaySeconds: 1}}
  next: [join]
- name: join
  join: true
  command: [sh, -c, "cat $PODFLOW_INPUTS/*/value | sort | tr '\\\\n' ' ' > $PODFLOW_OUTPUTS/all; cat $PODFLOW_OUTPUTS/all"]
  resources: {{cpu: "100m", memory: 64}}
  next: [end]
- name: end
  command: ["true"]
  resources: {{cpu: "100m", memory: 64}}
"""
    node = cluster("PODFLOW_REAL_NODE_NAMES", "real-node-1")
    cluster_dir = cluster("PODFLOW_CLUSTER_DIR", "/tmp/podflow-cluster")
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cluster")
    process_node = cluster("PODFLOW_PROCESS_NODE_NAMES", "process-node-1").split()[0]
    with OperatorTest("nodelost", pin_to_real_node=False) as t:
        # Whatever fails from here on, the process node is uncordoned and the kubelet runs again:
        # the tests after this one need both (a cordon left behind kept helm's operator Pending).
        kubelet_stopped = False
        try:
            t.kubectl("cordon", process_node, namespaced=False)
            wait_until_scheduler_sees_cordon(t, process_node)
            t.start_operator()
            watch = PodWatch(t, "podflow.dev/run=lost")
            t.apply(flow_document("lost", steps, run={"flowRef": {"name": "lost"}}))

            def running_on_real():
                pods = t.items("pods", selector="podflow.dev/step=work")
                return [p for p in pods if p["spec"].get("nodeName") == node and p["status"].get("phase") == "Running"]
            t.wait_until("work pods running on the real node", running_on_real, 180)
            stopped = time.monotonic()
            kubelet_stopped = True
            subprocess.run([os.path.join(here, "node"), "stop", node], check=True,
                           env=dict(os.environ, PODFLOW_CLUSTER_DIR=cluster_dir))
            t.kubectl("uncordon", process_node, namespaced=False)
            run = t.wait_flowrun("lost", "Succeeded", timeout=420)
            took = time.monotonic() - stopped
        finally:
            t.kubectl("uncordon", process_node, namespaced=False, check=False)
            if kubelet_stopped:
                subprocess.run([os.path.join(here, "node"), "start", node], check=True,
                               env=dict(os.environ, PODFLOW_CLUSTER_DIR=cluster_dir))
        watch.stop()
        all_values = t.kubectl("logs", "lost.join").stdout.split()
        expect(sorted(all_values) == sorted(str(i) for i in items), f"every split exactly once: {all_values}")
        work = t.get("task", "lost.work")["status"]
        retried = work.get("retried", [])
        expect(retried, f"a task of the lost node ran again: {work}")
        for entry in retried:
            # Lost with the node: run again, not counted against retry.times.
            expect(entry["failures"] == 0 and entry["disruptions"] >= 1 and entry["reason"] == "NodeLost",
                   f"split {entry['index']}: {entry}")
            pod = t.get("pod", f"lost.work.{entry['index']}")
            expect(pod["spec"].get("nodeName") == process_node, f"split {entry['index']} ran again on {pod['spec'].get('nodeName')}")
            print(f"     lost.work.{entry['index']}: attempt {entry['attempt']} on {pod['spec'].get('nodeName')}")
        events = t.kubectl("get", "events", "--field-selector", "reason=NodeLost").stdout
        expect(f"node {node} stopped reporting" in events, f"the lost attempts are Events with the reason:\n{events}")
        expect(run["status"]["tasks"]["succeeded"] == len(items) + 3, f"tasks: {run['status']['tasks']}")
        print(f"     the run finished {took:.0f}s after the kubelet stopped")


# Python steps for any_image: a branch (left, right), a foreach in left, two joins, artifacts
# inherited through all of them. The end prints "right:70" (1+4+9+16 and 10 per square).
_PY = ("import os,json;I=os.environ['PODFLOW_INPUTS'];O=os.environ['PODFLOW_OUTPUTS'];"
       "T=open(os.environ['PODFLOW_INPUT_TASKS']).read().split();")
ANY_IMAGE_STEPS = {
    "start": ("open(O+'/base','w').write('10')", "next: [left, right]"),
    "left": ("open(O+'/items','w').write(json.dumps([1,2,3,4]))", "foreach: items\nnext: [square]"),
    "square": ("x=json.load(open(os.environ['PODFLOW_FOREACH_ITEM']));b=int(open(I+'/base').read());"
               "open(O+'/sq','w').write(str(x*x+b))", "next: [gather]"),
    "gather": ("open(O+'/total','w').write(str(sum(int(open(I+'/'+t+'/sq').read()) for t in T)))",
               "join: true\nnext: [merge]"),
    "right": ("open(O+'/word','w').write('right')", "next: [merge]"),
    "merge": ("d={t.split('.')[0]:t for t in T};open(O+'/result','w').write("
              "open(I+'/'+d['right']+'/word').read()+':'+open(I+'/'+d['gather']+'/total').read())",
              "join: true\nnext: [end]"),
    "end": ("print(open(I+'/result').read())", ""),
}


def any_image_flow(name):
    steps = ""
    for step, (code, extra) in ANY_IMAGE_STEPS.items():
        steps += f"- name: {step}\n  command: [python3, -c, {json.dumps(_PY + code)}]\n"
        steps += "".join(f"  {line}\n" for line in extra.split("\n") if line)
    return flow_document(name, steps, spec_extra='  defaults:\n    resources: {cpu: "100m", memory: 128}\n')


def any_image():
    """A step's image needs nothing of podflow: the seeds' `podflow run FLOW --with
    kubernetes:image=<image>` runs a flow with a branch, a foreach and joins in a Debian image with
    python3 only (USER a name without a home), its artifacts sha256 by sha256 those of a local run;
    podflow's own image (no shell) runs examples/bigsum; a step whose program the image lacks fails
    naming the program and the image. Every task pod gets podflow-runtime from the init container,
    in a namespace enforcing Pod Security "restricted"."""
    with OperatorTest("anyimage") as t:
        t.start_operator()
        python_image = t.env["PODFLOW_TEST_PYTHON_IMAGE"]
        busybox_image = t.env["PODFLOW_TEST_BUSYBOX_IMAGE"]
        podflow_image = t.env["PODFLOW_IMAGE"]

        def podflow(*args, timeout=300):
            return subprocess.run([PODFLOW] + list(args), capture_output=True, text=True, env=t.env,
                                  cwd=t.dir, timeout=timeout)

        text = any_image_flow("anyimage")
        with open(os.path.join(t.dir, "flow.yaml"), "w") as f:
            f.write(text)
        result = podflow("run", "flow.yaml", "--with", f"kubernetes:namespace={t.ns},image={python_image}")
        expect(result.returncode == 0, f"podflow run --with kubernetes:image=... exited {result.returncode}:\n"
               f"{result.stderr[-3000:]}\n{t.operators[0].log_tail()}")
        run = t.items("flowruns")[0]
        name = run["metadata"]["name"]
        logs = t.kubectl("logs", f"{name}.end").stdout
        expect(logs.strip() == "right:70", f"the end step printed {logs!r}, expected 'right:70'")
        remote = s3_manifests(t, "anyimage", run["status"]["runId"])
        local = local_manifests("anyimage", text)
        expect(len(local) == 10 and remote == local,
               f"artifacts differ from a local run\n cluster: {remote}\n local: {local}")
        for pod in t.items("pods", selector=f"podflow.dev/run={name}"):
            init = pod["spec"].get("initContainers", [])
            expect([c["image"] for c in init] == [podflow_image] and
                   pod["spec"]["containers"][0]["image"] == python_image,
                   f"pod {pod['metadata']['name']}: init {init}, containers {pod['spec']['containers']}")

        # podflow's own image, which has no shell: its bigsum runs as the step.
        bigsum = os.path.join(os.environ.get("PODFLOW_SOURCE_DIR", os.path.join(os.path.dirname(
            os.path.abspath(__file__)), "..", "..")), "examples", "bigsum", "flow.yaml")
        result = podflow("run", bigsum, "--param", "size=300", "--with",
                         f"kubernetes:namespace={t.ns},image={podflow_image},cpu=0.2,memory=256")
        expect(result.returncode == 0, f"bigsum in podflow's image exited {result.returncode}:\n{result.stderr[-3000:]}")
        bigsum_run = [r for r in t.items("flowruns") if r["metadata"]["name"] != name][0]["metadata"]["name"]
        logs = t.kubectl("logs", f"{bigsum_run}.end").stdout
        expect("The sum is " in logs, f"bigsum's end step in podflow's image printed {logs!r}")

        # The image lacks the step's program: the task fails saying which program and which image.
        t.apply(flow_document("noprogram", f"- name: start\n  command: [python3, -c, 'print(1)']\n"
                              f"  image: {busybox_image}\n  resources: {{cpu: 100m, memory: 64}}\n"
                              f"  next: [end]\n- name: end\n  command: ['true']",
                              run={"flowRef": {"name": "noprogram"}}))
        t.wait_flowrun("noprogram", "Failed", timeout=180)
        message = task_status(t, "noprogram.start").get("message", "")
        expect(f"cannot run the step's program 'python3' in the image '{busybox_image}': it is not on PATH"
               in message, f"the Task's message: {message!r}")


def pod_options():
    """Metaflow's other @kubernetes options on a real kubelet, read from inside the step: a
    PersistentVolumeClaim (a PV of the test's own) readable and writable at its path, /dev/shm of
    the asked size, a tmpfs at its path with TMPDIR there, qos Guaranteed (the pod's qosClass), a
    container port and a PriorityClass (the pod's priority); and the same options given as the
    seeds' --with kubernetes:... (Metaflow's names)."""
    with OperatorTest("podoptions") as t:
        t.start_operator()
        suffix = f"{random.randrange(10**8)}"
        priority = f"podflow-test-low-{suffix}"
        pv = f"podflow-test-{suffix}"
        host_dir = tempfile.mkdtemp(prefix="podflow-pv-")
        os.chmod(host_dir, 0o777)
        with open(os.path.join(host_dir, "hello"), "w") as f:
            f.write("from the volume")
        try:
            t.apply(f"""apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {{name: {priority}}}
value: 17
description: podflow's pod_options test
---
apiVersion: v1
kind: PersistentVolume
metadata: {{name: {pv}}}
spec:
  capacity: {{storage: 10Mi}}
  accessModes: [ReadWriteOnce]
  storageClassName: podflow-test-manual
  persistentVolumeReclaimPolicy: Retain
  hostPath: {{path: {host_dir}, type: Directory}}
  claimRef: {{namespace: {t.ns}, name: data}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {{name: data}}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: podflow-test-manual
  volumeName: {pv}
  resources: {{requests: {{storage: 10Mi}}}}
""")
            check = ("cat /data/hello; echo; echo written-by-the-step > /data/from-step; "
                     "df -k /dev/shm | tail -1 | tr -s ' ' | cut -d' ' -f2; "
                     "grep ' /scratch ' /proc/mounts | cut -d' ' -f3; echo $TMPDIR")
            steps = f"""
- name: start
  command: [sh, -c, "{check}"]
  resources: {{cpu: 100m, memory: 256}}
  persistentVolumeClaims: {{data: /data}}
  sharedMemory: 64
  tmpfs: {{size: 32, path: /scratch}}
  qos: Guaranteed
  port: 8080
  priorityClassName: {priority}
  next: [end]
- name: end
  command: ["true"]
  resources: {{cpu: 100m, memory: 64}}
"""
            t.apply(flow_document("options", steps, run={"flowRef": {"name": "options"}}))
            t.wait_flowrun("options", "Succeeded", timeout=240)
            lines = t.kubectl("logs", "options.start").stdout.split("\n")
            expect(lines[0] == "from the volume", f"the claim's file at /data: {lines}")
            expect(lines[1] == str(64 * 1000 * 1000 // 1024), f"/dev/shm's size in KiB: {lines}")
            expect(lines[2] == "tmpfs" and lines[3] == "/scratch", f"tmpfs at /scratch and TMPDIR: {lines}")
            with open(os.path.join(host_dir, "from-step")) as f:
                expect(f.read() == "written-by-the-step\n", "the step wrote into the volume")
            pod = t.get("pod", "options.start")
            expect(pod["status"]["qosClass"] == "Guaranteed", f"qosClass {pod['status']['qosClass']}")
            expect(pod["spec"]["priorityClassName"] == priority and pod["spec"]["priority"] == 17,
                   f"priority {pod['spec'].get('priorityClassName')} {pod['spec'].get('priority')}")
            expect(pod["spec"]["containers"][0]["ports"] == [{"containerPort": 8080, "protocol": "TCP"}],
                   f"ports {pod['spec']['containers'][0].get('ports')}")

            # The seeds' form: the same options on the command line, Metaflow's names.
            with open(os.path.join(t.dir, "plain.yaml"), "w") as f:
                f.write(flow_document("plain", '- name: start\n  command: [sh, -c, "echo $TMPDIR"]\n'
                                      '  resources: {cpu: 100m, memory: 128}\n  next: [end]\n'
                                      '- name: end\n  command: ["true"]\n  resources: {cpu: 100m, memory: 64}'))
            result = subprocess.run(
                [PODFLOW, "run", "plain.yaml", "--with",
                 f"kubernetes:namespace={t.ns},qos=Guaranteed,port=9090,shared_memory=16,use_tmpfs=true,"
                 f"tmpfs_path=/fast,persistent_volume_claims=data:/data"],
                capture_output=True, text=True, env=t.env, cwd=t.dir, timeout=300)
            expect(result.returncode == 0, f"podflow run --with kubernetes:qos=...: {result.stderr[-2000:]}")
            run = [r for r in t.items("flowruns") if r["metadata"]["name"] != "options"][0]["metadata"]["name"]
            pod = t.get("pod", f"{run}.start")
            mounts = {m["mountPath"] for m in pod["spec"]["containers"][0]["volumeMounts"]}
            expect(pod["status"]["qosClass"] == "Guaranteed" and {"/data", "/dev/shm", "/fast"} <= mounts and
                   pod["spec"]["containers"][0]["ports"][0]["containerPort"] == 9090,
                   f"--with kubernetes options on the pod: qos {pod['status']['qosClass']}, mounts {mounts}")
            expect(t.kubectl("logs", f"{run}.start").stdout.strip() == "/fast", "TMPDIR from --with use_tmpfs")
        finally:
            t.kubectl("delete", "priorityclass", priority, "--ignore-not-found", namespaced=False, check=False)
            t.kubectl("delete", "pv", pv, "--ignore-not-found", "--wait=false", namespaced=False, check=False)
            shutil.rmtree(host_dir, ignore_errors=True)



def hybrid_flow(name, cluster_steps, extra=None):
    """ANY_IMAGE_STEPS with `runOn: Kubernetes` on `cluster_steps`; every step prints where it ran
    (a pod's hostname is its name), `gather` fails its first attempt (one retry), and `merge` fails
    while FAIL_MERGE=1 is in its environment."""
    steps = ""
    for step, (code, more) in ANY_IMAGE_STEPS.items():
        code = "import socket;print('ran on',socket.gethostname());" + code
        if step == "merge":
            code = "assert os.environ.get('FAIL_MERGE')!='1','asked to fail';" + code
        if step == "gather":  # its first attempt fails: the retry's pod has the same name
            code = "assert os.environ['PODFLOW_ATTEMPT']!='0','first attempt';" + code
            more += "\nretry: {times: 1, delaySeconds: 0}"
        steps += f"- name: {step}\n  command: [python3, -c, {json.dumps(_PY + code)}]\n"
        steps += "".join(f"  {line}\n" for line in more.split("\n") if line)
        if step in cluster_steps:
            steps += "  runOn: Kubernetes\n"
    return flow_document(name, steps, spec_extra='  defaults:\n    resources: {cpu: "100m", memory: 128}\n')


def hybrid():
    """Some steps here, some on the cluster (issue 22): `podflow run FLOW` runs start, right, merge
    and end as local processes and left, its foreach and their join as pods on the real node,
    created by podflow itself with the user's kubeconfig (no operator runs), a failed attempt retried
    in a new pod of the same name; artifacts pass through
    S3 and match an all-local run sha256 by sha256; the pods' output is shown; a failed local step
    and `podflow resume` reuse the cluster's tasks without a new pod. Then Ctrl-C while a pod runs,
    another cannot be scheduled (its reason shown, and it asks for more than this machine has,
    which a cluster step may) and a local step sleeps: podflow exits 130 leaving no pod and no
    process."""
    with OperatorTest("hybrid") as t:
        env = dict(t.env,
                   PODFLOW_KUBERNETES_NAMESPACE=t.ns,
                   PODFLOW_KUBERNETES_CONTAINER_IMAGE=t.env["PODFLOW_TEST_PYTHON_IMAGE"],
                   PODFLOW_KUBERNETES_RUNTIME_IMAGE=t.env["PODFLOW_IMAGE"],
                   PODFLOW_KUBERNETES_S3_ENDPOINT=t.env["PODFLOW_S3_ENDPOINT_FOR_PODS"],
                   PODFLOW_KUBERNETES_S3_CREDENTIALS_SECRET="podflow-s3",
                   AWS_REGION="us-east-1")
        datastore = f"s3://{t.env['PODFLOW_S3_BUCKET']}/{t.ns}"
        cluster_steps = {"left", "square", "gather"}
        text = hybrid_flow("hybrid", cluster_steps)
        with open(os.path.join(t.dir, "flow.yaml"), "w") as f:
            f.write(text)

        def podflow(*args, extra_env=None, timeout=300):
            return subprocess.run([PODFLOW] + list(args), capture_output=True, text=True,
                                  env=dict(env, **(extra_env or {})), cwd=t.dir, timeout=timeout)

        watch = PodWatch(t, "app.kubernetes.io/managed-by=podflow")
        failed = podflow("run", "flow.yaml", "--datastore", datastore, extra_env={"FAIL_MERGE": "1"})
        expect(failed.returncode == 1 and "asked to fail" in failed.stderr,
               f"the first run should fail in merge; exit {failed.returncode}:\n{failed.stderr[-3000:]}")
        first = failed.stdout.strip()
        pods_first = set(name for name, _ in watch.pods.values())
        run_name = f"hybrid-{first}"
        expected = {f"{run_name}.left", f"{run_name}.gather"} | {f"{run_name}.square.{i}" for i in range(4)}
        expect(pods_first == expected, f"pods of the first run: {sorted(pods_first)}, expected {sorted(expected)}")
        expect(f"see the whole log with `podflow logs {first}/gather/gather`" in failed.stderr,
               f"the failed attempt's message points at the datastore's log (the pod is gone):\n{failed.stderr[-3000:]}")
        gather_attempts = sorted(attempt for name, attempt in watch.pods.values() if name == f"{run_name}.gather")
        expect(gather_attempts == ["0", "1"], f"gather's pods by attempt: {gather_attempts} (a retry is a new pod)")
        for task in ("square.2", "gather"):
            expect(f"[{first}/{task}] ran on {run_name}.{task}" in failed.stderr,
                   f"the output of the pod of {task} is not shown:\n{failed.stderr[-3000:]}")
        host = subprocess.run(["hostname"], capture_output=True, text=True).stdout.strip()
        expect(f"[{first}/start] ran on {host}" in failed.stderr, f"start did not run here:\n{failed.stderr[-3000:]}")
        left = t.kubectl("get", "pods", "-l", "app.kubernetes.io/managed-by=podflow", "-o", "name").stdout
        expect(left.strip() == "", f"pods left after the run: {left}")

        resumed = podflow("resume", first, "--datastore", datastore)
        expect(resumed.returncode == 0, f"podflow resume exited {resumed.returncode}:\n{resumed.stderr[-3000:]}")
        expect("reusing 8 successful task(s)" in resumed.stderr, f"resume:\n{resumed.stderr[-3000:]}")
        second = resumed.stdout.strip()
        watch.stop()
        new_pods = set(name for name, _ in watch.pods.values()) - pods_first
        expect(not new_pods, f"resume made pods for tasks it should reuse: {sorted(new_pods)}")
        logs = podflow("logs", f"{second}/end", "--datastore", datastore)
        expect("right:70" in logs.stdout, f"podflow logs {second}/end: {logs.stdout!r} {logs.stderr!r}")
        logs = podflow("logs", f"{first}/square/square.3", "--datastore", datastore)
        expect(f"ran on {run_name}.square.3" in logs.stdout, f"podflow logs of a pod's task: {logs.stdout!r} {logs.stderr!r}")
        remote = s3_manifests(t, "hybrid", second)
        plain = "".join(line + "\n" for line in text.split("\n") if "runOn:" not in line)
        local = local_manifests("hybrid", plain)
        expect(len(local) == 10 and remote == local,
               f"artifacts differ from an all-local run\n hybrid: {remote}\n local: {local}")

        # Ctrl-C with a pod running, a pod the scheduler cannot place, and a local step sleeping.
        nap = "2718.28"  # a sleep length no other process on the machine uses
        stop_steps = f"""
- name: start
  command: ["true"]
  next: [slow, huge, nap]
- name: slow
  command: [sh, -c, "echo slow started; exec sleep 617"]
  runOn: Kubernetes
  next: [join]
- name: huge
  command: ["true"]
  runOn: Kubernetes
  resources: {{cpu: 64, memory: 128}}
  next: [join]
- name: nap
  command: [sleep, "{nap}"]
  next: [join]
- name: join
  command: ["true"]
  join: true
  next: [end]
- name: end
  command: ["true"]
"""
        with open(os.path.join(t.dir, "stop.yaml"), "w") as f:
            f.write(flow_document("hybridstop", stop_steps,
                                  spec_extra='  defaults:\n    resources: {cpu: "100m", memory: 64}\n'))
        err_path = os.path.join(t.dir, "stop.stderr")
        with open(err_path, "w") as err:
            process = subprocess.Popen([PODFLOW, "run", "stop.yaml", "--datastore", datastore],
                                       stdout=subprocess.PIPE, stderr=err, text=True, env=env, cwd=t.dir)

        def stderr_text():
            with open(err_path) as f:
                return f.read()

        def naps():
            return subprocess.run(["pgrep", "-f", f"sleep {nap}"], capture_output=True, text=True).stdout.split()

        def slow_running():
            pods = t.items("pods", selector="app.kubernetes.io/managed-by=podflow,podflow.dev/step=slow")
            return any(p.get("status", {}).get("phase") == "Running" for p in pods)

        try:
            t.wait_until("huge's pod reported unschedulable with the reason",
                         lambda: "is pending: Unschedulable" in stderr_text(), 120)
            t.wait_until("slow's pod to run", slow_running, 120)
            t.wait_until("the local nap step to run", lambda: naps(), 60)
        except Exception:
            process.kill()
            raise
        text = stderr_text()
        stop_run = text.split("podflow: run ")[1].split(" ")[0]
        # While it runs, `podflow logs` shows the pod's output, live.
        t.wait_until("podflow logs to show the running pod's output", lambda: "slow started" in podflow(
            "logs", f"{stop_run}/slow", "--datastore", datastore).stdout, 30)
        expect("cpu" in text.split("is pending: Unschedulable")[1].split("\n")[0],
               f"the unschedulable message names what the step asked for:\n{text[-2000:]}")
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            raise TestFailure(f"podflow did not exit within 120 s of Ctrl-C:\n{stderr_text()[-3000:]}")
        expect(process.returncode == 130, f"exit {process.returncode} after Ctrl-C:\n{stderr_text()[-3000:]}")
        left = t.kubectl("get", "pods", "-l", "app.kubernetes.io/managed-by=podflow", "-o", "name").stdout
        expect(left.strip() == "", f"pods left after Ctrl-C: {left}")
        expect(not naps(), f"local processes left after Ctrl-C: {naps()}")

if __name__ == "__main__":
    main([limits_from_cgroups, real_failures, any_image, pod_options, hybrid, node_lost])
