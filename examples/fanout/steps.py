#!/usr/bin/env python3
"""The fanout example's steps in Python: any program following the step contract is a step."""
import json
import os
import sys


def inputs(*parts):
    return os.path.join(os.environ["PODFLOW_INPUTS"], *parts)


def output(name, value):
    with open(os.path.join(os.environ["PODFLOW_OUTPUTS"], name), "w") as f:
        json.dump(value, f)


def start():
    count = int(os.environ["PODFLOW_PARAM_COUNT"])
    output("items", [{"id": i, "label": f"item-{i}"} for i in range(count)])


def square():
    with open(os.environ["PODFLOW_FOREACH_ITEM"]) as f:
        item = json.load(f)
    output("result", {"id": item["id"], "square": item["id"] ** 2})


def join():
    with open(os.environ["PODFLOW_INPUT_TASKS"]) as f:
        parents = f.read().split()
    seen = {}
    for parent in parents:
        with open(inputs(parent, "result")) as f:
            result = json.load(f)
        seen[result["id"]] = seen.get(result["id"], 0) + 1
        assert result["square"] == result["id"] ** 2, result
    count = int(os.environ["PODFLOW_PARAM_COUNT"])
    missing = [i for i in range(count) if i not in seen]
    doubled = [i for i, n in seen.items() if n != 1]
    if missing or doubled or len(seen) != count:
        sys.exit(f"join: missing {missing[:10]}, seen more than once {doubled[:10]}")
    print(f"join: all {count} items arrived exactly once")
    output("total", sum(i * i for i in range(count)))


def end():
    with open(inputs("total")) as f:
        print("The sum of squares is", json.load(f))


if __name__ == "__main__":
    {"start": start, "square": square, "join": join, "end": end}[sys.argv[1]]()
