"""`podflow resume RUN --with kubernetes` and spec.resumeFrom: a foreach whose split 2 fails
(after the other splits committed, so what is reused is known); the resumed run reuses every task
the first run committed (no Task, no pod for them) and runs only the failed split and what follows
it, with complete artifacts at `end`. The Metaflow way (fix the flow file, resume with --flow)
through the CLI; the kubectl way (a FlowRun with spec.resumeFrom) across an operator restart; and
the errors: a run id with nothing in the datastore, a run that never started, a flow file of
another flow."""
import json
import os
import subprocess

from operator_harness import SOURCE, OperatorTest, expect, main, member_ids

PODFLOW = os.path.join(os.environ.get("PODFLOW_BIN", os.path.join(SOURCE, "build", "bin")), "podflow")
ITEMS = [1, 2, 3, 4, 5]  # split 2 (the item 3) fails the first time
WORK_TASKS = [f"work.{i}" for i in range(len(ITEMS))]


def podflow(t, *args, timeout=300):
    return subprocess.run([PODFLOW] + list(args), capture_output=True, text=True, env=t.env, cwd=SOURCE,
                          timeout=timeout)


def flow_text(name, work_script):
    """start (a foreach over ITEMS) -> work (writes square) -> join (count and sum) -> end."""
    def command(script):
        return json.dumps(["sh", "-c", script])
    steps = [
        ("start", command(f"echo '{json.dumps(ITEMS)}' > $PODFLOW_OUTPUTS/items"), "  foreach: items\n  next: [work]\n"),
        ("work", command(work_script), "  next: [join]\n"),
        ("join", command('for t in $(cat $PODFLOW_INPUT_TASKS); do cat $PODFLOW_INPUTS/$t/square; done'
                         ' | awk \'{s += $1; n += 1} END {print n, s}\' > $PODFLOW_OUTPUTS/total'),
         "  join: true\n  next: [end]\n"),
        ("end", command('echo "total: $(cat $PODFLOW_INPUTS/total)"'), ""),
    ]
    text = (f"apiVersion: podflow.dev/v1alpha1\nkind: Flow\nmetadata:\n  name: {name}\nspec:\n"
            "  defaults:\n    resources: {cpu: \"100m\", memory: 64}\n  steps:\n")
    for step, cmd, extra in steps:
        text += f"  - name: {step}\n    command: {cmd}\n" + "".join("  " + line + "\n" for line in extra.splitlines())
    return text


SQUARE = 'v=$(cat $PODFLOW_FOREACH_ITEM); echo $((v * v)) > $PODFLOW_OUTPUTS/square'


def run_tasks(t, run):
    """The tasks the run's Tasks record as ended."""
    return sorted(id_ for task in t.items("tasks", f"podflow.dev/run={run}") for id_ in member_ids(task))


def run_pods(t, run):
    return sorted(pod["metadata"]["labels"]["podflow.dev/task"] for pod in t.items("pods", f"podflow.dev/run={run}"))


def check_resumed(t, name, origin_run_id, origin_run_tasks):
    """The resumed FlowRun `name` ran only split 2, join and end; its status counts the rest."""
    run = t.flowrun(name)
    expect(run["spec"]["resumeFrom"] == origin_run_id, f"spec.resumeFrom: {run['spec']}")
    tasks = run["status"]["tasks"]
    expect(tasks == {"total": 8, "pending": 0, "running": 0, "succeeded": 8, "failed": 0, "cloned": 5},
           f"status.tasks of the resumed run: {tasks}")
    resumed = t.condition(run, "Resumed")
    expect(resumed and resumed["status"] == "True" and f"reused 5 successful task(s) of run {origin_run_id}"
           == resumed["message"], f"the Resumed condition: {resumed}")
    expect(run_tasks(t, name) == ["end", "join", "work.2"],
           f"only the failed split and what follows it ran again: Tasks {run_tasks(t, name)}")
    expect(run_pods(t, name) == ["end", "join", "work.2"], f"pods of the resumed run: {run_pods(t, name)}")
    expect(origin_run_tasks == sorted(["start"] + WORK_TASKS), f"the first run's Tasks: {origin_run_tasks}")
    logs = t.kubectl("logs", f"{name}.end").stdout
    expect("total: 5 55" in logs, f"end sees all 5 squares (1+4+9+16+25), 2 of them cloned splits': {logs!r}")


