"""parallel_map: Metaflow's parallel_map, on the cores the step asked for (current.cores).

Workers are forked processes, as Metaflow's are, so FN may be a lambda or a closure over a large
array: a child gets the parent's memory without pickling it. Only items' results (and
exceptions) travel back, pickled through a pipe. Items are handed out one at a time from a
shared counter, so uneven work balances. The first exception (in item order among those
raised) is raised again in the caller, with the worker's traceback attached as its cause."""
from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import traceback
from typing import Any, Callable, Iterable, List, Optional, Sequence, Tuple, TypeVar, cast

from .context import current

T = TypeVar("T")
R = TypeVar("R")

_FAILED = object()


class WorkerError(RuntimeError):
    """A worker process failed in a way its exception could not describe: it died (a signal,
    os._exit, out of memory), or its result or exception could not be pickled."""


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a worker, attached as the __cause__."""

    def __str__(self) -> str:
        return "\n" + str(self.args[0])


def _work(fn: Callable[[Any], Any], items: Sequence[Any], counter: Any,
          connection: multiprocessing.connection.Connection) -> None:
    """A worker: take the next index, compute, send (index, ok, value) until none are left."""
    while True:
        with counter.get_lock():
            index = counter.value
            counter.value += 1
        if index >= len(items):
            break
        try:
            message: Tuple[int, bool, Any] = (index, True, fn(items[index]))
        except BaseException as error:  # noqa: BLE001 (carried back to the caller)
            message = (index, False, (error, traceback.format_exc()))
        try:
            connection.send(message)
        except Exception as error:  # noqa: BLE001 (an unpicklable result or exception)
            kind = "result" if message[1] else f"exception {message[2][0]!r}"
            detail = "" if message[1] else f"\n{message[2][1]}"
            connection.send((index, False, (WorkerError(
                f"parallel_map: the {kind} of item {index} cannot be sent back: {error}"), detail)))
        if not message[1]:
            with counter.get_lock():
                counter.value = len(items)  # stop handing out work
            break
    connection.close()


def parallel_map(fn: Callable[[T], R], items: Iterable[T], max_parallel: Optional[int] = None) -> List[R]:
    """[fn(item) for item in items], computed by up to MAX_PARALLEL forked processes (default:
    the cores the step asked for), in order. An exception raised by fn is raised here."""
    work = list(items)
    workers = min(max_parallel or current.cores, len(work))
    if workers <= 1:
        return [fn(item) for item in work]  # no process is worth starting
    context = multiprocessing.get_context("fork")
    counter = context.Value("q", 0)
    processes, connections = [], []
    results: List[Any] = [_FAILED] * len(work)
    failure: Optional[Tuple[int, BaseException, str]] = None
    try:
        for _ in range(workers):
            receiver, sender = context.Pipe(duplex=False)
            process = context.Process(target=_work, args=(fn, work, counter, sender), daemon=True)
            process.start()
            sender.close()  # the worker holds the only writer: EOF when it exits
            processes.append(process)
            connections.append(receiver)
        open_connections = list(connections)
        while open_connections:
            for ready in multiprocessing.connection.wait(open_connections):
                connection = cast(multiprocessing.connection.Connection, ready)
                try:
                    index, ok, value = cast(Tuple[int, bool, Any], connection.recv())
                except EOFError:
                    open_connections.remove(connection)
                    continue
                if ok:
                    results[index] = value
                elif failure is None or index < failure[0]:
                    failure = (index, value[0], value[1])
        for process in processes:
            process.join()
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
                process.join()
        for connection in connections:
            connection.close()
    if failure is not None:
        index, error, text = failure
        raise error from RemoteTraceback(f"item {index} failed in a parallel_map worker:\n{text}")
    lost = [index for index, value in enumerate(results) if value is _FAILED]
    if lost:
        codes = sorted({process.exitcode for process in processes if process.exitcode})
        raise WorkerError(
            f"parallel_map: {len(lost)} item(s) got no result (first: item {lost[0]}); a worker "
            f"process died (exit codes {codes}: a negative code is the signal, -9 often the "
            "out-of-memory killer; raise resources.memory)")
    return results


__all__ = ["parallel_map", "WorkerError"]
