#!/usr/bin/env python3
"""The fanout example's steps, written with the podflow Python package (sdk/python): each step is
a function, artifacts are attributes of `task`, the join gets its parents as `inputs`."""
from podflow import main, step


@step
def start(task):
    task.items = [{"id": i, "label": f"item-{i}"} for i in range(task.params.count)]


@step
def square(task):
    item = task.input  # this split's element of `items`
    task.result = {"id": item["id"], "square": item["id"] ** 2}


@step
def join(task, inputs):
    seen = {}
    for parent in inputs:
        result = parent.result
        seen[result["id"]] = seen.get(result["id"], 0) + 1
        assert result["square"] == result["id"] ** 2, result
    count = task.params.count
    missing = [i for i in range(count) if i not in seen]
    doubled = [i for i, n in seen.items() if n != 1]
    if missing or doubled or len(seen) != count:
        raise SystemExit(f"join: missing {missing[:10]}, seen more than once {doubled[:10]}")
    print(f"join: all {count} items arrived exactly once")
    task.total = sum(i * i for i in range(count))


@step
def end(task):
    print("The sum of squares is", task.total)


if __name__ == "__main__":
    main()
