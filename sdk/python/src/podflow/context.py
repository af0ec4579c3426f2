"""`current`: what a running step knows about itself (Metaflow's `current`), read from the
environment the step contract gives every step (docs/step-contract.md)."""
from __future__ import annotations

import math
import os
from typing import Optional, Tuple


class NotInStepError(RuntimeError):
    """A step-only value was asked for outside a podflow step."""


def require_env(name: str) -> str:
    value = os.environ.get(name)
    if value is None:
        raise NotInStepError(
            f"{name} is not set: this runs only as a step of a podflow flow "
            f"(podflow run flow.yaml runs `command: [python3, steps.py, STEP]`)")
    return value


class Current:
    """Read on every access, so it is right in a forked parallel_map worker too."""

    @property
    def flow_name(self) -> str:
        return require_env("PODFLOW_FLOW")

    @property
    def run_id(self) -> str:
        return require_env("PODFLOW_RUN_ID")

    @property
    def step_name(self) -> str:
        return require_env("PODFLOW_STEP")

    @property
    def task_id(self) -> str:
        """The step plus its split path: `square.3`, `train.1.3`, `end`."""
        return require_env("PODFLOW_TASK_ID")

    @property
    def attempt(self) -> int:
        """0, then 1, 2, ... for retries (Metaflow's retry_count)."""
        return int(require_env("PODFLOW_ATTEMPT"))

    @property
    def split_index(self) -> Optional[int]:
        """This split's index in its foreach; None outside a foreach split."""
        value = os.environ.get("PODFLOW_SPLIT_INDEX", "")
        return int(value) if value else None

    @property
    def split_path(self) -> Tuple[int, ...]:
        """The indices of the enclosing foreach splits, outermost first; () outside any."""
        value = require_env("PODFLOW_SPLIT_PATH")
        return tuple(int(part) for part in value.split(".")) if value else ()

    @property
    def cpu(self) -> float:
        """The cores the step asked for (resources.cpu): 2.0, 0.5."""
        return float(require_env("PODFLOW_CPU"))

    @property
    def cores(self) -> int:
        """Worker processes worth starting: cpu rounded up, at least 1; the machine's cores when
        the program runs outside a step (as C++'s podflow::step_cores)."""
        value = os.environ.get("PODFLOW_CPU")
        if value:
            try:
                cpu = float(value)
                if cpu > 0 and math.isfinite(cpu):
                    return max(1, math.ceil(cpu))
            except ValueError:
                pass
        return max(1, os.cpu_count() or 1)

    @property
    def pathspec(self) -> str:
        """flow/run/step/task, as the Client API names the task."""
        return f"{self.flow_name}/{self.run_id}/{self.step_name}/{self.task_id}"

    @property
    def is_running_flow(self) -> bool:
        return "PODFLOW_RUN_ID" in os.environ and "PODFLOW_OUTPUTS" in os.environ

    def __repr__(self) -> str:
        if not self.is_running_flow:
            return "current(not in a podflow step)"
        return f"current({self.pathspec}, attempt {self.attempt}, cpu {self.cpu:g})"


current = Current()
