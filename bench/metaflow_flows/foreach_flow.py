"""(b) A foreach of no-op steps: start makes the list (PODFLOW_BENCH_SPLITS items, default 1000),
noop runs once per item and only calls self.next, join, end."""
import os

from metaflow import FlowSpec, step


class ForeachFlow(FlowSpec):
    @step
    def start(self):
        self.items = list(range(int(os.environ.get("PODFLOW_BENCH_SPLITS", "1000"))))
        self.next(self.noop, foreach="items")

    @step
    def noop(self):
        self.next(self.join)

    @step
    def join(self, inputs):
        self.next(self.end)

    @step
    def end(self):
        pass


if __name__ == "__main__":
    ForeachFlow()
