"""Ctrl-C (SIGINT) or SIGTERM stops a local run: every task's processes are killed, including
background children and steps that ignore SIGTERM, and the run is marked killed."""
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
          touch "$READY/$PODFLOW_TASK_ID"
          sleep {MARKER} &
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


def interrupt_with(workspace, signal_number):
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
    expect(len(survivors()) >= 8, f"expected 8 sleeping processes, found {survivors()}")
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


def test_ctrl_c_kills_every_task(workspace):
    interrupt_with(workspace, signal.SIGINT)


def test_sigterm_kills_every_task(workspace):
    interrupt_with(workspace, signal.SIGTERM)


if __name__ == "__main__":
    main([test_ctrl_c_kills_every_task, test_sigterm_kills_every_task])
