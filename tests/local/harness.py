"""Shared helpers for the local-runner tests: run the real podflow binary on flows written to a
temporary directory, with a datastore of their own. Standard library only."""
import json
import os
import subprocess
import sys
import tempfile
import textwrap

PODFLOW = os.environ.get("PODFLOW", "podflow")
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class Workspace:
    """A temporary directory with a datastore; flows written here run with their steps here."""

    def __init__(self):
        self._dir = tempfile.TemporaryDirectory(prefix="podflow-test-")
        self.path = self._dir.name
        self.datastore = os.path.join(self.path, "store")

    def write(self, name, text, mode=0o644):
        path = os.path.join(self.path, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text))
        os.chmod(path, mode)
        return path

    def podflow(self, *args, check=None, timeout=300, **kwargs):
        """Runs podflow; returns CompletedProcess. check=0/1/... asserts the exit code."""
        command = [PODFLOW, *args]
        if args and args[0] in ("run", "resume", "logs", "list", "status"):
            command += ["--datastore", self.datastore]
        result = subprocess.run(command, cwd=self.path, capture_output=True, text=True,
                                timeout=timeout, **kwargs)
        if check is not None and result.returncode != check:
            fail(f"{' '.join(command)} exited {result.returncode}, expected {check}\n"
                 f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}")
        return result

    def run_id(self, result):
        """The run id podflow printed last on stdout."""
        lines = result.stdout.split()
        if not lines:
            fail(f"no run id on stdout; stderr:\n{result.stderr}")
        return lines[-1]

    def record(self, run):
        with open(os.path.join(self.datastore, "_runs", f"{run}.json")) as f:
            return json.load(f)

    def close(self):
        self._dir.cleanup()


def flow(name, steps, parameters="", defaults=""):
    """A Flow document; `steps` is YAML for the list items, indented by 4."""
    text = f"apiVersion: podflow.dev/v1alpha1\nkind: Flow\nmetadata:\n  name: {name}\nspec:\n"
    if parameters:
        text += "  parameters:\n" + textwrap.indent(textwrap.dedent(parameters), "    ")
    if defaults:
        text += "  defaults:\n" + textwrap.indent(textwrap.dedent(defaults), "    ")
    return text + "  steps:\n" + textwrap.indent(textwrap.dedent(steps), "    ")


def fail(message):
    print("FAIL:", message, file=sys.stderr)
    sys.exit(1)


def expect(condition, message):
    if not condition:
        fail(message)


def main(tests):
    """Runs each test function with a fresh workspace; prints a closing count line."""
    failed = 0
    for test in tests:
        workspace = Workspace()
        try:
            test(workspace)
            print(f"ok   {test.__name__}")
        except SystemExit as exit:
            if exit.code:
                failed += 1
                print(f"FAIL {test.__name__}")
        except Exception as error:  # an unexpected error is a failure too
            failed += 1
            print(f"FAIL {test.__name__}: {error!r}")
        finally:
            workspace.close()
    print(f"{len(tests) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)
