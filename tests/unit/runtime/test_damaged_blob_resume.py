"""Issue 18, end to end with the real podflow and podflow-runtime binaries: a step that rewrites a
shared (hard-linked) input fails naming it, the damaged blob is kept aside instead of deleted, and
`podflow resume` re-runs the task that made the blob, which stores it again, so the resumed run
succeeds and the earlier run's manifest points at correct bytes again.

Run: PODFLOW=build-h2/bin/podflow python3 tests/unit/runtime/test_damaged_blob_resume.py"""
import glob
import hashlib
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "local"))
from harness import expect, flow, main  # noqa: E402

# 2 MiB of the same bytes every time: above the size below which inputs are copied (so `end`
# gets a hard link to the blob), and deterministic (so re-running `start` re-creates the blob).
START = 'head -c 2097152 /dev/zero | tr "\\\\0" x > "$PODFLOW_OUTPUTS/x"'
# The first time only (a flag file in the working directory), rewrite the input in place.
END = ('if [ -e corrupt ]; then rm corrupt; chmod u+w "$PODFLOW_INPUTS/x"; '
       'printf y | dd of="$PODFLOW_INPUTS/x" conv=notrunc 2>/dev/null; fi; '
       'wc -c < "$PODFLOW_INPUTS/x" > "$PODFLOW_OUTPUTS/size"')


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def test_resume_heals_a_blob_a_step_damaged(ws):
    ws.write("flow.yaml", flow("heal", f"""\
        - name: start
          command: [sh, -c, {json.dumps(START)}]
          next: [end]
        - name: end
          command: [sh, -c, {json.dumps(END)}]
        """))
    ws.write("corrupt", "")
    first = ws.podflow("run", "flow.yaml")
    expect(first.returncode != 0, f"the run should fail:\n{first.stderr}")
    expect("modified its input 'x'" in first.stderr,
           f"the failure should name the input:\n{first.stderr}")
    run = ws.run_id(first) if first.stdout.split() else "1"

    with open(os.path.join(ws.datastore, "heal", run, "start", "start", "0",
                           "manifest.json")) as f:
        blob = json.load(f)["artifacts"]["x"]
    sha = blob["sha256"]
    blob_path = os.path.join(ws.datastore, "heal", "data", sha[:2], sha)
    expect(not os.path.exists(blob_path), "the damaged blob must not be readable as the blob")
    aside = glob.glob(os.path.join(ws.datastore, "heal", "quarantine", sha + ".*"))
    expect(len(aside) == 1, f"the damaged blob should be kept aside, found {aside}")
    expect(os.path.getsize(aside[0]) == blob["size"], "the quarantined file is the damaged one")

    second = ws.podflow("resume", run, "--flow", "flow.yaml")
    expect(second.returncode == 0,
           f"resume should succeed:\n--- stdout\n{second.stdout}\n--- stderr\n{second.stderr}")
    resumed = ws.run_id(second)
    # start ran again (a reused task has a manifest but no logs of its own).
    expect(os.path.exists(os.path.join(ws.datastore, "heal", resumed, "start", "start", "0",
                                       "stdout.log")),
           "start should have run again, not been reused")
    expect(os.path.exists(blob_path), "the blob should be stored again")
    expect(sha256_of(blob_path) == sha, "the blob's bytes should match its sha256 again")
    with open(os.path.join(ws.datastore, "heal", resumed, "end", "end", "0",
                           "manifest.json")) as f:
        size_blob = json.load(f)["artifacts"]["size"]["sha256"]
    with open(os.path.join(ws.datastore, "heal", "data", size_blob[:2], size_blob)) as f:
        expect(f.read().strip() == "2097152", "end should have read the whole, correct input")


if __name__ == "__main__":
    main([test_resume_heals_a_blob_a_step_damaged])
