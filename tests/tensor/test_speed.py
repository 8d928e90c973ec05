"""The speed layer: blocks cover the range once, errors surface, every parallel operation gives
at two threads what it gives at one, and importing the engine changes nothing in the process."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from gpt_from_scratch.tensor import Tensor, get_num_threads, set_num_threads, speed
from gpt_from_scratch.tensor import functional as F
from gpt_from_scratch.tensor.speed import kernels, threads


def blas_threads():
    return {info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"}


@pytest.mark.parametrize("n_threads", [1, 2, 3, 5])
@pytest.mark.parametrize("n", [0, 1, 2, 7, 100])
def test_blocks_cover_the_range_exactly_once(thread_count, n_threads, n):
    thread_count(n_threads)
    hits = np.zeros(n, dtype=int)
    calls = []

    def block(start, stop):
        calls.append((start, stop))
        hits[start:stop] += 1

    speed.parallel_for(block, n)
    assert hits.tolist() == [1] * n
    assert len(calls) == max(1, min(n_threads, n))


def test_grain_keeps_small_work_in_one_call(thread_count):
    thread_count(4)
    calls = []
    speed.parallel_for(lambda start, stop: calls.append((start, stop)), 10, grain=6)
    assert calls == [(0, 10)]
    calls.clear()
    speed.parallel_for(lambda start, stop: calls.append((start, stop)), 12, grain=6)
    assert sorted(calls) == [(0, 6), (6, 12)]


def test_grain_rounds_up():
    assert speed.grain(1 << 19) == 2
    assert speed.grain(3, min_work=10) == 4
    assert speed.grain(0) == threads.MIN_MULTIPLY_ADDS
    assert speed.grain(1 << 30) == 1


def test_an_error_in_any_block_is_raised_after_all_blocks_finish(thread_count):
    thread_count(3)
    finished = []

    def block(start, stop):
        if start > 0:
            raise ArithmeticError(f"block {start}")
        finished.append(start)

    with pytest.raises(ArithmeticError, match="block"):
        speed.parallel_for(block, 9)
    assert finished == [0]


def test_a_nested_call_runs_in_its_block_without_deadlock(thread_count):
    thread_count(2)
    hits = np.zeros((4, 6), dtype=int)

    def outer(start, stop):
        for row in range(start, stop):

            def inner(a, b, row=row):
                hits[row, a:b] += 1

            speed.parallel_for(inner, 6)

    speed.parallel_for(outer, 4)
    assert (hits == 1).all()


def test_the_workers_run_again_after_a_block_raised(thread_count):
    thread_count(2)

    def failing(start, stop):
        raise KeyError(start)

    with pytest.raises(KeyError):
        speed.parallel_for(failing, 4)
    hits = np.zeros(4, dtype=int)

    def block(start, stop):
        hits[start:stop] += 1

    speed.parallel_for(block, 4)
    assert hits.tolist() == [1, 1, 1, 1]


def test_calls_from_two_program_threads_both_cover_their_ranges(thread_count):
    thread_count(2)
    hits = np.zeros((2, 1000), dtype=int)

    def run(row):
        for _ in range(50):

            def block(start, stop):
                hits[row, start:stop] += 1

            speed.parallel_for(block, 1000)

    others = [threading.Thread(target=run, args=(row,)) for row in range(2)]
    for thread in others:
        thread.start()
    for thread in others:
        thread.join()
    assert (hits == 50).all()


def engine_threads():
    return [t for t in threading.enumerate() if t.name.startswith("engine-")]


def test_set_num_threads_stops_the_old_workers(thread_count):
    thread_count(3)
    speed.parallel_for(lambda start, stop: None, 3)
    assert len(engine_threads()) == 2
    thread_count(2)
    speed.parallel_for(lambda start, stop: None, 2)
    deadline = time.monotonic() + 10
    while len(engine_threads()) > 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(engine_threads()) == 1


def test_set_num_threads_inside_a_block_is_an_error(thread_count):
    thread_count(2)
    errors = []

    def block(start, stop):
        try:
            set_num_threads(1)
        except RuntimeError as error:
            errors.append(str(error))

    speed.parallel_for(block, 2)
    assert len(errors) == 2 and "inside a parallel block" in errors[0]
    assert get_num_threads() == 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_runs_parallel_work_with_a_pool_of_its_own(thread_count):
    thread_count(2)
    speed.parallel_for(lambda start, stop: None, 10)  # the parent's pool now has a thread
    pid = os.fork()
    if pid == 0:  # the child: without a pool of its own this would wait forever
        hits = np.zeros(10, dtype=int)

        def block(start, stop):
            hits[start:stop] += 1

        speed.parallel_for(block, 10)
        os._exit(0 if (hits == 1).all() else 1)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("the forked child's parallel_for did not return within 30 s")


def test_set_num_threads_checks_its_argument(thread_count):
    for bad in (0, -1, 1.5, "2", True, None):
        with pytest.raises(ValueError, match="positive integer"):
            thread_count(bad)


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_blas_runs_one_thread_whatever_the_engine_runs(thread_count, n_threads):
    thread_count(n_threads)
    assert get_num_threads() == n_threads
    assert blas_threads() == {1}


@pytest.mark.parametrize(
    "a_shape, b_shape",
    [
        ((37, 8), (8, 5)),  # rows of a matrix
        ((3, 11, 8), (8, 5)),  # a batch of rows times one matrix
        ((6, 4, 9, 8), (6, 4, 8, 7)),  # two batches of one shape
        ((6, 9, 8), (1, 8, 7)),  # broadcasting: one numpy call
        ((2, 8), (2, 8, 3)),  # a matrix times a batch: one numpy call
    ],
)
@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_matmul_equals_numpy(thread_count, split_everything, a_shape, b_shape, n_threads):
    thread_count(n_threads)
    rng = np.random.default_rng(0)
    a = rng.standard_normal(a_shape).astype(np.float32)
    b = rng.standard_normal(b_shape).astype(np.float32)
    got = speed.matmul(a, b)
    expected = np.matmul(a, b)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_matmul_on_a_transposed_view(thread_count, split_everything):
    thread_count(2)
    x = np.random.default_rng(1).standard_normal((40, 6))
    g = np.random.default_rng(2).standard_normal((40, 3))
    np.testing.assert_allclose(speed.matmul(x.T, g), x.T @ g, rtol=1e-12)


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_matmuls_computes_every_product_in_one_region(
    thread_count, split_everything, monkeypatch, n_threads
):
    thread_count(n_threads)
    rng = np.random.default_rng(3)
    g = rng.standard_normal((4, 5, 7))  # products of different row counts, one of them batched
    w = rng.standard_normal((6, 7))
    x = rng.standard_normal((20, 6))
    regions, blocks = [], []
    real_parallel_for = kernels.parallel_for

    def recording_parallel_for(block, n, grain=1):
        regions.append(n)

        def recorded(start, stop):
            blocks.append((start, stop))
            block(start, stop)

        real_parallel_for(recorded, n, grain)

    monkeypatch.setattr(kernels, "parallel_for", recording_parallel_for)
    dx, dw = speed.matmuls((g, w.T), (x.T, g.reshape(20, 7)))
    np.testing.assert_allclose(dx, g @ w.T, rtol=1e-12)
    np.testing.assert_allclose(dw, x.T @ g.reshape(20, 7), rtol=1e-12)
    assert dx.shape == (4, 5, 6) and dw.shape == (6, 7)
    assert regions == [n_threads]  # one hand-over for both products
    assert sorted(blocks) == [(i, i + 1) for i in range(n_threads)]


def test_matmuls_keeps_small_products_on_the_calling_thread(thread_count, monkeypatch):
    thread_count(2)
    regions = []

    def recording_parallel_for(block, n, grain=1):
        regions.append(n)
        block(0, n)

    monkeypatch.setattr(kernels, "parallel_for", recording_parallel_for)
    (y,) = speed.matmuls((np.ones((32, 27)), np.ones((27, 10))))
    assert regions == [1] and (y == 27).all()


# ----- every parallel operation: two threads give what one gives -----


def random(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def forward_and_backward(function, *inputs):
    """function(*inputs) and the inputs' gradients, for a fixed random output gradient."""
    tensors = [Tensor(a, requires_grad=a.dtype.kind == "f") for a in inputs]
    y = function(*tensors)
    y.backward(random(*y.shape, seed=99))
    return [y.data] + [t.grad for t in tensors if t.requires_grad]


