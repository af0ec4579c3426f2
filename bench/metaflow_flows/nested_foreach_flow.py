"""(c) A nested foreach, PODFLOW_BENCH_OUTER x PODFLOW_BENCH_INNER (default 10 x 100) no-op
splits: start -> outer (foreach) -> inner (foreach) -> inner_join -> outer_join -> end."""
import os

from metaflow import FlowSpec, step


class NestedForeachFlow(FlowSpec):
    @step
    def start(self):
        self.outer_items = list(range(int(os.environ.get("PODFLOW_BENCH_OUTER", "10"))))
        self.next(self.outer, foreach="outer_items")

    @step
    def outer(self):
        self.inner_items = list(range(int(os.environ.get("PODFLOW_BENCH_INNER", "100"))))
        self.next(self.inner, foreach="inner_items")

    @step
    def inner(self):
        self.next(self.inner_join)

    @step
    def inner_join(self, inputs):
        self.next(self.outer_join)

    @step
    def outer_join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    NestedForeachFlow()