def resume_with_cli():
    with OperatorTest("resume-cli") as t:
        t.start_operator()
        broken = os.path.join(t.dir, "mend.yaml")
        with open(broken, "w") as f:
            f.write(flow_text("mend", 'if [ "$(cat $PODFLOW_FOREACH_ITEM)" = 3 ]; then sleep 8; echo "bad item 3" >&2; '
                              'exit 1; fi; ' + SQUARE))
        fixed = os.path.join(t.dir, "mend-fixed.yaml")
        with open(fixed, "w") as f:
            f.write(flow_text("mend", SQUARE))
        with_k8s = f"kubernetes:namespace={t.ns}"

        first = podflow(t, "run", broken, "--with", with_k8s, "--max-workers", "6")
        expect(first.returncode == 1, f"the broken run fails: {first.returncode}\n{first.stderr}")
        name = first.stdout.strip()
        expect(name.startswith("mend-"), f"a failed run prints its name too: {first.stdout!r}")
        expect(f"podflow resume {name}" in first.stderr, f"and says how to resume:\n{first.stderr[-2000:]}")
        origin = t.flowrun(name)
        origin_run_id = origin["status"]["runId"]
        t.wait_until("the first run's Tasks to end", lambda: all(
            task.get("status", {}).get("phase") in ("Succeeded", "Failed")
            for task in t.items("tasks", f"podflow.dev/run={name}")), 60)
        origin_tasks = run_tasks(t, name)
        failed = t.get("task", f"{name}.work")["status"]
        expect(failed["phase"] == "Failed" and failed["failedIndexes"] == "2", f"split 2 failed: {failed}")

        # Errors first: nothing is created for them.
        missing = podflow(t, "resume", "nosuch-12345678", "--with", with_k8s, timeout=60)
        expect(missing.returncode == 1 and "no FlowRun named nosuch-12345678" in missing.stderr
               and "podflow list --kubernetes" in missing.stderr, f"an unknown run: {missing.stderr}")
        other = os.path.join(t.dir, "other.yaml")
        with open(other, "w") as f:
            f.write(flow_text("other", SQUARE))
        wrong = podflow(t, "resume", origin_run_id, "--flow", other, "--with", with_k8s, timeout=60)
        expect(wrong.returncode == 1 and f"run {origin_run_id} is a run of flow mend" in wrong.stderr
               and "is flow other" in wrong.stderr, f"a flow file of another flow: {wrong.stderr}")
        t.apply("apiVersion: podflow.dev/v1alpha1\nkind: FlowRun\nmetadata:\n  name: orphan\nspec:\n"
                "  flowRef: {name: no-such-flow}\n")
        t.wait_until("the orphan run to wait for its Flow", lambda: t.flowrun("orphan").get("status", {}).get("phase") == "Pending", 30)
        unstarted = podflow(t, "resume", "orphan", "--with", with_k8s, timeout=60)
        expect(unstarted.returncode == 1 and "FlowRun orphan never started" in unstarted.stderr,
               f"a run that never started: {unstarted.stderr}")
        expect(len(t.items("flowruns")) == 2, "nothing was created for the refused resumes")

        # Fix the code, resume (Metaflow's way), naming the run by its FlowRun name.
        result = podflow(t, "resume", name, "--flow", fixed, "--with", with_k8s)
        expect(result.returncode == 0, f"podflow resume exited {result.returncode}:\n{result.stderr}")
        resumed = result.stdout.strip()
        expect(resumed.startswith("mend-") and resumed != name, f"the new run's name: {result.stdout!r}")
        expect(f"resuming run {origin_run_id}" in result.stderr and "Succeeded: 8/8 tasks done, 5 of them reused"
               in result.stderr, f"the progress lines:\n{result.stderr[-3000:]}")
        check_resumed(t, resumed, origin_run_id, origin_tasks)
        spec = t.flowrun(resumed)["spec"]
        expect(spec["maxWorkers"] == 6 and spec["flowRef"] == {"name": "mend"},
               f"the earlier run's --max-workers, the fixed flow: {spec}")

        # The run's own run id works as RUN too, and the snapshot is the flow without --flow:
        # resuming the failed run again without the fix fails in split 2 again.
        again = podflow(t, "resume", origin_run_id, "--with", with_k8s)
        expect(again.returncode == 1 and "bad item 3" in t.kubectl("logs", f"{again.stdout.strip()}.work.2").stdout,
               f"resuming with the earlier run's own flow: {again.returncode}\n{again.stderr[-2000:]}")
        expect(t.flowrun(again.stdout.strip())["spec"].get("flowName") == "mend", "an inline flow of that name")


