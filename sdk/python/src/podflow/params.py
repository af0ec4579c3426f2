"""Flow parameters, typed as the flow declares them. The step contract passes every parameter as
text (PODFLOW_PARAM_<NAME>) and the declared types as JSON (PODFLOW_PARAMETER_TYPES); values read
as those types. `parameters(...)` in a steps file declares or overrides a type (the flow
document's type names or the Python types), e.g. for a runtime that does not export the types."""
from __future__ import annotations

import json
import math
import os
import re
from typing import Any, Callable, Dict, Iterator, Mapping, Union

_INTEGER = re.compile(r"[+-]?[0-9]+\Z")
TypeName = Union[str, type]


class ParameterError(ValueError):
    """A parameter that is missing, undeclared or whose value does not fit its type."""


def _integer(text: str) -> int:
    if not _INTEGER.match(text):
        raise ValueError("not a decimal integer")
    value = int(text)
    if not -(2**63) <= value < 2**63:
        raise ValueError("outside the 64-bit range")
    return value


def _number(text: str) -> float:
    value = float(text)  # ValueError names the text
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return value


def _boolean(text: str) -> bool:
    if text in ("true", "false"):
        return text == "true"
    raise ValueError("neither true nor false")


_PARSERS: Dict[str, Callable[[str], Any]] = {
    "string": str, "integer": _integer, "number": _number, "boolean": _boolean, "json": json.loads,
}
_PYTHON_TYPES: Dict[Any, str] = {
    str: "string", int: "integer", float: "number", bool: "boolean", dict: "json", list: "json",
}

_declared: Dict[str, str] = {}


def flow_type(kind: TypeName) -> str:
    name = _PYTHON_TYPES.get(kind) if isinstance(kind, type) else kind
    if name not in _PARSERS:
        raise ParameterError(
            f"unknown parameter type {kind!r}: use one of the flow's types "
            f"({', '.join(_PARSERS)}) or str, int, float, bool, dict, list")
    return name


def parameters(**types: TypeName) -> None:
    """Declares parameter types as the flow document does: parameters(count=int, alpha="number").
    Without it a parameter reads as the flow declares it (PODFLOW_PARAMETER_TYPES), else as a str
    (the flow's default type, string)."""
    for name, kind in types.items():
        _declared[name] = flow_type(kind)


def _variable(name: str) -> str:
    return "PODFLOW_PARAM_" + name.upper()


class Parameters(Mapping[str, Any]):
    """The run's parameters, typed: task.params.count, task.params["count"]."""

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        self._raw = {key[len("PODFLOW_PARAM_"):].lower(): value
                     for key, value in environ.items() if key.startswith("PODFLOW_PARAM_")}
        self._flow_types: Dict[str, str] = {}
        text = environ.get("PODFLOW_PARAMETER_TYPES")
        if text:
            try:
                types = json.loads(text)
            except ValueError as error:
                raise ParameterError(f"PODFLOW_PARAMETER_TYPES is not JSON ({error}): {text[:80]!r}") from None
            if not isinstance(types, dict) or not all(
                    isinstance(kind, str) and kind in _PARSERS for kind in types.values()):
                raise ParameterError(f"PODFLOW_PARAMETER_TYPES is not a map of parameter types: {text[:80]!r}")
            self._flow_types = types

    def __getitem__(self, name: str) -> Any:
        if name not in self._raw:
            known = ", ".join(sorted(self._raw)) or "none"
            raise ParameterError(
                f"no parameter '{name}' in this run ({_variable(name)} is not set); the run's "
                f"parameters: {known}; add it to the flow's spec.parameters")
        kind = _declared.get(name) or self._flow_types.get(name, "string")
        text = self._raw[name]
        try:
            return _PARSERS[kind](text)
        except ValueError as error:
            where = "in this steps file" if name in _declared else "by the flow"
            raise ParameterError(
                f"parameter '{name}' is declared {kind} {where} but its value "
                f"{text[:80]!r} is not one ({error}); declare the type the flow declares") from None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except ParameterError as error:
            raise AttributeError(str(error)) from None

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._raw))

    def __len__(self) -> int:
        return len(self._raw)

    def __repr__(self) -> str:
        return f"Parameters({', '.join(sorted(self._raw))})"
