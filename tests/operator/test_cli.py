"""`podflow run FLOW --with kubernetes` as a person types it: it applies the Flow, creates a
FlowRun labelled with the kubeconfig's user, follows it to the end with progress and the run id,
honours --max-workers and --max-num-splits; Ctrl-C deletes the FlowRun and its pods; --detach
returns at once; a wrong --with is refused before anything is created."""
import os
import signal
import subprocess
import time

from operator_harness import SOURCE, OperatorTest, expect, main

PODFLOW = os.path.join(os.environ.get("PODFLOW_BIN", os.path.join(SOURCE, "build", "bin")), "podflow")


def podflow(t, *args, timeout=300):
    return subprocess.run([PODFLOW] + list(args), capture_output=True, text=True, env=t.env, cwd=SOURCE,
                          timeout=timeout)


def fanout_with_kubernetes():
    with OperatorTest("cli") as t:
        t.start_operator()
        # 200 of the example's 1000 items keep the test short on a 2-core machine; the flags are
        # the ones a person types for the full run.
        result = podflow(t, "run", "examples/fanout/flow.yaml", f"--with", f"kubernetes:namespace={t.ns},cpu=1",
                         "--max-workers", "4", "--max-num-splits", "1000", "--param", "count=200")
        expect(result.returncode == 0, f"podflow run --with kubernetes exited {result.returncode}:\n{result.stderr}")
        run_id = result.stdout.strip()
        expect(run_id.startswith("fanout-"), f"the run id on stdout: {result.stdout!r}")
        expect("Succeeded: 203/203 tasks done" in result.stderr, f"the progress lines:\n{result.stderr[-3000:]}")
        runs = t.items("flowruns")
        expect(len(runs) == 1, f"{len(runs)} FlowRuns")
        run = runs[0]
        expect(run["spec"]["maxWorkers"] == 4 and run["spec"]["maxNumSplits"] == 1000, f"spec {run['spec']}")
        expect(run["spec"]["overrides"] == {"namespace": t.ns, "resources": {"cpu": 1}}, f"overrides {run['spec']}")
        user = run["metadata"].get("annotations", {}).get("podflow.dev/user", "")
        expect(user not in ("", "unknown") and run["metadata"]["labels"].get("podflow.dev/user"),
               f"the kubeconfig's user is recorded as annotation and label: {run['metadata']}")
        pod = t.get("pod", f"{run['metadata']['name']}.square.7")
        expect(pod["spec"]["containers"][0]["resources"]["requests"]["cpu"] == "1",
               "--with kubernetes:cpu=1 raised the steps' 100m to 1 core")
        name = run["metadata"]["name"]
        logs = t.kubectl("logs", f"{name}.end").stdout
        expect("2646700" in logs, f"the end step's output (the sum of the squares of 0..199): {logs}")

        # The seeds' `logs 15/end`, `list`, and logs once the pods are gone (from S3).
        listing = podflow(t, "list", "--kubernetes", "-n", t.ns)
        expect(name in listing.stdout and "Succeeded" in listing.stdout and "203/203" in listing.stdout,
               f"podflow list --kubernetes:\n{listing.stdout}{listing.stderr}")
        # Per-step progress, a row per step: the 200 splits are one Task and one row.
        status = podflow(t, "status", name, "-n", t.ns)
        rows = {line.split()[0]: line.split()[1:] for line in status.stdout.splitlines()[3:] if line.strip()}
        expect(status.returncode == 0 and "Succeeded" in status.stdout and rows.get("square", [""])[0] == "200/200"
               and rows.get("start", [""])[0] == "1/1", f"podflow status RUN:\n{status.stdout}{status.stderr}")
        steps = podflow(t, "list", name, "-n", t.ns)
        expect(steps.returncode == 0 and f"{name}.square " in steps.stdout and "200/200" in steps.stdout
               and len(steps.stdout.splitlines()) == 5, f"podflow list RUN (a row per Task):\n{steps.stdout}{steps.stderr}")
        printed = t.kubectl("get", "tasks").stdout
        expect("COMPLETIONS" in printed and "200/200" in printed, f"kubectl get tasks:\n{printed}")
        selected = t.items("pods", f"podflow.dev/run={name},podflow.dev/step=square,podflow.dev/split=7")
        expect([p["metadata"]["name"] for p in selected] == [f"{name}.square.7"],
               f"a split's pod by its labels: {[p['metadata']['name'] for p in selected]}")
        mine = podflow(t, "list", "--my-runs", "-n", t.ns)
        expect(name in mine.stdout, f"podflow list --my-runs:\n{mine.stdout}{mine.stderr}")
        others = podflow(t, "list", "--user", "somebody-else", "-n", t.ns)
        expect(name not in others.stdout, f"podflow list --user somebody-else:\n{others.stdout}")
        t.kubectl("delete", "pods", "--all", "--wait=true", timeout=180)
        logs = podflow(t, "logs", f"{name}/end", "-n", t.ns)
        expect(logs.returncode == 0 and "2646700" in logs.stdout,
               f"podflow logs after the pods are gone:\n{logs.stdout}{logs.stderr}")
        split = podflow(t, "logs", f"{name}/square/square.7", "-n", t.ns)
        expect(split.returncode == 0, f"podflow logs of one split: {split.stderr}")


