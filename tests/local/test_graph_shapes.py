"""Every valid graph shape runs locally, and artifacts arrive where they should: the end step's
trail lists every task on every path, in split order, with each foreach item."""
from harness import expect, flow, main


def step(name, next_steps=(), kind="plain", extra=""):
    text = f"- name: {name}\n  command: [sh, trail_step.sh, {kind}]\n"
    if next_steps:
        text += f"  next: [{', '.join(next_steps)}]\n"
    if kind == "fan":
        text += "  foreach: items\n"
    if kind == "join":
        text += "  join: true\n"
    return text + extra


SHAPES = {
    "linear": (
        step("start", ["a"]) + step("a", ["end"]) + step("end"),
        "start a end",
    ),
    "branch": (
        step("start", ["left", "right"]) + step("left", ["join"]) + step("right", ["join"])
        + step("join", ["end"], "join") + step("end"),
        "[start left | start right] join end",
    ),
    "foreach": (
        step("start", ["each"], "fan") + step("each", ["join"]) + step("join", ["end"], "join")
        + step("end"),
        '[start each.0="a" | start each.1="b,c" | start each.2={"d":[1,2]}] join end',
    ),
    "nested-foreach": (
        step("start", ["outer"], "fan") + step("outer", ["inner"], "fan")
        + step("inner", ["join_inner"]) + step("join_inner", ["join_outer"], "join")
        + step("join_outer", ["end"], "join") + step("end"),
        "[" + " | ".join(
            "[" + " | ".join(f'start outer.{o}={oi} inner.{o}.{i}={ii}'
                             for i, ii in enumerate(['"a"', '"b,c"', '{"d":[1,2]}'])) + f"] join_inner.{o}"
            for o, oi in enumerate(['"a"', '"b,c"', '{"d":[1,2]}'])) + "] join_outer end",
    ),
    "branch-in-foreach": (
        step("start", ["each"], "fan") + step("each", ["a", "b"]) + step("a", ["join_ab"])
        + step("b", ["join_ab"]) + step("join_ab", ["join_each"], "join")
        + step("join_each", ["end"], "join") + step("end"),
        "[" + " | ".join(
            f"[start each.{n}={item} a.{n} | start each.{n}={item} b.{n}] join_ab.{n}"
            for n, item in enumerate(['"a"', '"b,c"', '{"d":[1,2]}'])) + "] join_each end",
    ),
    "foreach-in-branch": (
        step("start", ["a", "b"]) + step("a", ["each"], "fan") + step("each", ["join_each"])
        + step("join_each", ["join"], "join") + step("b", ["join"]) + step("join", ["end"], "join")
        + step("end"),
        '[[start a each.0="a" | start a each.1="b,c" | start a each.2={"d":[1,2]}] join_each'
        " | start b] join end",
    ),
}


def make_test(shape):
    steps, expected = SHAPES[shape]

    def test(workspace):
        workspace.write("trail_step.sh", open(__file__.replace("test_graph_shapes.py", "trail_step.sh")).read())
        workspace.write("flow.yaml", flow(shape.replace("-", ""), steps))
        result = workspace.podflow("run", "flow.yaml", check=0)
        run = workspace.run_id(result)
        logs = workspace.podflow("logs", f"{run}/end", check=0)
        expect(logs.stdout.strip() == expected,
               f"{shape}: the end step saw\n  {logs.stdout.strip()}\nexpected\n  {expected}")
        record = workspace.record(run)
        expect(record["state"] == "succeeded", f"{shape}: state {record['state']}")

    test.__name__ = f"shape_{shape.replace('-', '_')}"
    return test


if __name__ == "__main__":
    main([make_test(shape) for shape in SHAPES])
