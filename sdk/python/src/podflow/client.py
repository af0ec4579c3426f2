"""The Client API: read finished (and running) runs from a datastore, as Metaflow's Client does.

    from podflow import Flow, Run
    run = Run("fanout/15")                       # ./.podflow, $PODFLOW_DATASTORE, or datastore=
    run.state, run.successful                    # 'succeeded', True
    run["join"].task.data.total                  # an artifact's value
    [t.data.result for t in run["square"]]       # every split's
    Flow("fanout", datastore="s3://bucket/prefix").latest_run

It follows docs/datastore.md: run records in _runs/, manifests (the commits) under
<flow>/<run>/<step>/<task>/<attempt>/, blobs under <flow>/data/; each blob's SHA-256 and size are
checked against its manifest before its bytes are used. Runs made by the operator on a cluster
have no run record; their state is told from their tasks."""
from __future__ import annotations

import json
import os
import socket
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

from . import formats
from .artifacts import describe
from .stores import DatastoreError, Store, open_store

_NOT_RUNS = ("data", "quarantine")      # folders of <flow>/ that are not runs
_NOT_FLOWS = ("_runs", "_work")         # folders of the root that are not flows

DatastoreLike = Union[str, Store, None]


class NotFound(LookupError, AttributeError):
    """No such flow, run, step, task or artifact; the message names those that exist. An
    AttributeError too, so hasattr(task.data, "x") and getattr(..., default) work."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class IntegrityError(RuntimeError):
    """A blob whose bytes do not match its manifest (damaged, truncated or replaced)."""


def _store(datastore: DatastoreLike) -> Store:
    if datastore is None:
        datastore = os.environ.get("PODFLOW_DATASTORE") or ".podflow"
    return open_store(datastore) if isinstance(datastore, str) else datastore


def _split_key(key: str) -> List[int]:
    """Orders task ids by their split path numerically: square.2 before square.10."""
    return [int(part) if part.isdigit() else -1 for part in key.split(".")[1:]]


def _run_order(run_id: str) -> Tuple[int, int, str]:
    return (0, -int(run_id), "") if run_id.isdigit() else (1, 0, run_id)


def flows(datastore: DatastoreLike = None) -> List[str]:
    """The flows that have anything in the datastore."""
    return [name for name in _store(datastore).children("") if name not in _NOT_FLOWS and "." not in name]


class Flow:
    def __init__(self, name: str, datastore: DatastoreLike = None) -> None:
        self.store = _store(datastore)
        self.name = name
        if not self.store.children(f"{name}/"):
            raise NotFound(f"no flow '{name}' in {self.store.url}; flows there: {describe(flows(self.store))}")

    def run_ids(self) -> List[str]:
        """Newest first: run ids of local runs by number, then cluster runs (<flowrun>-<uid>) by name."""
        names = [name for name in self.store.children(f"{self.name}/") if name not in _NOT_RUNS]
        return sorted(names, key=_run_order)

    def runs(self) -> List["Run"]:
        return [Run(f"{self.name}/{run_id}", self.store) for run_id in self.run_ids()]

    @property
    def latest_run(self) -> "Run":
        ids = self.run_ids()
        if not ids:
            raise NotFound(f"flow '{self.name}' has no runs in {self.store.url}")
        return Run(f"{self.name}/{ids[0]}", self.store)

    def __getitem__(self, run_id: str) -> "Run":
        return Run(f"{self.name}/{run_id}", self.store)

    def __iter__(self) -> Iterator["Run"]:
        return iter(self.runs())

    def __repr__(self) -> str:
        return f"Flow('{self.name}')"


def _runner_gone(record: Dict[str, Any]) -> bool:
    """True when the record's podflow process ran on this machine and is gone (the CLI's 'lost')."""
    try:
        if record.get("host") != socket.gethostname() or not record.get("bootId"):
            return False
        with open("/proc/sys/kernel/random/boot_id") as file:
            if file.read().strip() != record["bootId"]:
                return True
        with open(f"/proc/{int(record['pid'])}/stat") as file:
            fields = file.read().rsplit(")", 1)[1].split()
        return int(fields[19]) != int(record.get("pidStartTicks", 0))  # field 22 of stat
    except FileNotFoundError:
        return True  # no such process
    except (OSError, ValueError, KeyError, IndexError):
        return False


class Run:
    """One run: Run("fanout/15")."""

    def __init__(self, pathspec: str, datastore: DatastoreLike = None) -> None:
        self.store = _store(datastore)
        parts = pathspec.strip("/").split("/")
        if len(parts) != 2 or not all(parts):
            raise ValueError(f"Run({pathspec!r}): a run is named flow/run, e.g. Run('fanout/15')")
        self.flow_name, self.id = parts
        self.pathspec = f"{self.flow_name}/{self.id}"
        raw = self.store.get(f"_runs/{self.id}.json")
        record = json.loads(raw) if raw else None
        self.record: Optional[Dict[str, Any]] = record if record and record.get("flow") == self.flow_name else None
        if self.record is None and not self.store.children(f"{self.pathspec}/"):
            try:
                known = describe(Flow(self.flow_name, self.store).run_ids())
            except NotFound as error:
                raise NotFound(f"no run {self.pathspec}: {error}") from None
            raise NotFound(f"flow '{self.flow_name}' has no run {self.id} in {self.store.url}; its runs: {known}")

    @property
    def state(self) -> str:
        """running, succeeded, failed, killed or lost (from the run record, as podflow status);
        for a run without a record (a cluster run): succeeded once its end task committed,
        else unknown (ask kubectl get flowrun)."""
        if self.record is not None:
            state = str(self.record.get("state", "unknown"))
            return "lost" if state == "running" and _runner_gone(self.record) else state
        return "succeeded" if self.successful else "unknown"

    @property
    def successful(self) -> bool:
        """The end step committed (Metaflow's run.successful)."""
        if self.record is not None and self.record.get("state") not in ("succeeded", "running"):
            return False
        return any(task.successful for task in Step(self, "end", check=False).tasks())

    @property
    def finished(self) -> bool:
        return self.state not in ("running", "unknown")

    @property
    def parameters(self) -> Dict[str, str]:
        return dict(self.record.get("parameters", {})) if self.record else {}

    @property
    def started_at(self) -> Optional[str]:
        return self.record.get("startedAt") if self.record else None

    @property
    def finished_at(self) -> Optional[str]:
        return (self.record.get("finishedAt") or None) if self.record else None

    def step_names(self) -> List[str]:
        """The run's steps: in the flow's order when the run has a record, else by name."""
        present = self.store.children(f"{self.pathspec}/")
        if self.record is not None:
            ordered = [step["name"] for step in self.record.get("steps", []) if step.get("name") in present]
            return ordered + [name for name in present if name not in ordered]
        return present

    def steps(self) -> List["Step"]:
        return [Step(self, name, check=False) for name in self.step_names()]

    def __getitem__(self, step_name: str) -> "Step":
        return Step(self, step_name)

    def __iter__(self) -> Iterator["Step"]:
        return iter(self.steps())

    @property
    def end_task(self) -> "Task":
        return self["end"].task

    @property
    def data(self) -> "Data":
        """The end task's artifacts, as Metaflow's run.data."""
        return self.end_task.data

    def __repr__(self) -> str:
        return f"Run('{self.pathspec}')"


class Step:
    def __init__(self, run: Run, name: str, check: bool = True) -> None:
        self.run = run
        self.store = run.store
        self.name = name
        self.pathspec = f"{run.pathspec}/{name}"
        if check and not self.task_ids():
            raise NotFound(f"run {run.pathspec} has no step '{name}' (no task of it started); "
                           f"its steps: {describe(run.step_names())}")

    def task_ids(self) -> List[str]:
        return sorted(self.store.children(f"{self.pathspec}/"), key=_split_key)

    def tasks(self) -> List["Task"]:
        return [Task(self, task_id, check=False) for task_id in self.task_ids()]

    @property
    def task(self) -> "Task":
        """The step's only task; a foreach split's step has many: iterate it, or step['square.3']."""
        ids = self.task_ids()
        if len(ids) != 1:
            raise NotFound(f"step {self.pathspec} has {len(ids)} tasks ({describe(ids, 5)}): "
                           f"iterate it or name one, run['{self.name}']['{ids[0] if ids else self.name}']")
        return Task(self, ids[0], check=False)

    def __getitem__(self, task_id: str) -> "Task":
        return Task(self, task_id)

    def __iter__(self) -> Iterator["Task"]:
        return iter(self.tasks())

    def __len__(self) -> int:
        return len(self.task_ids())

    def __repr__(self) -> str:
        return f"Step('{self.pathspec}')"


class Task:
    def __init__(self, step: Step, task_id: str, check: bool = True) -> None:
        self.step = step
        self.store = step.store
        self.id = task_id
        self.pathspec = f"{step.pathspec}/{task_id}"
        self._manifest: Optional[Dict[str, Any]] = None
        if check and not self.attempts():
            raise NotFound(f"step {step.pathspec} has no task '{task_id}'; its tasks: {describe(step.task_ids())}")

    def attempts(self) -> List[int]:
        return sorted(int(name) for name in self.store.children(f"{self.pathspec}/") if name.isdigit())

    @property
    def attempt(self) -> Optional[int]:
        """The attempt that committed (the highest with a manifest), None if none did."""
        for attempt in reversed(self.attempts()):
            if self.store.get(f"{self.pathspec}/{attempt}/manifest.json") is not None:
                return attempt
        return None

    @property
    def successful(self) -> bool:
        return self.attempt is not None

    @property
    def manifest(self) -> Dict[str, Any]:
        if self._manifest is None:
            attempt = self.attempt
            if attempt is None:
                raise NotFound(
                    f"task {self.pathspec} did not commit: attempts {describe([str(a) for a in self.attempts()])} "
                    "have no manifest.json (failed, killed or still running); read task.stderr for why")
            raw = self.store.get(f"{self.pathspec}/{attempt}/manifest.json")
            self._manifest = json.loads(raw or b"{}")
        return self._manifest

    @property
    def started_at(self) -> Optional[str]:
        return self.manifest.get("startedAt")

    @property
    def finished_at(self) -> Optional[str]:
        return self.manifest.get("finishedAt")

    def artifact_names(self) -> List[str]:
        """What the task could see (its own outputs and, unless a join, what it inherited)."""
        return sorted(name for name in self.manifest.get("artifacts", {}) if not name.startswith(".podflow/"))

    def __getitem__(self, name: str) -> "DataArtifact":
        entry = self.manifest.get("artifacts", {}).get(name)
        if entry is None or name.startswith(".podflow/"):
            raise NotFound(f"task {self.pathspec} has no artifact '{name}'; it has: {describe(self.artifact_names())}")
        return DataArtifact(self, name, entry)

    def __iter__(self) -> Iterator["DataArtifact"]:
        return iter([self[name] for name in self.artifact_names()])

    def __contains__(self, name: str) -> bool:
        return name in self.artifact_names()

    @property
    def data(self) -> "Data":
        return Data(self)

    def log(self, stream: str = "stdout", attempt: Optional[int] = None) -> str:
        """What the step printed ('stdout' or 'stderr'): of ATTEMPT, else of the committed
        attempt, else of the last one."""
        attempts = self.attempts()
        if attempt is None:
            attempt = self.attempt if self.attempt is not None else (attempts[-1] if attempts else 0)
        raw = self.store.get(f"{self.pathspec}/{attempt}/{stream}.log")
        return raw.decode("utf-8", "replace") if raw is not None else ""

    @property
    def stdout(self) -> str:
        return self.log("stdout")

    @property
    def stderr(self) -> str:
        return self.log("stderr")

    def _blob(self, name: str, entry: Dict[str, Any]) -> bytes:
        sha256, size = entry["sha256"], int(entry["size"])
        key = f"{self.step.run.flow_name}/data/{sha256[:2]}/{sha256}"
        data = self.store.get(key)
        if data is None:
            raise IntegrityError(f"artifact '{name}' of task {self.pathspec}: its blob {self.store.url}/{key} "
                                 "is missing (removed by hand or quarantined); podflow resume re-runs the task")
        actual = formats.sha256_hex(data)
        if len(data) != size or actual != sha256:
            raise IntegrityError(f"artifact '{name}' of task {self.pathspec}: blob {self.store.url}/{key} holds "
                                 f"{len(data)} bytes with SHA-256 {actual}, the manifest says {size} bytes "
                                 f"with SHA-256 {sha256}; it is damaged: podflow resume re-runs the task")
        return data

    def __repr__(self) -> str:
        return f"Task('{self.pathspec}')"


class DataArtifact:
    def __init__(self, task: Task, name: str, entry: Dict[str, Any]) -> None:
        self.task = task
        self.name = name
        self.sha256: str = entry["sha256"]
        self.size = int(entry["size"])
        self.pathspec = f"{task.pathspec}/{name}"

    @property
    def format(self) -> str:
        """How the artifact was written (json, text, bytes, npy, pickle); bytes without a record."""
        entry = self.task.manifest.get("artifacts", {}).get(formats.record_name(self.name))
        if entry is None:
            return "bytes"
        record = formats.parse_record(self.task._blob(formats.record_name(self.name), entry))
        return record[0] if record and record[1] == self.sha256 else "bytes"

    def raw(self) -> bytes:
        """The bytes, checked against the manifest's size and SHA-256."""
        return self.task._blob(self.name, {"sha256": self.sha256, "size": self.size})

    def read(self, format: Optional[str] = None) -> Any:
        """The value, decoded as recorded, or as FORMAT (json, text, bytes, npy, pickle)."""
        return formats.decode(self.name, format or self.format, self.raw())

    @property
    def data(self) -> Any:
        return self.read()

    def __repr__(self) -> str:
        return f"DataArtifact('{self.pathspec}', {self.size} bytes)"


class Data:
    """A task's artifact values by attribute: task.data.total, task.data["model/weights.bin"]."""

    def __init__(self, task: Task) -> None:
        self._task = task

    def __getitem__(self, name: str) -> Any:
        return self._task[name].data

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._task[name].data

    def __contains__(self, name: str) -> bool:
        return name in self._task

    def __dir__(self) -> List[str]:
        return self._task.artifact_names()


__all__ = ["Flow", "Run", "Step", "Task", "DataArtifact", "NotFound", "IntegrityError",
           "DatastoreError", "flows"]
