"""Which format each kind of value gets, that it reads back as the same value and type, and that
a value refused by a forced format says why."""
import json
import math
import subprocess
import sys

import numpy
import pytest

from conftest import SOURCE
from podflow import formats
from podflow.formats import FormatError, decode, encode, natural_format


@pytest.mark.parametrize("value, expected", [
    ({"a": [1, 2.5, None, True, "x"]}, "json"),
    ([], "json"),
    (42, "json"),
    (None, "json"),
    ("héllo\n", "text"),
    (b"\x00\xff", "bytes"),
    (bytearray(b"ab"), "bytes"),
    ((1, 2), "pickle"),            # JSON would turn it into a list
    ({1: "a"}, "pickle"),          # JSON keys are strings
    ([float("nan")], "pickle"),    # not JSON
    ({1, 2}, "pickle"),
    (numpy.arange(6).reshape(2, 3), "npy"),
    (numpy.array([object()]), "pickle"),  # .npy holds objects only through pickle
    (numpy.float64(1.5), "pickle"),       # a NumPy scalar is not an exact float
])
def test_natural_format(value, expected):
    assert natural_format(value) == expected


@pytest.mark.parametrize("value", [
    {"nested": {"list": [1, -2, 3.25, "ü", None, False]}}, "text", b"\x00bytes", (1, (2, 3)),
    {3: "int key"}, complex(1, 2), [[1], [2]],
])
def test_round_trip_keeps_value_and_type(value):
    chosen, data = encode("x", value)
    back = decode("x", chosen, data)
    assert back == value and type(back) is type(value)


def test_json_is_plain_json_text_other_languages_read():
    chosen, data = encode("x", {"n": 1, "s": "é"})
    assert chosen == "json" and json.loads(data.decode()) == {"n": 1, "s": "é"}
    assert encode("t", "plain text")[1] == b"plain text"  # no quotes: C++ reads it as it is


def test_npy_round_trip():
    array = numpy.linspace(0, 1, 12, dtype=numpy.float32).reshape(3, 4)
    chosen, data = encode("a", array)
    assert chosen == "npy" and data.startswith(b"\x93NUMPY")
    back = decode("a", chosen, data)
    assert back.dtype == numpy.float32 and numpy.array_equal(back, array)


def test_cyclic_list_is_pickled():
    value: list = [1]
    value.append(value)
    chosen, data = encode("cycle", value)
    assert chosen == "pickle" and decode("cycle", chosen, data)[1][0] == 1


@pytest.mark.parametrize("value, format, message", [
    ((1, 2), "json", "convert it (a tuple to a list)"),
    ([math.inf], "json", "finite float"),
    (b"x", "text", "is a bytes, not a str"),
    ("x", "bytes", "is a str, not bytes"),
    ([1], "npy", "not a NumPy array"),
    (lambda: 1, "pickle", "cannot be stored as pickle"),
    (1, "yaml", "unknown format 'yaml'"),
])
def test_forced_format_refuses_with_reason(value, format, message):
    with pytest.raises(FormatError, match="artifact 'x'") as error:
        encode("x", value, format)
    assert message in str(error.value)


def test_unknown_recorded_format_says_upgrade():
    with pytest.raises(FormatError, match="unknown to this podflow package.*format='bytes'"):
        decode("x", "parquet", b"")


def test_record_names_and_checks_bytes():
    record = formats.record_bytes("json", b"[1]")
    assert formats.parse_record(record) == ("json", formats.sha256_hex(b"[1]"))
    assert formats.parse_record(b"garbage") is None
    assert formats.record_name("model/w.bin") == ".podflow/format/model/w.bin"


def test_npy_without_numpy_names_the_fix():
    _, data = encode("a", numpy.arange(3))
    program = ("import sys; sys.modules['numpy'] = None\n"
               "from podflow.formats import decode\n"
               "try:\n    decode('a', 'npy', sys.stdin.buffer.read())\n"
               "except Exception as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", program], input=data, capture_output=True,
                         env={"PYTHONPATH": str(SOURCE)}).stdout.decode()
    assert "NumPy is not installed: pip install numpy" in out, out
