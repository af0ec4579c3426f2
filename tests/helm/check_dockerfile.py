#!/usr/bin/env python3
"""The Dockerfile's rules (no image build needed): multi-stage; every base image pinned (no
`latest`, no untagged image, unless by digest); a build stage that runs scripts/install-deps and
cmake and assembles the image's root with podflow, podflow-runtime and podflow-operator in
/usr/local/bin; the image that runs (the last stage) is FROM scratch with only that root (no
shell, no package manager), a PATH, and the numeric non-root USER 65532; .dockerignore keeps
build trees and .git out of the context."""
import os
import re
import shlex
import sys

ROOT = os.environ.get("PODFLOW_SOURCE_DIR", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BINARIES = ("podflow", "podflow-runtime", "podflow-operator")
errors = []


def error(message):
    errors.append(message)


def instructions(text):
    """(keyword, arguments) per instruction: comments dropped, continuation lines joined."""
    out, current = [], ""
    for line in text.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if current and stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        keyword, _, rest = current.partition(" ")
        out.append((keyword.upper(), rest.strip()))
        current = ""
    if current:
        error("the Dockerfile ends inside a continued line")
    return out


def resolve(image, args):
    return re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), image)


def pinned(image):
    if "@sha256:" in image:
        return True
    name = image.rsplit("/", 1)[-1]
    if ":" not in name:
        return False  # untagged = latest
    tag = name.split(":", 1)[1]
    return tag != "latest" and "$" not in tag


text = open(os.path.join(ROOT, "Dockerfile")).read()
steps = instructions(text)
args = {}  # global ARG defaults (before the first FROM)
stages = []  # {"name", "base", "steps"}
for keyword, rest in steps:
    if keyword == "ARG" and not stages:
        name, _, default = rest.partition("=")
        args[name] = default.strip('"')
    elif keyword == "FROM":
        words = rest.split()
        words = [w for w in words if not w.startswith("--platform")]
        name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
        stages.append({"name": name, "base": resolve(words[0], args), "steps": []})
    elif stages:
        stages[-1]["steps"].append((keyword, rest))
    elif keyword not in ("ARG",):
        error(f"{keyword} before the first FROM")

if len(stages) < 2:
    error(f"not multi-stage: {len(stages)} FROM")
names = {s["name"] for s in stages if s["name"]}
for stage in stages:
    base = stage["base"]
    if base in names or base == "scratch":
        continue
    if not pinned(base):
        error(f"stage {stage['name'] or '?'}: base image {base!r} is not pinned (a tag other than latest, or a digest)")

# the build stage: the developers' dependencies and a cmake build of the three binaries
build = [s for s in stages if any(k == "RUN" and "cmake" in r for k, r in s["steps"])]
if not build:
    error("no stage runs cmake")
else:
    runs = " ".join(r for k, r in build[0]["steps"] if k in ("RUN", "COPY"))
    if "install-deps" not in runs:
        error("the build stage does not use scripts/install-deps")
    for binary in BINARIES:
        if not re.search(rf"(--target|\s){re.escape(binary)}(\s|$)", runs):
            error(f"the build stage does not build {binary}")


final = stages[-1]
# The image that runs: FROM scratch, holding only the root the build stage assembled (binaries,
# the libraries ldd names, the CA bundle, passwd/group): no shell, no package manager, so nothing
# in it can install software.
if final["base"] != "scratch":
    error(f"the final stage is FROM {final['base']!r}; want scratch (only the assembled root)")
if any(k == "RUN" for k, _ in final["steps"]):
    error("the final stage has a RUN: it would need a shell in the image")
copies = [shlex.split(r) for k, r in final["steps"] if k == "COPY"]
if not any("--from=" + (build[0]["name"] if build else "build") in c and c[-1] == "/" for c in copies):
    error("the final stage does not COPY the assembled root from the build stage to /")
assembly = " ".join(r for k, r in (build[0]["steps"] if build else []) if k == "RUN")
copied = set()
for binary in BINARIES:
    if re.search(rf"/out/bin/{re.escape(binary)}\b[^;]*\$root/usr/local/bin", assembly):
        copied.add(binary)
    else:
        error(f"the build stage does not put {binary} into the root's /usr/local/bin")
for shell in ("/bin/sh", "/bin/bash", "busybox", "apt", "dpkg"):
    if re.search(rf"cp [^;]*{re.escape(shell)}[^;]*\$root", assembly):
        error(f"the assembled root gets {shell}")
if not any(k == "ENV" and "PATH=" in r for k, r in final["steps"]):
    error("the final stage sets no PATH (a scratch image has none; the init container finds "
          "podflow-runtime on it)")
users = [rest for keyword, rest in final["steps"] if keyword == "USER"]
if not users:
    error("no USER: the image would run as root")
else:
    user = users[-1].split(":")[0]
    if user != "65532":
        error(f"the last USER is {users[-1]!r}; want the numeric non-root uid 65532 (Pod Security runAsNonRoot checks a number)")

ignore = open(os.path.join(ROOT, ".dockerignore")).read().split()
for must in (".git", "build", "build-*"):
    if must not in ignore:
        error(f".dockerignore does not exclude {must}")

if errors:
    print("Dockerfile: " + "\nDockerfile: ".join(errors), file=sys.stderr)
    sys.exit(1)
print(f"ok: Dockerfile has {len(stages)} stages ({', '.join(s['name'] or s['base'] for s in stages)}); "
      f"the final one copies {', '.join(sorted(copied))}, runs as {users[-1]}")
