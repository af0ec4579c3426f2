"""Timeouts, retries, resume, the resource pre-check and parameter errors."""
import os
import time

from harness import expect, flow, main


def test_timeout_kills_the_step(workspace):
    workspace.write("flow.yaml", flow("slow", """\
        - name: start
          command: [sleep, "60"]
          timeoutSeconds: 1
          next: [end]
        - name: end
          command: ["true"]
        """))
    began = time.time()
    result = workspace.podflow("run", "flow.yaml", check=1)
    took = time.time() - began
    expect("timed out after 1 s" in result.stderr, f"no timeout message in:\n{result.stderr}")
    expect(took < 30, f"a 1 s timeout took {took:.0f} s to end the run")


def test_retry_makes_a_new_attempt(workspace):
    workspace.write("flow.yaml", flow("flaky", """\
        - name: start
          command: [sh, -c, 'echo "attempt $PODFLOW_ATTEMPT"; test "$PODFLOW_ATTEMPT" -ge 2']
          retry: {times: 2, delaySeconds: 0}
          next: [end]
        - name: end
          command: ["true"]
        """))
    result = workspace.podflow("run", "flow.yaml", check=0)
    run = workspace.run_id(result)
    expect(result.stderr.count("retrying as attempt") == 2, f"expected two retries:\n{result.stderr}")
    first = workspace.podflow("logs", f"{run}/start", "--attempt", "0", check=0)
    expect(first.stdout.strip() == "attempt 0", f"attempt 0 logged {first.stdout!r}")
    latest = workspace.podflow("logs", f"{run}/start/start", check=0)
    expect("attempt 2" in latest.stdout, f"the latest attempt logged {latest.stdout!r}")


def test_retries_exhausted_fail_the_run(workspace):
    workspace.write("flow.yaml", flow("broken", """\
        - name: start
          command: [sh, -c, 'echo "no such data" >&2; exit 3']
          retry: {times: 1, delaySeconds: 0}
          next: [end]
        - name: end
          command: ["true"]
        """))
    result = workspace.podflow("run", "flow.yaml", check=1)
    expect("task start (step 'start') failed after 2 attempts: exit code 3" in result.stderr,
           f"no failure summary in:\n{result.stderr}")
    expect("no such data" in result.stderr, "the step's stderr is not shown")
    status = workspace.podflow("status", workspace.run_id(result), check=0)
    expect("/start attempt 1: exit code 3" in status.stdout, status.stdout)


def test_resume_reruns_only_what_failed(workspace):
    workspace.write("flow.yaml", flow("resumable", """\
        - name: start
          command:
            - sh
            - -c
            - |
              echo x >> "$COUNTS/start"
              echo '["a","b","c"]' > "$PODFLOW_OUTPUTS/items"
          foreach: items
          next: [work]
        - name: work
          command:
            - sh
            - -c
            - |
              echo x >> "$COUNTS/$PODFLOW_TASK_ID"
              test "$PODFLOW_TASK_ID" != work.1 || test -f "$COUNTS/fixed"
          next: [join]
        - name: join
          join: true
          command: [sh, -c, 'echo x >> "$COUNTS/join"']
          next: [end]
        - name: end
          command: ["true"]
        """))
    counts = os.path.join(workspace.path, "counts")
    os.makedirs(counts)
    env = dict(os.environ, COUNTS=counts)
    failed = workspace.podflow("run", "flow.yaml", check=1, env=env)
    first_run = workspace.run_id(failed)
    open(os.path.join(counts, "fixed"), "w").close()
    resumed = workspace.podflow("resume", first_run, check=0, env=env)
    second_run = workspace.run_id(resumed)
    expect(second_run != first_run, "resume must start a new run")

    def runs_of(name):
        path = os.path.join(counts, name)
        return len(open(path).read().split()) if os.path.exists(path) else 0

    # A split still running when work.1 failed was stopped with the run (as Metaflow does) and
    # never committed; only the splits that committed in the first run must not run again.
    committed = {task for task in ("work.0", "work.2")
                 if os.path.exists(os.path.join(workspace.datastore, "resumable", first_run, "work",
                                                task, "0", "manifest.json"))}
    expect(runs_of("start") == 1, f"start ran {runs_of('start')} times; resume must reuse it")
    for task in ("work.0", "work.2"):
        if task in committed:
            expect(runs_of(task) == 1, f"{task} committed in the first run but ran again")
        else:  # stopped before or while running its command, then run by the resume
            expect(runs_of(task) in (1, 2), f"{task} ran {runs_of(task)} times")
    expect(runs_of("work.1") == 2, f"the failed split ran {runs_of('work.1')} times, expected 2")
    expect(runs_of("join") == 1, "join should run once, in the resumed run")
    record = workspace.record(second_run)
    expect(record["resumedFrom"] == first_run, f"resumedFrom is {record['resumedFrom']!r}")


