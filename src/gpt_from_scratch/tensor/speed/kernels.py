"""The engine's large numpy computations, each split over the worker pool by rows or entries.

Every function here computes exactly what its one-line numpy equivalent computes, written in
the comment or docstring beside it; only how the work is shared differs. None of them knows
about Tensors or gradients: they take and return numpy arrays.

>>> rows = np.ones((4, 3), dtype=np.float32)
>>> scatter_rows(rows, np.array([2, 0, 2, 2]), 3).tolist()
[[1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [3.0, 3.0, 3.0]]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gpt_from_scratch.tensor.speed import threads
from gpt_from_scratch.tensor.speed.threads import grain, parallel_for

# Below this many multiply-adds (table rows x gradient entries), scatter_rows is a one-hot
# matrix product; above it, a sort and a segmented sum.
ONE_HOT_LIMIT = 1_000_000


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b for a of 2 or more axes, split over the threads by the rows of a.

    A batch of rows times one matrix, (..., M, K) @ (K, N), is one (rows, K) @ (K, N)
    product cut into blocks of rows. Two batches of the same shape are cut along their
    first axis. A product too small to share, or any other broadcast, is one numpy call.
    """
    if b.ndim == 2:
        return matmuls((a, b))[0]
    if a.ndim == b.ndim and a.shape[:-2] == b.shape[:-2]:
        y = np.empty((*a.shape[:-1], b.shape[-1]), dtype=np.result_type(a, b))

        def batch_block(start, stop):
            np.matmul(a[start:stop], b[start:stop], out=y[start:stop])

        work = a[0].size * b.shape[-1]  # multiply-adds of one entry of the first axis
        parallel_for(batch_block, len(a), grain=grain(work))
        return y
    threads.start()  # BLAS at one thread, as for every other product
    return np.matmul(a, b)


def matmuls(*pairs: tuple[np.ndarray, np.ndarray]) -> list[np.ndarray]:
    """[a @ b for a, b in pairs], each b a matrix, computed in one parallel region.

    Every thread computes the same share of the rows of every product, so a layer's
    backward pass, dL/dx and dL/dW, hands work to the other threads once, not twice.
    """
    products = []  # (rows of a, b, rows of a @ b) for each pair
    for a, b in pairs:
        rows = a.reshape(-1, a.shape[-1])  # (M, K), a view when a is contiguous
        y = np.empty((len(rows), b.shape[1]), np.result_type(a, b))  # (M, N)
        products.append((rows, b, y))
    work = sum(rows.size * b.shape[1] for rows, b, _ in products)  # multiply-adds
    parts = max(1, min(threads.get_num_threads(), work // threads.MIN_MULTIPLY_ADDS))

    def block(start, stop):  # parts [start, stop) of every product
        for rows, b, y in products:
            first, last = len(rows) * start // parts, len(rows) * stop // parts
            np.matmul(rows[first:last], b, out=y[first:last])

    parallel_for(block, parts)
    return [
        y.reshape(*a.shape[:-1], y.shape[1])
        for (a, _), (_, _, y) in zip(pairs, products, strict=True)
    ]


def linear(
    x: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    then: Callable[[np.ndarray, int, int], None] | None = None,
) -> np.ndarray:
    """x @ weight + bias, x (N, fan_in), split over the threads by rows: (N, fan_out).

    Each thread adds the bias to the rows it computed and, given `then`, calls
    then(y, start, stop) on them next, while they are still in its cache: this is
    how a fused layer applies its activation without a parallel region of its own.
    """
    y = np.empty((len(x), weight.shape[1]), dtype=np.result_type(x, weight))

    def block(start, stop):
        np.matmul(x[start:stop], weight, out=y[start:stop])
        if bias is not None:
            y[start:stop] += bias
        if then is not None:
            then(y, start, stop)

    parallel_for(block, len(x), grain=grain(weight.size))
    return y


def elementwise(
    function: Callable[..., None], inputs: tuple[np.ndarray, ...], outputs: tuple[np.ndarray, ...]
) -> None:
    """function(*inputs, *outputs) on blocks of entries at once: the entries are independent.

    Every array has the outputs' shape, and the outputs are C-contiguous, so that each block
    is a slice of their flat views; `function` writes its results into the slices it is given.
    """
    if not all(out.flags.c_contiguous for out in outputs):
        raise ValueError("elementwise: the outputs must be C-contiguous arrays")
    flat_inputs = [np.ravel(a) for a in inputs]  # views of contiguous inputs, else copies
    flat_outputs = [out.reshape(-1) for out in outputs]  # views

    def block(start, stop):
        part = slice(start, stop)
        function(*(a[part] for a in flat_inputs), *(out[part] for out in flat_outputs))

    size = outputs[0].size
    parallel_for(block, size, grain=threads.MIN_ENTRIES)


def scatter_rows(rows: np.ndarray, ids: np.ndarray, num_rows: int) -> np.ndarray:
    """(V, D) with V = num_rows: row i is the sum of the rows (M, D) whose id is i.

    Equal ids accumulate, as np.add.at would, but much faster. For a small table
    this is a one-hot matrix product, onehot (V, M) @ rows (M, D); otherwise sorting
    the ids puts equal ids next to each other, and `np.add.reduceat` sums each run
    in one pass.
    """
    if num_rows * rows.size <= ONE_HOT_LIMIT:
        onehot = np.zeros((num_rows, ids.size), dtype=rows.dtype)  # (V, M)
        onehot[ids, np.arange(ids.size)] = 1.0
        return matmul(onehot, rows)  # (V, D)
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    full = np.zeros((num_rows, rows.shape[1]), dtype=rows.dtype)  # (V, D)
    if ids.size:
        full[sorted_ids[starts]] = np.add.reduceat(rows[order], starts, axis=0)
    return full
