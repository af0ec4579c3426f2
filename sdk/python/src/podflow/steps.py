"""Steps as functions in one file: @step registers them, main() runs the one named on the command
line (`command: [python3, steps.py, square]`). A step function receives the task's context,
`task`, which reads and writes artifacts as attributes, as Metaflow's `self` does; a join also
receives `inputs`, its parents' artifacts in order.

    @step
    def square(task):
        task.result = task.input ** 2          # the foreach item; stored when the step returns

    @step
    def join(task, inputs):
        task.total = sum(parent.result for parent in inputs)
"""
from __future__ import annotations

import inspect
import json
import os
import shutil
import sys
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple, overload

from . import formats
from .artifacts import ArtifactDir, ArtifactNotFound, check_name, describe
from .context import require_env
from .params import Parameters

StepFunction = Callable[..., None]
_steps: Dict[str, Tuple[StepFunction, bool]] = {}  # name -> (function, is a join)


class MergeError(ValueError):
    """merge_artifacts found an artifact whose parents disagree."""


class Input:
    """One parent task's artifacts in a join: `parent.result`, `parent["model/weights.bin"]`."""

    def __init__(self, task_id: str, root: str) -> None:
        self.task_id = task_id
        self.step_name = task_id.split(".", 1)[0]
        self._artifacts = ArtifactDir(root, f"parent task {task_id}")

    def read(self, name: str, format: Optional[str] = None) -> Any:
        return self._artifacts.read(name, format)

    def names(self) -> List[str]:
        return self._artifacts.names()

    def format_of(self, name: str) -> str:
        return self._artifacts.format_of(name)

    def __getitem__(self, name: str) -> Any:
        return self._artifacts.read(name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self._artifacts.read(name)

    def __contains__(self, name: str) -> bool:
        return self._artifacts.has(name)

    def __repr__(self) -> str:
        return f"Input({self.task_id})"


class Inputs(Sequence[Input]):
    """A join's parents in the contract's order: split order for a foreach, the flow document's
    order for a static branch. `inputs.left` is the parent of step `left` (static branches)."""

    def __init__(self, parents: List[Input]) -> None:
        self._parents = parents

    @overload
    def __getitem__(self, index: int) -> Input: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Input]: ...
    def __getitem__(self, index: Any) -> Any:
        return self._parents[index]

    def __len__(self) -> int:
        return len(self._parents)

    def __iter__(self) -> Iterator[Input]:
        return iter(self._parents)

    def __getattr__(self, step_name: str) -> Input:
        if step_name.startswith("_"):
            raise AttributeError(step_name)
        matches = [parent for parent in self._parents if parent.step_name == step_name]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            steps = sorted({parent.step_name for parent in self._parents})
            raise AttributeError(f"this join has no parent step '{step_name}'; its parents: {describe(steps)}")
        raise AttributeError(
            f"step '{step_name}' has {len(matches)} tasks in this join (a foreach): "
            f"iterate inputs or index them, inputs[0]")

    def __repr__(self) -> str:
        return f"Inputs({', '.join(parent.task_id for parent in self._parents)})"


# What a step reads through `task` that is not an artifact.
_OWN_NAMES = frozenset({"params", "input", "index", "read", "write", "merge_artifacts", "format_of", "names"})


