"""The package as users get it: `pip install ./sdk/python` into a fresh venv, offline, then a
flow whose steps import the installed package; and its type hints hold under mypy --strict."""
import subprocess
import sys
import venv
from pathlib import Path

from conftest import REPO
from podflow import Run


def test_installs_offline_into_a_fresh_venv_and_runs_a_flow(workspace, tmp_path):
    target = tmp_path / "venv"
    venv.create(target, with_pip=True)
    python = target / "bin" / "python"
    # --no-index: nothing may come from the network, with pip's build isolation as users get it
    install = subprocess.run([str(python), "-m", "pip", "install", "--no-index",
                              "--disable-pip-version-check", "-q", str(REPO / "sdk" / "python")],
                             capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stdout + install.stderr
    where = subprocess.run([str(python), "-c", "import podflow, importlib.metadata as m; "
                            "print(podflow.__file__); print(podflow.__version__ == m.version('podflow'))"],
                           capture_output=True, text=True, cwd=tmp_path, env={})
    installed = Path(where.stdout.split()[0])
    assert where.stdout.split()[1] == "True", "the wheel's version is not podflow.__version__"
    assert str(target) in str(installed) and (installed.parent / "py.typed").exists(), where.stderr

    workspace.steps("""
@step
def start(task):
    import podflow
    task.where = podflow.__file__

@step
def end(task):
    print("installed at", task.where)
""")
    flow = workspace.flow("installed", f"- {{name: start, command: [{python}, steps.py, start], next: [end]}}\n"
                                       f"- {{name: end, command: [{python}, steps.py, end]}}\n")
    run_id = workspace.run(flow, env={"PYTHONPATH": ""})
    assert str(target) in Run(f"installed/{run_id}", workspace.datastore).data.where


def test_type_hints_pass_mypy_strict():
    result = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--python-version", "3.10",
                             "--no-incremental", str(REPO / "sdk" / "python" / "src" / "podflow")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