PARALLEL_OPERATIONS = {
    "matmul 2-D": lambda: forward_and_backward(lambda a, b: a @ b, random(37, 8), random(8, 5)),
    "matmul of a batch by a matrix": lambda: forward_and_backward(
        lambda a, b: a @ b, random(3, 11, 8), random(8, 5)
    ),
    "matmul of two batches": lambda: forward_and_backward(
        lambda a, b: a @ b, random(6, 4, 9, 8), random(6, 4, 8, 7)
    ),
    "matmuls": lambda: speed.matmuls(
        (random(4, 5, 7), random(7, 6)), (random(7, 20), random(20, 3))
    ),
    "linear with bias": lambda: forward_and_backward(
        F.linear, random(3, 10, 8), random(8, 16), random(16)
    ),
    "linear without bias": lambda: forward_and_backward(F.linear, random(30, 8), random(8, 16)),
    "linear then GELU": lambda: forward_and_backward(
        lambda x, w, b: F.linear(x, w, b).gelu(), random(3, 10, 8), random(8, 16), random(16)
    ),
    "GELU": lambda: forward_and_backward(lambda x: x.gelu(), random(5, 7, 9)),
    "GELU of a transposed view": lambda: forward_and_backward(lambda x: x.T.gelu(), random(6, 40)),
    "embedding, small table": lambda: forward_and_backward(
        F.embedding, np.array([[0, 2, 2], [4, 0, 1]]), random(5, 3)
    ),
    "embedding, large table": lambda: forward_and_backward(
        F.embedding, np.random.default_rng(1).integers(0, 500, (8, 40)), random(500, 64)
    ),
}