def refused_before_running(workspace):
    """Runs flow.yaml, whose start step touches $MARKER; expects exit 1 with nothing run or recorded.
    Returns the result and the marker's path."""
    marker = os.path.join(workspace.path, "ran")
    result = workspace.podflow("run", "flow.yaml", check=1, env=dict(os.environ, MARKER=marker))
    expect(not os.path.exists(marker), f"a step ran although the run was refused:\n{result.stderr}")
    expect(not os.path.exists(os.path.join(workspace.datastore, "_runs")), "a run was recorded")
    return result, marker


def test_too_big_for_this_machine_fails_before_running(workspace):
    workspace.write("flow.yaml", flow("huge", """\
        - name: start
          command: [sh, -c, 'touch "$MARKER"']
          resources: {memory: 48000000, cpu: 4096}
          next: [end]
        - name: end
          command: ["true"]
        """))
    result, marker = refused_before_running(workspace)
    expect("step 'start' asks for 48000000M of memory (43.7 TiB) but this machine has" in result.stderr,
           result.stderr)
    expect("run it on Kubernetes (podflow run flow.yaml --with kubernetes, or runOn: Kubernetes on that "
           "step)" in result.stderr, result.stderr)
    expect("asks for 4096 cpu" in result.stderr, result.stderr)
    expect("or run it here anyway with --skip-machine-check" in result.stderr, result.stderr)
    # The seeds: @resources does not produce the resources locally; the user may run anyway.
    anyway = workspace.podflow("run", "flow.yaml", "--skip-machine-check", check=0,
                               env=dict(os.environ, MARKER=marker))
    expect("warning: step 'start' asks for 48000000M of memory" in anyway.stderr and
           "running anyway" in anyway.stderr, anyway.stderr)
    expect(os.path.exists(marker), "--skip-machine-check: the step ran")


def test_cluster_step_needs_a_shared_datastore(workspace):
    """A step with runOn: Kubernetes in a local run: its pods cannot use a local datastore, and a
    step with no image cannot be a pod. Both are refused before anything runs, naming the fix; the
    cluster step's resources are never checked against this machine."""
    workspace.write("flow.yaml", flow("hybrid", """\
        - name: start
          command: [sh, -c, 'touch "$MARKER"']
          next: [train]
        - name: train
          command: ["true"]
          runOn: Kubernetes
          resources: {memory: 48000000, cpu: 4096}
          next: [end]
        - name: end
          command: ["true"]
        """))
    result, _ = refused_before_running(workspace)
    expect("step 'train' runs on Kubernetes (runOn: Kubernetes), and its pods cannot use the local "
           "datastore" in result.stderr and "--datastore s3://bucket/prefix" in result.stderr, result.stderr)
    expect("step 'train' runs on Kubernetes but names no image: set `image` on the step or `spec.image`, "
           "or PODFLOW_KUBERNETES_CONTAINER_IMAGE" in result.stderr, result.stderr)
    expect("asks for" not in result.stderr, f"a cluster step was checked against this machine:\n{result.stderr}")


def test_parameter_errors(workspace):
    workspace.write("flow.yaml", flow("params", """\
        - name: start
          command: [sh, -c, 'echo "$PODFLOW_PARAM_SIZE $PODFLOW_PARAM_NAME"']
          next: [end]
        - name: end
          command: ["true"]
        """, parameters="- {name: size, type: integer, default: 3}\n- {name: name}\n"))
    missing = workspace.podflow("run", "flow.yaml", check=1)
    expect("parameter 'name' is required: add --param name=VALUE" in missing.stderr, missing.stderr)
    typo = workspace.podflow("run", "flow.yaml", "--param", "nmae=x", check=1)
    expect("the flow has no parameter 'nmae'; did you mean 'name'?" in typo.stderr, typo.stderr)
    wrong = workspace.podflow("run", "flow.yaml", "--param", "name=x", "--param", "size=big", check=1)
    expect("--param size=big: 'big' is not an integer value" in wrong.stderr, wrong.stderr)
    good = workspace.podflow("run", "flow.yaml", "--param", "name=bob", check=0)
    logs = workspace.podflow("logs", f"{workspace.run_id(good)}/start", check=0)
    expect(logs.stdout.strip() == "3 bob", f"the step saw {logs.stdout!r}")


if __name__ == "__main__":
    main([test_timeout_kills_the_step, test_retry_makes_a_new_attempt,
          test_retries_exhausted_fail_the_run, test_resume_reruns_only_what_failed,
          test_too_big_for_this_machine_fails_before_running, test_cluster_step_needs_a_shared_datastore,
          test_parameter_errors])