class TaskContext:
    """What a step function gets as `task`: parameters, the foreach item, and artifacts.

    Reading `task.x` gives the value this task assigned, else its inherited input `x`; assigning
    `task.x = value` stores `x` when the step function returns (as Metaflow stores `self.x`), in
    the format formats.py picks (JSON, text, bytes, .npy, else pickle). Names that are not Python
    identifiers (paths such as 'model/weights.bin') use task["..."] or read/write."""

    def __init__(self, outputs: str, inputs: Optional[ArtifactDir], join: bool) -> None:
        object.__setattr__(self, "_outputs", outputs)
        object.__setattr__(self, "_inputs", inputs)
        object.__setattr__(self, "_join", join)
        object.__setattr__(self, "_pending", {})  # name -> (value, format)
        object.__setattr__(self, "_copies", {})   # name -> (artifact file, record file or None)
        object.__setattr__(self, "params", Parameters())

    # ---- the foreach item ----
    @property
    def input(self) -> Any:
        """This split's element of the foreach list (Metaflow's self.input)."""
        path = os.environ.get("PODFLOW_FOREACH_ITEM")
        if not path:
            raise AttributeError(
                f"task.input: step {os.environ.get('PODFLOW_STEP', '?')} is not a foreach split "
                "(no PODFLOW_FOREACH_ITEM); only the step after a `foreach:` step has an item")
        with open(path, "rb") as file:
            item: Any = json.loads(file.read().decode("utf-8"))
        return item

    @property
    def index(self) -> int:
        """This split's index in its foreach (Metaflow's self.index)."""
        value = os.environ.get("PODFLOW_SPLIT_INDEX", "")
        if not value:
            raise AttributeError("task.index: this step is not a foreach split (no PODFLOW_SPLIT_INDEX)")
        return int(value)

    # ---- artifacts ----
    def read(self, name: str, format: Optional[str] = None) -> Any:
        """The value of artifact NAME: this task's own if it wrote one, else its input.
        FORMAT reads an input as json, text, bytes, npy or pickle regardless of its record (for
        artifacts of steps in other languages, which keep none and so read as bytes)."""
        check_name(name)
        if name in self._pending and format is None:
            return self._pending[name][0]
        if self._inputs is None:
            raise ArtifactNotFound(
                f"task.{name}: a join reads its inputs per parent (inputs[0].{name}, "
                f"inputs.<step>.{name}); keep values with task.merge_artifacts(inputs) or assign them")
        return self._inputs.read(name, format)

    def write(self, name: str, value: Any, format: Optional[str] = None) -> None:
        """Stores VALUE as artifact NAME when the step returns; FORMAT forces one (format='json'
        fails at once for a value JSON cannot hold, so a C++ reader is sure to get JSON)."""
        check_name(name)
        if format is not None:
            formats.encode(name, value, format)  # fail here, at the caller's line
        self._pending[name] = (value, format)
        self._copies.pop(name, None)

    def format_of(self, name: str) -> str:
        """The format an input artifact is recorded in ('bytes' when it has no record)."""
        if self._inputs is None:
            raise ArtifactNotFound("a join has no inputs of its own; ask inputs[i].format_of(name)")
        return str(self._inputs.format_of(name))

    def names(self) -> List[str]:
        """The artifacts this task sees: its inputs (not in a join) and what it assigned."""
        inherited = self._inputs.names() if self._inputs is not None else []
        return sorted(set(inherited) | set(self._pending) | set(self._copies))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.read(name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _OWN_NAMES or name.startswith("_"):
            raise AttributeError(
                f"task.{name} is podflow's own; store an artifact of that name with task.write({name!r}, value)")
        self.write(name, value)

    def __getitem__(self, name: str) -> Any:
        return self.read(name)

    def __setitem__(self, name: str, value: Any) -> None:
        self.write(name, value)

    def __contains__(self, name: str) -> bool:
        return name in self._pending or (self._inputs is not None and self._inputs.has(name))

    # ---- joins ----
    def merge_artifacts(self, inputs: Inputs, include: Optional[Sequence[str]] = None,
                        exclude: Sequence[str] = ()) -> List[str]:
        """Keeps every artifact of the parents that they agree on (the same bytes in each parent
        that has it), as Metaflow's merge_artifacts: a join otherwise starts afresh. Artifacts
        this task assigned win; INCLUDE limits the merge to those names, EXCLUDE skips names.
        Raises MergeError naming each artifact whose parents differ, and the fix. Returns the
        merged names."""
        if not self._join:
            raise MergeError("merge_artifacts is for a join step: def join(task, inputs)")
        holders: Dict[str, List[Input]] = {}
        for parent in inputs:
            for name in parent.names():
                holders.setdefault(name, []).append(parent)
        wanted = sorted(holders) if include is None else list(include)
        missing = [name for name in wanted if name not in holders]
        if missing:
            raise MergeError(f"merge_artifacts(include=...): no parent has {describe(missing)}; "
                             f"the parents have {describe(sorted(holders))}")
        conflicts, merged = [], []
        for name in wanted:
            if name in exclude or name in self._pending:
                continue
            parents = holders[name]
            first = parents[0]
            contents = {_file_digest(parent._artifacts.path(name)) for parent in parents}
            if len(contents) > 1:
                conflicts.append(f"'{name}' ({', '.join(p.task_id for p in parents[:4])}"
                                 f"{' ...' if len(parents) > 4 else ''})")
                continue
            path = first._artifacts.path(name)
            record = first._artifacts.path(formats.record_name(name))
            valid = first._artifacts.format_of(name) != "bytes" and os.path.isfile(record)
            self._copies[name] = (path, record if valid else None)
            merged.append(name)
        if conflicts:
            raise MergeError(
                f"merge_artifacts: the parents differ on {', '.join(conflicts)}; assign "
                "task.<name> before merging, or pass exclude=[...] to leave them out")
        return merged

    # ---- commit ----
    def _store(self) -> None:
        """Writes every assigned and merged artifact, with its format record, to the outputs."""
        for name, (value, format) in self._pending.items():
            chosen, data = formats.encode(name, value, format)
            _write_file(self._outputs, name, data)
            _write_file(self._outputs, formats.record_name(name), formats.record_bytes(chosen, data))
        for name, (path, record) in self._copies.items():
            target = os.path.join(self._outputs, *name.split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(path, target)  # a copy: inputs are shared, read-only blobs
            if record is not None:
                record_target = os.path.join(self._outputs, *formats.record_name(name).split("/"))
                os.makedirs(os.path.dirname(record_target), exist_ok=True)
                shutil.copyfile(record, record_target)


def _file_digest(path: str) -> Tuple[int, str]:
    import hashlib  # noqa: PLC0415
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return os.path.getsize(path), digest.hexdigest()


def _write_file(outputs: str, name: str, data: bytes) -> None:
    path = os.path.join(outputs, *name.split("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as file:
        file.write(data)


def step(function: StepFunction) -> StepFunction:
    """Registers FUNCTION as the step of its name: def square(task) for a step, def join(task,
    inputs) for a join."""
    count = len(inspect.signature(function).parameters)
    if count not in (1, 2):
        raise TypeError(f"step {function.__name__} takes {count} arguments; a step takes (task), "
                        "a join (task, inputs)")
    if function.__name__ in _steps:
        raise ValueError(f"two steps are named {function.__name__}")
    _steps[function.__name__] = (function, count == 2)
    return function


def step_names() -> List[str]:
    return list(_steps)


def run_step(name: str) -> None:
    """Runs registered step NAME in this process, as the step contract's environment describes."""
    if name not in _steps:
        raise LookupError(f"no step '{name}' in this file; its steps: {describe(list(_steps))}")
    function, join = _steps[name]
    outputs = require_env("PODFLOW_OUTPUTS")
    inputs_root = require_env("PODFLOW_INPUTS")
    with open(require_env("PODFLOW_INPUT_TASKS")) as file:
        parents = file.read().split()
    if join:
        inputs = Inputs([Input(parent, os.path.join(inputs_root, parent)) for parent in parents])
        task = TaskContext(outputs, None, join=True)
        function(task, inputs)
    else:
        if len(parents) > 1:
            raise TypeError(f"step {name} has {len(parents)} parent tasks, so it is a join: "
                            f"define it as def {name}(task, inputs)")
        label = f"step {name}'s inputs (from {parents[0]})" if parents else f"step {name} (no inputs: it is the first step)"
        task = TaskContext(outputs, ArtifactDir(inputs_root, label), join=False)
        function(task)
    task._store()


def main(argv: Optional[List[str]] = None) -> None:
    """The entry point of a steps file: `python3 steps.py STEP` runs STEP. Exits 2 on a usage
    error; an exception in the step fails the task (exit 1, its traceback on stderr)."""
    args = sys.argv[1:] if argv is None else argv
    program = os.path.basename(sys.argv[0]) if sys.argv else "steps.py"
    if len(args) != 1 or args[0] not in _steps:
        given = f"no step '{args[0]}' here. " if len(args) == 1 else ""
        sys.stderr.write(f"{program}: {given}usage: {program} STEP, STEP one of: "
                         f"{describe(list(_steps))} (a flow runs it as `command: [python3, {program}, STEP]`)\n")
        sys.exit(2)
    if "PODFLOW_OUTPUTS" not in os.environ:
        sys.stderr.write(f"{program}: PODFLOW_OUTPUTS is not set: run this step through podflow "
                         f"(podflow run flow.yaml), which gives it its inputs and outputs\n")
        sys.exit(2)
    run_step(args[0])
