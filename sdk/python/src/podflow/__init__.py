"""podflow for Python: write a flow's steps as functions in one file, and read runs afterwards.

Steps (standard library only):   step, main, parameters, current, parallel_map, TaskContext, Inputs
Reading runs (Client API):       Flow, Run, Step, Task, DataArtifact, flows

See docs/python.md."""
from .client import DataArtifact, Flow, IntegrityError, NotFound, Run, Step, Task, flows
from .context import NotInStepError, current
from .formats import FormatError
from .parallel import WorkerError, parallel_map
from .params import ParameterError, Parameters, parameters
from .steps import Input, Inputs, MergeError, TaskContext, main, step
from .stores import DatastoreError

__version__ = "0.1.0"
__all__ = [
    "step", "main", "parameters", "current", "parallel_map", "TaskContext", "Input", "Inputs",
    "Parameters", "Flow", "Run", "Step", "Task", "DataArtifact", "flows",
    "FormatError", "MergeError", "NotFound", "IntegrityError", "DatastoreError", "NotInStepError",
    "ParameterError", "WorkerError",
]
