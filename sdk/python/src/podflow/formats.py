"""How a Python value becomes an artifact's bytes and back, and where the format is recorded.

An artifact's file holds the value itself, so programs in any language read it as before: JSON
text for JSON values, the bytes of `bytes`, the UTF-8 of a `str`, an .npy file for a NumPy array,
and a pickle only when nothing else fits. The format of an artifact NAME is recorded in a small
artifact of its own, `.podflow/format/NAME`: {"format": "json", "sha256": "<of NAME's bytes>"}.
It follows NAME through the contract's inheritance rules (same path, so it is inherited, hidden
and dropped exactly as NAME is), and its sha256 says which bytes it describes: when another
program later rewrote NAME, the record no longer matches and the artifact reads as bytes.
An artifact without a matching record (written by a C++ or shell step) reads as bytes.
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import pickle
import sys
from typing import Any, Optional, Set, Tuple

FORMATS = ("json", "text", "bytes", "npy", "pickle")
RECORD_DIR = ".podflow/format"
PICKLE_PROTOCOL = 4  # read by every Python podflow supports (3.9+)


class FormatError(ValueError):
    """A value that cannot be stored in the format asked for, or bytes that do not decode."""


def record_name(name: str) -> str:
    """The artifact that records NAME's format."""
    return f"{RECORD_DIR}/{name}"


def is_record(name: str) -> bool:
    return name.startswith(RECORD_DIR + "/")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _numpy() -> Any:
    """NumPy if the program already imported it or it is installed; None otherwise."""
    if "numpy" in sys.modules:
        return sys.modules["numpy"]
    try:
        import numpy  # noqa: PLC0415 (optional dependency)
    except ImportError:
        return None
    return numpy


def _is_ndarray(value: Any) -> bool:
    # Only look when NumPy is loaded: a value cannot be an ndarray otherwise.
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.ndarray)


def is_plain_json(value: Any) -> bool:
    """True for values made only of dict (str keys), list, str, int, float (finite), bool, None.

    Exact types on purpose: a tuple, an int subclass or a dict with int keys would come back from
    JSON as something else, so those are pickled instead of silently changing type."""
    stack = [value]
    seen: Set[int] = set()
    while stack:
        item = stack.pop()
        kind = type(item)
        if item is None or kind in (bool, int, str):
            continue
        if kind is float:
            if not math.isfinite(item):
                return False  # NaN and infinities are not JSON
            continue
        if kind not in (list, dict):
            return False
        if id(item) in seen:
            continue  # shared or cyclic; json.dumps rejects cycles later
        seen.add(id(item))
        if kind is list:
            stack.extend(item)
        else:
            for key, member in item.items():
                if type(key) is not str:
                    return False
                stack.append(member)
    return True


def natural_format(value: Any) -> str:
    """The format podflow picks for VALUE when none is asked for."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "bytes"
    if type(value) is str:
        return "text"
    if is_plain_json(value):
        return "json"
    if _is_ndarray(value) and not value.dtype.hasobject:
        return "npy"
    return "pickle"


def encode(name: str, value: Any, format: Optional[str] = None) -> Tuple[str, bytes]:
    """(format, bytes) for artifact NAME holding VALUE. FormatError says why it cannot be."""
    if format is None:
        chosen = natural_format(value)
        if chosen == "json":
            try:
                return chosen, json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
            except (ValueError, RecursionError):
                chosen = "pickle"  # a list that contains itself, or nested too deep for JSON
    else:
        chosen = format
    if chosen not in FORMATS:
        raise FormatError(f"artifact '{name}': unknown format '{chosen}'; use one of {', '.join(FORMATS)}")
    try:
        if chosen == "bytes":
            if not isinstance(value, (bytes, bytearray, memoryview)):
                raise FormatError(f"is a {type(value).__name__}, not bytes")
            return chosen, bytes(value)
        if chosen == "text":
            if not isinstance(value, str):
                raise FormatError(f"is a {type(value).__name__}, not a str")
            return chosen, value.encode("utf-8")
        if chosen == "json":
            if not is_plain_json(value):
                raise FormatError(
                    f"a {type(value).__name__} is not made of dict (str keys), list, str, int, "
                    "finite float, bool and None only; convert it (a tuple to a list) or drop format='json'")
            return chosen, json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")
        if chosen == "npy":
            numpy = _numpy()
            if numpy is None or not isinstance(value, numpy.ndarray):
                raise FormatError(f"is a {type(value).__name__}, not a NumPy array")
            if value.dtype.hasobject:
                raise FormatError("is a NumPy array of Python objects, which .npy cannot hold without pickle")
            buffer = io.BytesIO()
            numpy.save(buffer, value, allow_pickle=False)
            return chosen, buffer.getvalue()
        return chosen, pickle.dumps(value, protocol=PICKLE_PROTOCOL)
    except FormatError as error:
        raise FormatError(f"artifact '{name}' cannot be stored as {chosen}: {error}") from None
    except (ValueError, TypeError, pickle.PicklingError, AttributeError, RecursionError) as error:
        raise FormatError(f"artifact '{name}' cannot be stored as {chosen}: {error}") from error


def decode(name: str, format: str, data: bytes) -> Any:
    """The value of artifact NAME from its bytes in FORMAT."""
    try:
        if format == "bytes":
            return data
        if format == "text":
            return data.decode("utf-8")
        if format == "json":
            return json.loads(data.decode("utf-8"))
        if format == "npy":
            numpy = _numpy()
            if numpy is None:
                raise FormatError(
                    "it is a NumPy array (.npy) and NumPy is not installed: pip install numpy, "
                    "or read its bytes with format='bytes'")
            return numpy.load(io.BytesIO(data), allow_pickle=False)
        if format == "pickle":
            return pickle.loads(data)
    except FormatError as error:
        raise FormatError(f"cannot read artifact '{name}': {error}") from None
    except (ValueError, UnicodeDecodeError, pickle.UnpicklingError, EOFError) as error:
        raise FormatError(f"cannot read artifact '{name}' as {format}: {error}") from error
    raise FormatError(
        f"cannot read artifact '{name}': its format '{format}' is unknown to this podflow package "
        f"(it knows {', '.join(FORMATS)}); upgrade it, or read the bytes with format='bytes'")


def record_bytes(format: str, data: bytes) -> bytes:
    """The content of the format record for an artifact with these bytes."""
    return json.dumps({"format": format, "sha256": sha256_hex(data)}).encode("utf-8")


def parse_record(text: bytes) -> Optional[Tuple[str, str]]:
    """(format, sha256) from a record's content; None when it is not one (then: bytes)."""
    try:
        record = json.loads(text.decode("utf-8"))
        return str(record["format"]), str(record["sha256"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None
