"""The engine's thread pool: blocks cover the range once, errors surface, results do not depend
on the number of threads."""

import os
import signal
import threading
import time

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from gpt_from_scratch.tensor import Tensor, get_num_threads, parallel, set_num_threads
from gpt_from_scratch.tensor import functional as F
from gpt_from_scratch.tensor.attention import (
    attention_backward,
    attention_forward,
    causal_self_attention,
    linear_gelu,
)


@pytest.fixture
def threads():
    """A function that sets the engine's thread count; the original count is restored after."""
    before = get_num_threads()
    yield set_num_threads
    set_num_threads(before)


@pytest.fixture
def split_everything(monkeypatch):
    """Every product and elementwise pass counts as worth sharing, so small tests split too."""
    monkeypatch.setattr(parallel, "MIN_MULTIPLY_ADDS", 1)
    monkeypatch.setattr(parallel, "MIN_ENTRIES", 1)


def blas_threads():
    return {info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"}


@pytest.mark.parametrize("n_threads", [1, 2, 3, 5])
@pytest.mark.parametrize("n", [0, 1, 2, 7, 100])
def test_blocks_cover_the_range_exactly_once(threads, n_threads, n):
    threads(n_threads)
    hits = np.zeros(n, dtype=int)
    calls = []

    def block(start, stop):
        calls.append((start, stop))
        hits[start:stop] += 1

    parallel.parallel_for(block, n)
    assert hits.tolist() == [1] * n
    assert len(calls) == max(1, min(n_threads, n))


def test_grain_keeps_small_work_in_one_call(threads):
    threads(4)
    calls = []
    parallel.parallel_for(lambda start, stop: calls.append((start, stop)), 10, grain=6)
    assert calls == [(0, 10)]
    calls.clear()
    parallel.parallel_for(lambda start, stop: calls.append((start, stop)), 12, grain=6)
    assert sorted(calls) == [(0, 6), (6, 12)]


def test_grain_rounds_up():
    assert parallel.grain(1 << 19) == 2
    assert parallel.grain(3, min_work=10) == 4
    assert parallel.grain(0) == parallel.MIN_MULTIPLY_ADDS
    assert parallel.grain(1 << 30) == 1


def test_an_error_in_any_block_is_raised_after_all_blocks_finish(threads):
    threads(3)
    finished = []

    def block(start, stop):
        if start > 0:
            raise ArithmeticError(f"block {start}")
        finished.append(start)

    with pytest.raises(ArithmeticError, match="block"):
        parallel.parallel_for(block, 9)
    assert finished == [0]


def test_a_nested_call_runs_in_its_block_without_deadlock(threads):
    threads(2)
    hits = np.zeros((4, 6), dtype=int)

    def outer(start, stop):
        for row in range(start, stop):

            def inner(a, b, row=row):
                hits[row, a:b] += 1

            parallel.parallel_for(inner, 6)

    parallel.parallel_for(outer, 4)
    assert (hits == 1).all()


def test_the_workers_run_again_after_a_block_raised(threads):
    threads(2)

    def failing(start, stop):
        raise KeyError(start)

    with pytest.raises(KeyError):
        parallel.parallel_for(failing, 4)
    hits = np.zeros(4, dtype=int)

    def block(start, stop):
        hits[start:stop] += 1

    parallel.parallel_for(block, 4)
    assert hits.tolist() == [1, 1, 1, 1]


def test_calls_from_two_program_threads_both_cover_their_ranges(threads):
    threads(2)
    hits = np.zeros((2, 1000), dtype=int)

    def run(row):
        for _ in range(50):

            def block(start, stop):
                hits[row, start:stop] += 1

            parallel.parallel_for(block, 1000)

    others = [threading.Thread(target=run, args=(row,)) for row in range(2)]
    for thread in others:
        thread.start()
    for thread in others:
        thread.join()
    assert (hits == 50).all()


def engine_threads():
    return [t for t in threading.enumerate() if t.name.startswith("engine-")]


def test_set_num_threads_stops_the_old_workers(threads):
    threads(3)
    parallel.parallel_for(lambda start, stop: None, 3)
    assert len(engine_threads()) == 2
    threads(2)
    parallel.parallel_for(lambda start, stop: None, 2)
    deadline = time.monotonic() + 10
    while len(engine_threads()) > 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(engine_threads()) == 1


def test_set_num_threads_inside_a_block_is_an_error(threads):
    threads(2)
    errors = []

    def block(start, stop):
        try:
            set_num_threads(1)
        except RuntimeError as error:
            errors.append(str(error))

    parallel.parallel_for(block, 2)
    assert len(errors) == 2 and "inside a parallel block" in errors[0]
    assert get_num_threads() == 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_runs_parallel_work_with_a_pool_of_its_own(threads):
    threads(2)
    parallel.parallel_for(lambda start, stop: None, 10)  # the parent's pool now has a thread
    pid = os.fork()
    if pid == 0:  # the child: without a pool of its own this would wait forever
        hits = np.zeros(10, dtype=int)

        def block(start, stop):
            hits[start:stop] += 1

        parallel.parallel_for(block, 10)
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


def test_set_num_threads_checks_its_argument(threads):
    for bad in (0, -1, 1.5, "2", True, None):
        with pytest.raises(ValueError, match="positive integer"):
            threads(bad)


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_blas_runs_one_thread_whatever_the_engine_runs(threads, n_threads):
    threads(n_threads)
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
def test_matmul_equals_numpy(threads, split_everything, a_shape, b_shape, n_threads):
    threads(n_threads)
    rng = np.random.default_rng(0)
    a = rng.standard_normal(a_shape).astype(np.float32)
    b = rng.standard_normal(b_shape).astype(np.float32)
    got = parallel.matmul(a, b)
    expected = np.matmul(a, b)
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_matmul_on_a_transposed_view(threads, split_everything):
    threads(2)
    x = np.random.default_rng(1).standard_normal((40, 6))
    g = np.random.default_rng(2).standard_normal((40, 3))
    np.testing.assert_allclose(parallel.matmul(x.T, g), x.T @ g, rtol=1e-12)


@pytest.mark.parametrize("n_threads", [1, 2, 3])
def test_matmuls_computes_every_product_in_one_region(
    threads, split_everything, monkeypatch, n_threads
):
    threads(n_threads)
    rng = np.random.default_rng(3)
    g = rng.standard_normal((4, 5, 7))  # products of different row counts, one of them batched
    w = rng.standard_normal((6, 7))
    x = rng.standard_normal((20, 6))
    regions, blocks = [], []
    real_parallel_for = parallel.parallel_for

    def recording_parallel_for(block, n, grain=1):
        regions.append(n)

        def recorded(start, stop):
            blocks.append((start, stop))
            block(start, stop)

        real_parallel_for(recorded, n, grain)

    monkeypatch.setattr(parallel, "parallel_for", recording_parallel_for)
    dx, dw = parallel.matmuls((g, w.T), (x.T, g.reshape(20, 7)))
    np.testing.assert_allclose(dx, g @ w.T, rtol=1e-12)
    np.testing.assert_allclose(dw, x.T @ g.reshape(20, 7), rtol=1e-12)
    assert dx.shape == (4, 5, 6) and dw.shape == (6, 7)
    assert regions == [n_threads]  # one hand-over for both products
    assert sorted(blocks) == [(i, i + 1) for i in range(n_threads)]


def test_matmuls_keeps_small_products_on_the_calling_thread(threads, monkeypatch):
    threads(2)
    regions = []

    def recording_parallel_for(block, n, grain=1):
        regions.append(n)
        block(0, n)

    monkeypatch.setattr(parallel, "parallel_for", recording_parallel_for)
    (y,) = parallel.matmuls((np.ones((32, 27)), np.ones((27, 10))))
    assert regions == [1] and (y == 27).all()


def engine_results(n_threads, threads):
    """Forward outputs and gradients of the threaded operations at one thread count."""
    threads(n_threads)
    rng = np.random.default_rng(3)
    x = Tensor(rng.standard_normal((3, 10, 8)), requires_grad=True)
    w1 = Tensor(rng.standard_normal((8, 24)) * 0.3, requires_grad=True)
    w2 = Tensor(rng.standard_normal((8, 16)) * 0.3, requires_grad=True)
    b2 = Tensor(rng.standard_normal(16), requires_grad=True)
    ln_w, ln_b = Tensor(np.ones(8), requires_grad=True), Tensor(np.zeros(8), requires_grad=True)
    h = F.layer_norm(x, ln_w, ln_b)
    attended = causal_self_attention(F.linear(h, w1), n_head=2)  # (3, 10, 8)
    y = linear_gelu(attended, w2, b2)  # (3, 10, 16)
    y.backward(rng.standard_normal(y.shape))
    return [y.data] + [t.grad for t in (x, w1, w2, b2, ln_w, ln_b)]


def test_threaded_operations_match_one_thread(threads, split_everything, monkeypatch):
    serial = engine_results(1, threads)
    shared = set()  # the operations whose blocks reached a worker
    run_inside = parallel._run_inside

    def recording_run_inside(block, start, stop):
        if start > 0:
            shared.add(block.__qualname__.split(".<locals>")[0])
        run_inside(block, start, stop)

    monkeypatch.setattr(parallel, "_run_inside", recording_run_inside)
    for n_threads in (2, 3):
        for got, expected in zip(engine_results(n_threads, threads), serial, strict=True):
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert {
        "linear_forward",
        "matmuls",
        "attention_forward",
        "attention_backward",
        "gelu_backward",
    } <= shared


def test_attention_backward_writes_into_given_arrays(threads, split_everything):
    threads(2)
    rng = np.random.default_rng(4)
    q, k, v, g = (rng.standard_normal((4, 2, 5, 3)) for _ in range(4))
    _, probs = attention_forward(q, k, v)
    expected = attention_backward(g, q, k, v, probs)
    packed = np.zeros((3, 2, 4, 5, 3)).transpose(0, 2, 1, 3, 4)  # strided views, as in use
    outs = tuple(packed)
    returned = attention_backward(g, q, k, v, probs, out=outs)
    for got, into, want in zip(returned, outs, expected, strict=True):
        assert got is into
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_attention_on_one_sequence_equals_a_batch_of_one(threads, split_everything):
    threads(2)
    rng = np.random.default_rng(5)
    q, k, v, g = (rng.standard_normal((6, 4)) for _ in range(4))
    y, probs = attention_forward(q, k, v)
    y_batched, probs_batched = attention_forward(q[None], k[None], v[None])
    np.testing.assert_array_equal(y, y_batched[0])
    np.testing.assert_array_equal(probs, probs_batched[0])
    outs = tuple(np.empty((6, 4)) for _ in range(3))
    grads = attention_backward(g, q, k, v, probs, out=outs)
    batched = attention_backward(g[None], q[None], k[None], v[None], probs[None])
    for got, into, want in zip(grads, outs, batched, strict=True):
        assert got is into
        np.testing.assert_array_equal(got, want[0])