@pytest.mark.parametrize("operation", list(PARALLEL_OPERATIONS))
def test_two_threads_give_what_one_thread_gives(same_on_two_threads, operation):
    same_on_two_threads(PARALLEL_OPERATIONS[operation])


def test_elementwise_needs_contiguous_outputs():
    with pytest.raises(ValueError, match="C-contiguous"):
        speed.elementwise(np.negative, (np.ones(4),), (np.empty((4, 2)).T,))


# ----- nothing happens at import -----

IMPORT_THEN_ONE_OPERATION = """
import threading
import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

def blas():
    return sorted({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})

if ONE_CORE:
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
threadpool_limits(limits=2, user_api="blas")
before = blas()
import gpt_from_scratch.tensor as tensor
tensor.get_num_threads()
assert blas() == before, f"BLAS at {blas()} threads after the import, {before} before"
assert threading.active_count() == 1, threading.enumerate()
x = tensor.Tensor(np.ones((4, 3)), requires_grad=True)
(x @ tensor.Tensor(np.ones((3, 2)))).sum().backward()
assert blas() == [1], f"BLAS at {blas()} threads after the first matrix product"
print("threads", tensor.get_num_threads())
"""


@pytest.mark.parametrize("one_core", [False, True], ids=["all-cores", "one-core"])
def test_importing_the_engine_changes_nothing_until_its_first_operation(one_core):
    if one_core and not hasattr(os, "sched_setaffinity"):
        pytest.skip("needs sched_setaffinity")
    code = f"import os\nONE_CORE = {one_core}\n" + textwrap.dedent(IMPORT_THEN_ONE_OPERATION)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    if one_core:
        assert result.stdout.split() == ["threads", "1"]
