"""Shared by the tests of the podflow Python package: the package from sdk/python/src, and a
workspace that runs flows with the real podflow binary against a datastore of its own."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict, Optional

import pytest

REPO = Path(__file__).resolve().parents[2]
SOURCE = REPO / "sdk" / "python" / "src"
sys.path.insert(0, str(SOURCE))
PODFLOW = os.environ.get("PODFLOW") or str(REPO / "build" / "bin" / "podflow")
BIN = Path(os.environ.get("PODFLOW_BIN") or Path(PODFLOW).parent)


# start (a foreach over `items`) -> square -> join -> end, each step `PY <name>` of steps.py
FOREACH_FLOW = """\
- name: start
  command: [PY, start]
  foreach: items
  next: [square]
- name: square
  command: [PY, square]
  next: [join]
- name: join
  join: true
  command: [PY, join]
  next: [end]
- name: end
  command: [PY, end]
"""


class Workspace:
    """A directory holding a flow, its steps.py and a datastore; runs use this venv's python."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.datastore = str(path / "store")

    def steps(self, text: str, name: str = "steps.py") -> Path:
        target = self.path / name
        target.write_text("from podflow import *\n" + textwrap.dedent(text) + "\nif __name__ == '__main__':\n    main()\n")
        return target

    def flow(self, name: str, steps: str, parameters: str = "", defaults: str = "") -> Path:
        """A Flow document; in `steps`, PY stands for this interpreter and steps.py."""
        text = f"apiVersion: podflow.dev/v1alpha1\nkind: Flow\nmetadata:\n  name: {name}\nspec:\n"
        if parameters:
            text += "  parameters:\n" + textwrap.indent(textwrap.dedent(parameters), "    ")
        if defaults:
            text += "  defaults:\n" + textwrap.indent(textwrap.dedent(defaults), "    ")
        steps = textwrap.dedent(steps).replace("PY", f"{sys.executable}, steps.py")
        text += "  steps:\n" + textwrap.indent(steps, "    ")
        path = self.path / f"{name}.yaml"
        path.write_text(text)
        return path

    def podflow(self, *args: str, env: Optional[Dict[str, str]] = None) -> subprocess.CompletedProcess:
        full_env = dict(os.environ, PYTHONPATH=str(SOURCE))
        full_env.update(env or {})
        return subprocess.run([PODFLOW, *args], cwd=self.path, capture_output=True, text=True,
                              timeout=300, env=full_env)

    def run(self, flow: Path, *args: str, expect: int = 0, env: Optional[Dict[str, str]] = None) -> str:
        """Runs FLOW; asserts podflow's exit code; returns the run id."""
        result = self.podflow("run", str(flow), "--datastore", self.datastore, *args, env=env)
        assert result.returncode == expect, (
            f"podflow run exited {result.returncode}, expected {expect}\n--- stdout\n{result.stdout}"
            f"\n--- stderr\n{result.stderr}")
        return json.loads(Path(self.datastore, "_runs").joinpath(
            sorted(os.listdir(Path(self.datastore, "_runs")), key=lambda n: int(n.split(".")[0]))[-1]).read_text())["run"]


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    if not os.access(PODFLOW, os.X_OK):
        pytest.fail(f"no podflow binary at {PODFLOW}: build it (cmake --build build) or set PODFLOW")
    return Workspace(tmp_path)
