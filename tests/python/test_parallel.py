"""parallel_map: results in order, lambdas and closures, the step's cores, exceptions carried
back with the worker's traceback, and workers that die or send what cannot be pickled."""
import os
import signal
import threading
import time

import pytest

from podflow import WorkerError, current, parallel_map


def test_results_in_order_with_a_lambda_over_a_closure():
    big = list(range(1000))
    assert parallel_map(lambda i: sum(big[i:i + 100]), range(0, 1000, 100), max_parallel=3) == \
        [sum(big[i:i + 100]) for i in range(0, 1000, 100)]


def test_empty_and_single():
    assert parallel_map(lambda x: x, []) == []
    assert parallel_map(lambda x: x + 1, [1]) == [2]


def test_workers_are_processes_sized_by_the_step_cpu(monkeypatch):
    monkeypatch.setenv("PODFLOW_CPU", "2")
    assert current.cores == 2
    pids = parallel_map(lambda _: (time.sleep(0.2), os.getpid())[1], range(8))
    assert len(set(pids)) == 2 and os.getpid() not in pids
    monkeypatch.setenv("PODFLOW_CPU", "0.5")
    assert current.cores == 1
    assert set(parallel_map(lambda _: os.getpid(), range(4))) == {os.getpid()}  # one core: inline


def test_large_results_come_back():
    blocks = parallel_map(lambda i: bytes([i]) * (8 << 20), range(4), max_parallel=2)
    assert [len(b) for b in blocks] == [8 << 20] * 4 and blocks[3][0] == 3


class Boom(Exception):
    pass


def fail_on_three(i):
    if i == 3:
        raise Boom(f"item {i} is bad")
    return i


def test_exception_is_raised_in_the_caller_with_the_remote_traceback():
    with pytest.raises(Boom, match="item 3 is bad") as error:
        parallel_map(fail_on_three, range(20), max_parallel=4)
    cause = str(error.value.__cause__)
    assert "item 3 failed in a parallel_map worker" in cause and "fail_on_three" in cause


def test_unpicklable_result_is_a_worker_error():
    with pytest.raises(WorkerError, match="result of item 0 cannot be sent back"):
        parallel_map(lambda i: threading.Lock(), range(2), max_parallel=2)


def test_a_worker_that_dies_is_reported():
    def die(i):
        if i == 1:
            os.kill(os.getpid(), signal.SIGKILL)
        return i
    with pytest.raises(WorkerError, match=r"got no result .*exit codes \[-9\]"):
        parallel_map(die, range(4), max_parallel=2)