def resume_with_kubectl():
    with OperatorTest("resume-kubectl") as t:
        operator = t.start_operator()
        marker = os.path.join(t.dir, "fixed")
        # Split 2 fails until the marker exists; either way it takes a few seconds, so the other
        # splits commit first, and the operator can be killed while it runs.
        work = (f'if [ "$(cat $PODFLOW_FOREACH_ITEM)" = 3 ]; then sleep 8; [ -f {marker} ] || exit 1; fi; ' + SQUARE)
        t.apply(flow_text("marked", work) + "---\napiVersion: podflow.dev/v1alpha1\nkind: FlowRun\n"
                "metadata:\n  name: marked\nspec:\n  flowRef: {name: marked}\n")
        origin = t.wait_flowrun("marked", "Failed", timeout=180)
        origin_run_id = origin["status"]["runId"]
        t.wait_until("the first run's Tasks to end", lambda: all(
            task.get("status", {}).get("phase") in ("Succeeded", "Failed")
            for task in t.items("tasks", "podflow.dev/run=marked")), 60)
        origin_tasks = run_tasks(t, "marked")

        # A run id with nothing in the datastore: the run fails, saying which and what to do.
        t.apply("apiVersion: podflow.dev/v1alpha1\nkind: FlowRun\nmetadata:\n  name: lost\nspec:\n"
                "  flowRef: {name: marked}\n  resumeFrom: marked-00000000\n")
        lost = t.wait_flowrun("lost", "Failed", timeout=60)
        failed = t.condition(lost, "Failed")
        expect(failed["reason"] == "ResumeFromNotFound" and "run marked-00000000 of flow marked" in failed["message"]
               and "status.runId" in failed["message"], f"the lost run's condition: {failed}")
        expect(not t.items("tasks", "podflow.dev/run=lost"), "no Task for a run that cannot resume")

        open(marker, "w").close()
        t.apply("apiVersion: podflow.dev/v1alpha1\nkind: FlowRun\nmetadata:\n  name: marked-again\nspec:\n"
                f"  flowRef: {{name: marked}}\n  resumeFrom: {origin_run_id}\n")
        t.wait_until("split 2 of the resumed run to run", lambda: any(
            p["status"].get("phase") == "Running" for p in t.items("pods", "podflow.dev/run=marked-again")), 90)
        # The operator dies mid-run; the next one clones again (harmless) and goes on.
        operator.kill()
        operator.expect_clean_exit = False  # SIGKILLed on purpose
        t.start_operator()
        t.wait_flowrun("marked-again", "Succeeded", timeout=180)
        check_resumed(t, "marked-again", origin_run_id, origin_tasks)
        result = t.kubectl("patch", "flowrun", "marked-again", "--type=merge", "-p",
                           '{"spec": {"resumeFrom": "marked-11111111"}}', check=False)
        expect(result.returncode != 0 and "immutable" in result.stderr, f"spec.resumeFrom cannot change: {result.stderr}")


if __name__ == "__main__":
    main([resume_with_cli, resume_with_kubectl])
