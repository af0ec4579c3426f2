"""Ctrl-C (SIGINT) or SIGTERM stops a local run: every task's processes are killed, including
background children, daemons that left the task's session (setsid) and steps that ignore SIGTERM,
and the run is marked killed. A runner killed outright (SIGKILL) takes its tasks with it, and its
run shows as lost and can be resumed."""
import os
import signal
import subprocess
import time

from harness import PODFLOW, expect, flow, main

MARKER = "3141.5926"  # a sleep length no other process on the machine uses

FLOW = flow("stoppable", f"""\
    - name: start
      command: [sh, -c, 'echo "[1,2,3,4]" > "$PODFLOW_OUTPUTS/items"']
      foreach: items
      next: [hang]
    - name: hang
      command:
        - sh
        - -c
        - |
          trap "" TERM
          test -e "$READY/release" && exit 0
          setsid sleep {MARKER} &
          sleep {MARKER} &
          touch "$READY/$PODFLOW_TASK_ID"
          sleep {MARKER}
          wait
      next: [join]
    - name: join
      join: true
      command: ["true"]
      next: [end]
    - name: end
      command: ["true"]
    """)


def survivors():
    found = subprocess.run(["pgrep", "-f", f"sleep {MARKER}"], capture_output=True, text=True)
    return found.stdout.split()


def start_hanging_run(workspace):
    """podflow running FLOW with its four hanging tasks started; returns (process, ready dir)."""
    workspace.write("flow.yaml", FLOW)
    ready = os.path.join(workspace.path, "ready")
    os.makedirs(ready)
    process = subprocess.Popen([PODFLOW, "run", "flow.yaml", "--datastore", workspace.datastore],
                               cwd=workspace.path, env=dict(os.environ, READY=ready),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while len(os.listdir(ready)) < 4 and time.time() < deadline:
        time.sleep(0.1)
    expect(len(os.listdir(ready)) == 4, "the four tasks did not start within 60 s")
    return process, ready


def interrupt_with(workspace, signal_number):
    process, _ = start_hanging_run(workspace)
    expect(len(survivors()) >= 12, f"expected 12 sleeping processes, found {survivors()}")
    process.send_signal(signal_number)
    stdout, stderr = process.communicate(timeout=60)
    expect(process.returncode == 130, f"podflow exited {process.returncode}, expected 130\n{stderr}")
    time.sleep(0.5)
    left = survivors()
    if left:
        subprocess.run(["pkill", "-9", "-f", f"sleep {MARKER}"])
    expect(not left, f"processes survived the interrupt: {left}")
    run = stdout.split()[-1]
    record = workspace.record(run)
    expect(record["state"] == "killed", f"the run is {record['state']}, expected killed")
    expect("interrupted" in stderr, stderr)


def test_sigkill_of_the_runner_kills_every_task(workspace):
    process, ready = start_hanging_run(workspace)
    process.kill()
    process.communicate(timeout=60)
    # Each runtime sees its parent die, stops its step (which ignores SIGTERM: the 10 s grace,
    # then SIGKILL) and every process the step left, then exits.
    deadline = time.time() + 20
    while survivors() and time.time() < deadline:
        time.sleep(0.2)
    left = survivors()
    if left:
        subprocess.run(["pkill", "-9", "-f", f"sleep {MARKER}"])
    expect(not left, f"processes outlived the SIGKILLed runner: {left}")
    listing = subprocess.run([PODFLOW, "list", "--datastore", workspace.datastore],
                             capture_output=True, text=True)
    expect(" lost " in listing.stdout, f"podflow list does not show the run as lost:\n{listing.stdout}")
    run = listing.stdout.splitlines()[1].split()[0]
    status = subprocess.run([PODFLOW, "status", run, "--datastore", workspace.datastore],
                            capture_output=True, text=True)
    expect(f"run {run} of flow stoppable: lost" in status.stdout, status.stdout)
    expect(f"ended without finishing the run" in status.stdout and
           f"podflow resume {run}" in status.stdout, status.stdout)
    # The committed start task is reused; the splits run again and finish this time.
    open(os.path.join(ready, "release"), "w").close()
    resumed = subprocess.run([PODFLOW, "resume", run, "--datastore", workspace.datastore],
                             cwd=workspace.path, env=dict(os.environ, READY=ready),
                             capture_output=True, text=True, timeout=120)
    expect(resumed.returncode == 0, f"resume failed:\n{resumed.stderr}")
    expect("reusing 1 successful task(s)" in resumed.stderr, resumed.stderr)


def test_ctrl_c_kills_every_task(workspace):
    interrupt_with(workspace, signal.SIGINT)


def test_sigterm_kills_every_task(workspace):
    interrupt_with(workspace, signal.SIGTERM)


if __name__ == "__main__":
    main([test_ctrl_c_kills_every_task, test_sigterm_kills_every_task,
          test_sigkill_of_the_runner_kills_every_task])
