#!/usr/bin/env python3
"""The seeds' BigSum with parallel_map, in Python: `start` builds a size x size matrix of
exponentially distributed numbers (as R's rexp) and sums it in blocks of rows, each on one of the
cores the step asked for (resources.cpu); `end` prints the sum. Standard library only, so it runs
wherever python3 does; with NumPy the rows would be arrays and the sums faster, the shape the same."""
import random
import time

from podflow import current, main, parallel_map, parameters, step

parameters(size=int)


def make_row(row, size):
    generator = random.Random(row + 1)  # a seed per row: the same matrix on any number of cores
    return [generator.expovariate(1.0) for _ in range(size)]


@step
def start(task):
    size = task.params.size
    began = time.time()
    # rows are made in the worker processes and come back to this one
    matrix = parallel_map(lambda row: make_row(row, size), range(size))
    block = max(1, size // (4 * current.cores))
    parts = parallel_map(lambda i: sum(map(sum, matrix[i:i + block])), range(0, size, block))
    task.sum = sum(parts)
    task.took = time.time() - began
    task.cores = current.cores
    print(f"summed a {size} x {size} matrix on {current.cores} core(s) in {task.took * 1000:.0f}ms")


@step
def end(task):
    print("The sum is %f." % task.sum)
    print("Computing it took %dms on %d core(s)." % (task.took * 1000, task.cores))


if __name__ == "__main__":
    main()