def interrupt_and_detach():
    with OperatorTest("cli-interrupt") as t:
        t.start_operator()
        flow = os.path.join(t.dir, "sleepy.yaml")
        with open(flow, "w") as f:
            f.write("apiVersion: podflow.dev/v1alpha1\nkind: Flow\nmetadata:\n  name: sleepy\nspec:\n  steps:\n"
                    "  - name: start\n    command: [sleep, '300']\n    next: [end]\n"
                    "  - name: end\n    command: ['true']\n")
        process = subprocess.Popen([PODFLOW, "run", flow, "--with", f"kubernetes:namespace={t.ns}"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=t.env)
        t.wait_until("the start pod to run", lambda: any(
            p["status"].get("phase") == "Running" for p in t.items("pods")), 90)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
        expect(process.returncode == 130, f"Ctrl-C exit code {process.returncode}:\n{err}")
        expect("deleting FlowRun" in err, f"it says what it does:\n{err}")
        t.wait_until("the FlowRun and its pods to be gone",
                     lambda: not t.items("flowruns") and not t.items("pods") and not t.items("tasks"), 60)

        result = podflow(t, "run", flow, "--with", f"kubernetes:namespace={t.ns}", "--detach", timeout=60)
        expect(result.returncode == 0 and result.stdout.strip().startswith("sleepy-"),
               f"--detach: {result.returncode} {result.stdout} {result.stderr}")
        detached = result.stdout.strip()
        expect(t.find("flowrun", detached) is not None, "the detached FlowRun exists")
        t.wait_until("the detached run's pod to run", lambda: any(
            p["status"].get("phase") == "Running" for p in t.items("pods")), 90)
        killed = podflow(t, "kill", "--my-runs", "-n", t.ns, timeout=60)
        expect(killed.returncode == 0 and detached in killed.stdout, f"podflow kill --my-runs: {killed.stdout}{killed.stderr}")
        t.wait_until("the killed run's pods to be gone", lambda: not t.items("pods") and not t.items("flowruns"), 60)
        result = podflow(t, "run", flow, "--with", f"kubernetes:namespace={t.ns}", "--detach", timeout=60)
        expect(result.returncode == 0, f"--detach again: {result.stderr}")

        result = podflow(t, "run", flow, "--with", "kubernetes:cpus=4", timeout=60)
        expect(result.returncode == 2 and "unknown setting 'cpus'" in result.stderr,
               f"a wrong --with: {result.returncode} {result.stderr}")
        result = podflow(t, "run", flow, "--with", f"kubernetes:namespace={t.ns},memory=lots", timeout=60)
        expect(result.returncode == 1 and "memory" in result.stderr, f"a bad memory value: {result.stderr}")
        expect(len(t.items("flowruns")) == 1, "nothing was created for the refused runs")


def kill_and_list_as_the_seeds_say():
    """`podflow kill flow.yaml` stops the latest unfinished run of that flow only, as `batch kill`;
    `--run-id` must be a run of that flow; `--my-runs` with a flow file takes only that flow's
    runs; `podflow list RUN` lists its tasks; `list --kubernetes --flow` filters; every step
    setting can be given in --with kubernetes:..., node selectors, tolerations, labels and
    annotations included."""
    with OperatorTest("cli-kill") as t:
        t.start_operator()

        def write(name, first):
            path = os.path.join(t.dir, f"{name}.yaml")
            with open(path, "w") as f:
                f.write(f"apiVersion: podflow.dev/v1alpha1\nkind: Flow\nmetadata:\n  name: {name}\nspec:\n"
                        f"  steps:\n  - name: start\n    command: {first}\n    next: [end]\n"
                        "  - name: end\n    command: ['true']\n")
            return path

        slow, other = write("slow", "[sleep, '300']"), write("other", "[sleep, '300']")

        def detach(flow, extra=""):
            result = podflow(t, "run", flow, "--with", f"kubernetes:namespace={t.ns}{extra}", "--detach",
                             timeout=60)
            expect(result.returncode == 0, f"--detach {flow}: {result.stderr}")
            return result.stdout.strip()

        older = detach(slow)
        time.sleep(1.1)  # creationTimestamp has whole seconds: the next run is newer
        newer = detach(slow)
        third = detach(other)
        listing = podflow(t, "list", "--kubernetes", "-n", t.ns, "--flow", "slow")
        expect(older in listing.stdout and newer in listing.stdout and third not in listing.stdout,
               f"list --kubernetes --flow slow:\n{listing.stdout}{listing.stderr}")
        t.wait_until("the newer run's start task", lambda: t.find("task", f"{newer}.start") is not None, 60)
        tasks = podflow(t, "list", newer, "-n", t.ns)
        expect(tasks.returncode == 0 and "start" in tasks.stdout and "STATE" in tasks.stdout,
               f"podflow list RUN:\n{tasks.stdout}{tasks.stderr}")

        wrong = podflow(t, "kill", slow, "--run-id", third, "-n", t.ns)
        expect(wrong.returncode == 1 and "is of flow 'other'" in wrong.stderr and t.find("flowrun", third),
               f"kill slow.yaml --run-id <a run of other>: {wrong.returncode} {wrong.stderr}")
        latest = podflow(t, "kill", slow, "-n", t.ns)
        expect(latest.returncode == 0 and newer in latest.stdout and older not in latest.stdout,
               f"podflow kill slow.yaml: {latest.stdout}{latest.stderr}")
        t.wait_until("the newer run to be gone", lambda: t.find("flowrun", newer) is None, 60)
        expect(t.find("flowrun", older) is not None and t.find("flowrun", third) is not None,
               "kill flow.yaml left the older run and the other flow's run")
        mine = podflow(t, "kill", slow, "--my-runs", "-n", t.ns)
        expect(mine.returncode == 0 and older in mine.stdout and third not in mine.stdout,
               f"podflow kill slow.yaml --my-runs: {mine.stdout}{mine.stderr}")
        t.wait_until("the older run to be gone", lambda: t.find("flowrun", older) is None, 60)
        expect(t.find("flowrun", third) is not None, "the other flow's run is untouched")
        podflow(t, "kill", third, "-n", t.ns)

        quick = write("quick", "['true']")
        placed = detach(quick, ",node_selector=type=process,tolerations=gpu:NoSchedule;dedicated=ml:NoExecute,"
                        "labels=team=ml,annotations=owner=ana@example.com")
        t.wait_flowrun(placed, "Succeeded", timeout=120)
        pod = t.get("pod", f"{placed}.start")
        expect(pod["spec"].get("nodeSelector") == {"type": "process"}, f"nodeSelector {pod['spec'].get('nodeSelector')}")
        tolerations = [x for x in pod["spec"].get("tolerations", []) if x["key"] in ("gpu", "dedicated")]
        expect(tolerations == [{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"},
                               {"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoExecute"}],
               f"tolerations {pod['spec'].get('tolerations')}")
        expect(pod["metadata"]["labels"].get("team") == "ml" and
               pod["metadata"].get("annotations", {}).get("owner") == "ana@example.com",
               f"labels/annotations {pod['metadata']}")


if __name__ == "__main__":
    main([fanout_with_kubernetes, interrupt_and_detach, kill_and_list_as_the_seeds_say])
