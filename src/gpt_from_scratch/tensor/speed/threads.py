"""The worker pool: one operation's rows split over a few threads, started when first needed.

numpy releases Python's global interpreter lock inside its loops and its BLAS calls, so Python
threads that each work on their own block of rows really run at the same time, one per core.
`parallel_for` calls a function of a row range on blocks that together cover the range, at
once, and returns when all are done. Every block writes to its own rows, so no two threads
touch the same memory.

Nothing happens at import. The first `parallel_for` (or a `set_num_threads` call) starts the
layer: it holds BLAS to one thread, keeps freed memory for reuse (see memory.py) and tells a
forked child to make workers of its own; the workers themselves are made by the first call
that splits.

>>> import numpy as np
>>> out = np.zeros(10)
>>> def fill(start, stop):
...     out[start:stop] = np.arange(start, stop)
>>> parallel_for(fill, 10)
>>> out.tolist() == list(range(10))
True
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from threadpoolctl import threadpool_limits

from gpt_from_scratch.tensor.speed.memory import keep_freed_memory


def _available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity mask
        return os.cpu_count() or 1


# The least work worth a thread of its own: some 20 microseconds of one core, in multiply-adds
# for matrix products and in array entries for elementwise passes (each a few nanoseconds).
# Waking a sleeping worker and hearing back from it takes longer, 50 to 100 microseconds on a
# virtual machine, but the caller computes meanwhile, and on the GPT a larger grain was slower.
MIN_MULTIPLY_ADDS = 1 << 20
MIN_ENTRIES = 1 << 15

_num_threads = _available_cores()
_started = False  # read by every parallel_for: one boolean test per call
_start_lock = threading.Lock()
_workers: list[_Worker] = []  # made at the first call that splits
_in_use = threading.Lock()  # held while a parallel_for hands blocks to the workers
_inside = threading.local()  # set in a block being run, so a nested call runs serially


def start() -> None:
    """Make the layer's process-wide settings now, unless an earlier call has made them."""
    if not _started:
        _start()


def _start() -> None:
    """The process-wide settings the layer needs, made once, by its first call."""
    global _started
    with _start_lock:
        if _started:
            return
        # BLAS's own threads spin between products on the cores our blocks need:
        # the layer splits the products itself, so BLAS gets one thread.
        threadpool_limits(limits=1, user_api="blas")
        keep_freed_memory()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=_forget_workers_in_child)
        _started = True


class _Worker:
    """A pool thread that runs one block at a time, handed over through two locks.

    A bare lock is the cheapest way to wake a sleeping thread and to hear back from it: a
    concurrent.futures pool adds a queue, a future and a condition variable to every block,
    which measured some 20 microseconds more per hand-over.
    """

    def __init__(self, name: str):
        self.go = threading.Lock()  # released by the caller: a task is ready
        self.done = threading.Lock()  # released by the worker: the task is finished
        self.go.acquire()
        self.done.acquire()
        self.task: tuple[Callable[[int, int], None], int, int] | None = None
        self.error: BaseException | None = None
        threading.Thread(target=self._loop, name=name, daemon=True).start()

    def _loop(self) -> None:
        while True:
            self.go.acquire()
            if self.task is None:  # asked to stop
                return
            try:
                _run_inside(*self.task)
            except BaseException as error:  # handed to the caller, raised there
                self.error = error
            self.done.release()

    def start(self, block: Callable[[int, int], None], start: int, stop: int) -> None:
        self.task, self.error = (block, start, stop), None
        self.go.release()

    def wait(self) -> BaseException | None:
        """Block until the task is finished; the error it raised, if any."""
        self.done.acquire()
        self.task = None
        return self.error

    def stop(self) -> None:
        self.task = None
        self.go.release()


def get_num_threads() -> int:
    """How many threads one engine operation uses (as torch.get_num_threads)."""
    return _num_threads


def set_num_threads(n: int) -> None:
    """Use `n` threads per operation (as torch.set_num_threads); 1 runs everything serially."""
    global _num_threads, _workers
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive integer, got {n!r}")
    if getattr(_inside, "active", False):
        raise RuntimeError("set_num_threads: cannot be called inside a parallel block")
    _start()
    with _in_use:  # waits for a parallel_for of another thread to finish
        for worker in _workers:
            worker.stop()
        _workers = []
        _num_threads = n


def _get_workers() -> list[_Worker]:
    global _workers
    if not _workers:
        _workers = [_Worker(f"engine-{i}") for i in range(1, _num_threads)]
    return _workers


def _forget_workers_in_child() -> None:
    """A forked child has none of its parent's threads: it starts workers of its own when needed."""
    global _workers, _in_use
    _workers = []
    _in_use = threading.Lock()  # the parent may have held it while forking


def parallel_for(block: Callable[[int, int], None], n: int, grain: int = 1) -> None:
    """Call block(start, stop), at once, on contiguous ranges that cover range(n).

    Each range holds at least `grain` items, so work too small to share runs in one
    call. The first range runs on the calling thread; the call returns when every
    range is done, and an exception raised in any of them is raised here. A call made
    while the workers are busy (in a block, or from a second thread of the program)
    runs serially.
    """
    if not _started:
        _start()
    parts = min(_num_threads, n // max(grain, 1))
    nested = getattr(_inside, "active", False)
    if parts <= 1 or nested or not _in_use.acquire(blocking=False):
        block(0, n)
        return
    try:
        bounds = [n * i // parts for i in range(parts + 1)]
        workers = _get_workers()[: parts - 1]
        for i, worker in enumerate(workers, start=1):
            worker.start(block, bounds[i], bounds[i + 1])
        try:
            _run_inside(block, bounds[0], bounds[1])
        finally:
            errors = [worker.wait() for worker in workers]  # waits for every block
    finally:
        _in_use.release()
    for error in errors:
        if error is not None:
            raise error


def grain(work_per_row: int, min_work: int | None = None) -> int:
    """The fewest rows worth handing to a thread: enough that their work reaches `min_work`
    (by default MIN_MULTIPLY_ADDS, read at the call, so that tests can lower it).

    >>> grain(128 * 512), grain(512, MIN_ENTRIES)
    (16, 64)
    """
    min_work = MIN_MULTIPLY_ADDS if min_work is None else min_work
    return max(1, -(-min_work // max(work_per_row, 1)))


def _run_inside(block: Callable[[int, int], None], start: int, stop: int) -> None:
    _inside.active = True
    try:
        block(start, stop)
    finally:
        _inside.active = False
