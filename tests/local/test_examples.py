"""The examples run as their READMEs say: bigsum prints its sum, branch joins both branches, and
fanout's join sees all 1000 items exactly once."""
import os

from harness import REPO, expect, main


def example(name):
    return os.path.join(REPO, "examples", name, "flow.yaml")


def test_bigsum(workspace):
    result = workspace.podflow("run", example("bigsum"), "--param", "size=2000", check=0)
    logs = workspace.podflow("logs", f"{workspace.run_id(result)}/end", check=0)
    lines = logs.stdout.splitlines()
    expect(len(lines) == 2 and lines[0].startswith("The sum is "), f"end printed {logs.stdout!r}")
    total = float(lines[0].split()[-1])
    # 4 million Exp(1) numbers: the mean is 1, so the sum is about 4e6.
    expect(abs(total - 4e6) < 4e4, f"the sum {total} is not near 4,000,000")
    expect(lines[1].startswith("Computing it took ") and "on 2 core(s)" in lines[1], lines[1])


def test_branch(workspace):
    result = workspace.podflow("run", example("branch"), "--param", "greeting=hi", check=0)
    logs = workspace.podflow("logs", f"{workspace.run_id(result)}/end", check=0)
    expect(logs.stdout == "left saw: hi\nright saw: hi\n", f"end printed {logs.stdout!r}")


def test_fanout_of_1000(workspace):
    result = workspace.podflow("run", example("fanout"), "--max-num-splits", "1000", check=0,
                               timeout=900)
    run = workspace.run_id(result)
    join = workspace.podflow("logs", f"{run}/join", check=0)
    expect(join.stdout.strip() == "join: all 1000 items arrived exactly once", join.stdout)
    end = workspace.podflow("logs", f"{run}/end", check=0)
    expect(end.stdout.strip() == f"The sum of squares is {sum(i * i for i in range(1000))}", end.stdout)
    status = workspace.podflow("status", run, check=0)
    expect("square" in status.stdout and " 1000 " in status.stdout, status.stdout)
    listing = workspace.podflow("list", check=0)
    expect(f"{run}" in listing.stdout and "succeeded" in listing.stdout, listing.stdout)


if __name__ == "__main__":
    main([test_bigsum, test_branch, test_fanout_of_1000])
