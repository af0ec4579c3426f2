#!/usr/bin/env python3
"""The chart's crds/ are byte-for-byte copies of the top-level crds/ (the one source of truth,
written by crds/generate.py). Fix a failure with:  cp crds/*.yaml charts/podflow/crds/"""
import filecmp
import os
import sys

root = os.environ.get("PODFLOW_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
top = os.path.join(root, "crds")
chart = os.path.join(root, "charts", "podflow", "crds")
want = sorted(f for f in os.listdir(top) if f.endswith(".yaml"))
have = sorted(f for f in os.listdir(chart) if f.endswith(".yaml"))
errors = []
if want != have:
    errors.append(f"charts/podflow/crds holds {have}, crds/ holds {want}")
for name in want:
    path = os.path.join(chart, name)
    if os.path.islink(path):
        errors.append(f"charts/podflow/crds/{name} is a symlink; it must be a copy (see charts/podflow/README.md)")
    elif not os.path.exists(path) or not filecmp.cmp(os.path.join(top, name), path, shallow=False):
        errors.append(f"charts/podflow/crds/{name} differs from crds/{name}")
if errors:
    print("\n".join(errors) + "\nfix: cp crds/*.yaml charts/podflow/crds/", file=sys.stderr)
    sys.exit(1)
print(f"ok: charts/podflow/crds matches crds/ ({', '.join(want)})")
