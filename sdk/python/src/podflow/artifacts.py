"""A step's artifacts on disk: one directory of them (the inputs of a linear step, one parent's
inputs in a join), read by name with the format their record names (see formats.py)."""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional

from . import formats


class ArtifactNotFound(AttributeError, KeyError):
    """No artifact of that name; the message names those that exist. An AttributeError so
    getattr(task, "x", None) and hasattr work; a KeyError for task["x"]."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


def check_name(name: str) -> None:
    """Artifact names are relative paths inside the outputs directory (docs/step-contract.md)."""
    parts = name.split("/")
    if not name or name.startswith("/") or any(part in ("", ".", "..") for part in parts):
        raise ValueError(f"artifact name {name!r} is not a relative path like 'model/weights.bin'")
    if formats.is_record(name) or name == ".podflow" or name.startswith(".podflow/"):
        raise ValueError(f"artifact name {name!r}: .podflow/ holds podflow's own records; pick another name")


def describe(names: List[str], limit: int = 20) -> str:
    if not names:
        return "none"
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


class ArtifactDir:
    """Artifacts stored as files under ROOT; LABEL says whose they are in messages."""

    def __init__(self, root: str, label: str) -> None:
        self.root = root
        self.label = label
        self._names: Optional[List[str]] = None
        self._cache: Dict[str, Any] = {}

    def names(self) -> List[str]:
        """Every artifact here (not podflow's records), sorted."""
        if self._names is None:
            found = []
            for directory, subdirectories, files in os.walk(self.root):
                relative = os.path.relpath(directory, self.root)
                for file in files:
                    name = file if relative == "." else f"{relative}/{file}".replace(os.sep, "/")
                    if not name.startswith(".podflow/"):
                        found.append(name)
            self._names = sorted(found)
        return self._names

    def path(self, name: str) -> str:
        return os.path.join(self.root, *name.split("/"))

    def has(self, name: str) -> bool:
        return os.path.isfile(self.path(name))

    def raw(self, name: str) -> bytes:
        check_name(name)
        try:
            with open(self.path(name), "rb") as file:
                return file.read()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise ArtifactNotFound(
                f"{self.label} has no artifact '{name}'; it has: {describe(self.names())}") from None

    def recorded_format(self, name: str, data: bytes) -> str:
        """The format NAME's record gives for these bytes; 'bytes' without a matching record."""
        try:
            with open(self.path(formats.record_name(name)), "rb") as file:
                record = formats.parse_record(file.read())
        except OSError:
            return "bytes"
        if record is None or record[1] != formats.sha256_hex(data):
            return "bytes"  # rewritten by a program that keeps no record
        return record[0]

    def read(self, name: str, format: Optional[str] = None) -> Any:
        """The value of NAME: decoded as its record says, or as FORMAT when given."""
        key = f"{format}:{name}"
        if key not in self._cache:
            data = self.raw(name)
            self._cache[key] = formats.decode(name, format or self.recorded_format(name, data), data)
        return self._cache[key]

    def format_of(self, name: str) -> str:
        return self.recorded_format(name, self.raw(name))
