"""A PEP 517 build backend for this package, standard library only, so `pip install ./sdk/python`
needs nothing from the network, even in a fresh venv with build isolation. (setuptools before 70.1,
which Debian bookworm and Python 3.11's venvs ship, cannot build a wheel without the separate
`wheel` package, so an offline install failed there.) It builds a pure-Python wheel of src/podflow
with the metadata of pyproject.toml's [project] table, an sdist, and editable installs (a .pth)."""
from __future__ import annotations

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile
from typing import Dict, List, Optional

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(HERE, "src", "podflow")


def _project() -> Dict[str, str]:
    """The simple string fields of [project] (tomllib is only in Python 3.11+)."""
    with open(os.path.join(HERE, "pyproject.toml")) as file:
        text = file.read()
    table = text.split("[project]", 1)[1].split("\n[", 1)[0]
    return dict(re.findall(r'^([a-z-]+) = "([^"]*)"$', table, re.MULTILINE))


def _metadata() -> str:
    project = _project()
    with open(os.path.join(HERE, "README.md")) as file:
        readme = file.read()
    return (f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
            f"Summary: {project['description']}\nRequires-Python: {project['requires-python']}\n"
            "Provides-Extra: s3\nRequires-Dist: boto3; extra == \"s3\"\n"
            "Provides-Extra: numpy\nRequires-Dist: numpy; extra == \"numpy\"\n"
            f"Description-Content-Type: text/markdown\n\n{readme}")


def _wheel(directory: str, files: Dict[str, bytes]) -> str:
    project = _project()
    name = f"{project['name']}-{project['version']}"
    dist_info = f"{name}.dist-info"
    files = dict(files)
    files[f"{dist_info}/METADATA"] = _metadata().encode()
    files[f"{dist_info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: podflow_build\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{dist_info}/RECORD,,")
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    filename = f"{name}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, filename), "w", zipfile.ZIP_DEFLATED) as wheel:
        for path, data in files.items():
            wheel.writestr(zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0)), data)
    return filename


def _package_files() -> Dict[str, bytes]:
    files = {}
    for entry in sorted(os.listdir(PACKAGE)):
        if entry.endswith(".py") or entry == "py.typed":
            with open(os.path.join(PACKAGE, entry), "rb") as file:
                files[f"podflow/{entry}"] = file.read()
    return files


def get_requires_for_build_wheel(config_settings: Optional[dict] = None) -> List[str]:
    return []


get_requires_for_build_sdist = get_requires_for_build_editable = get_requires_for_build_wheel


def build_wheel(wheel_directory: str, config_settings: Optional[dict] = None,
                metadata_directory: Optional[str] = None) -> str:
    return _wheel(wheel_directory, _package_files())


def build_editable(wheel_directory: str, config_settings: Optional[dict] = None,
                   metadata_directory: Optional[str] = None) -> str:
    return _wheel(wheel_directory, {"podflow.pth": (os.path.join(HERE, "src") + "\n").encode()})


def build_sdist(sdist_directory: str, config_settings: Optional[dict] = None) -> str:
    project = _project()
    name = f"{project['name']}-{project['version']}"
    with tarfile.open(os.path.join(sdist_directory, f"{name}.tar.gz"), "w:gz") as sdist:
        for path in ["pyproject.toml", "README.md", "build_backend/podflow_build.py"] + [
                f"src/{p}" for p in _package_files()]:
            sdist.add(os.path.join(HERE, path), arcname=f"{name}/{path}")
        info = (f"{_metadata()}").encode()
        entry = tarfile.TarInfo(f"{name}/PKG-INFO")
        entry.size = len(info)
        sdist.addfile(entry, io.BytesIO(info))
    return f"{name}.tar.gz"
