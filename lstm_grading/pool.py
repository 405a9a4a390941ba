"""The worker pool of a grading run: processes that die with the coordinator, tasks never lost.

Each worker is a fresh interpreter (``spawn``: its parent is the coordinator itself), asks the
kernel to kill it when the coordinator dies (``PR_SET_PDEATHSIG``), ignores Ctrl-C (the
coordinator handles it), imports nbgrader once, then runs one task at a time sent over its own
pipe. A worker that dies mid-task (killed, out of memory) is reported with the task it held and
replaced; the other workers carry on. The caller decides whether to retry.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
from collections import deque
from multiprocessing.connection import wait

from . import linux


def _worker(conn, parent: int, functions, preload: bool) -> None:
    linux.die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if preload:
        from . import sandbox

        sandbox.preload()
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        kind, payload = task
        conn.send(functions[kind](payload))


class Pool:
    """``size`` workers running ``functions[kind](payload)`` (module-level functions).

    ``preload``: import nbgrader and the rest of a job's needs in each worker first.
    """

    def __init__(self, size: int, functions: dict, preload: bool = True):
        self.size, self.functions, self.preload = size, functions, preload
        self.ctx = multiprocessing.get_context("spawn")
        self.idle: list = []
        self.busy: dict = {}  # worker -> (key, task)
        self.queue: deque = deque()
        self.workers: list = []

    def _start(self):
        mine, theirs = self.ctx.Pipe()
        proc = self.ctx.Process(
            target=_worker, args=(theirs, os.getpid(), self.functions, self.preload), daemon=True
        )
        proc.start()
        theirs.close()
        worker = (proc, mine)
        self.workers.append(worker)
        self.idle.append(worker)

    def submit(self, key, kind: str, payload) -> None:
        self.queue.append((key, (kind, payload)))

    def _dispatch(self) -> None:
        while self.queue and (self.idle or len(self.workers) < self.size):
            if not self.idle:
                self._start()
            worker = self.idle.pop()
            key, task = self.queue.popleft()
            worker[1].send(task)
            self.busy[worker] = (key, task)

    def results(self):
        """Yield ``(key, result, None)`` or ``(key, None, why the worker died)`` per task."""
        self._dispatch()
        while self.busy:
            by_handle = {}
            for worker in self.busy:
                by_handle[worker[1]] = worker
                by_handle[worker[0].sentinel] = worker
            for handle in wait(list(by_handle)):
                worker = by_handle[handle]
                if worker not in self.busy:
                    continue
                proc, conn = worker
                key, _ = self.busy[worker]
                try:
                    result = conn.recv() if conn.poll() else None
                except (EOFError, OSError):
                    result = None
                if result is not None:
                    del self.busy[worker]
                    self.idle.append(worker)
                    yield key, result, None
                elif not proc.is_alive():
                    del self.busy[worker]
                    self._drop(worker)
                    proc.join()
                    yield key, None, _death(proc.exitcode)
            self._dispatch()

    def _drop(self, worker) -> None:
        self.workers.remove(worker)
        with contextlib.suppress(ValueError):
            self.idle.remove(worker)
        worker[1].close()

    def close(self) -> None:
        """Stop every worker now (their jobs die with them)."""
        for proc, conn in self.workers:
            with contextlib.suppress(OSError):
                conn.close()
            if proc.is_alive():
                proc.kill()
            proc.join()
        self.workers, self.idle, self.busy = [], [], {}

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        return f"the worker process grading it was killed ({signal.Signals(-exitcode).name})"
    return f"the worker process grading it exited with status {exitcode}"
