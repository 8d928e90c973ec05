"""Shared test fixtures.

Oracles (PyTorch, tiktoken) are optional: a test that needs one asks for it with
``torch = oracle("torch")``. Without the package the test is skipped with the reason, except
when ``GPT_FROM_SCRATCH_REQUIRE_ORACLES=1`` (set by .ci/run), where a missing oracle fails.
The published data sets are treated the same way: ``dataset("names")`` is the file's path, or
a skip (a failure in CI) that says why it could not be had.
"""

import gc
import importlib
import os
import weakref

import numpy as np
import pytest

from gpt_from_scratch import data
from gpt_from_scratch.tensor import get_num_threads, set_num_threads
from gpt_from_scratch.tensor.engine import topological_order
from gpt_from_scratch.tensor.speed import threads


def skip_or_fail(reason: str):
    """Skip the test with ``reason``, or fail it where oracles and data are required (CI)."""
    if os.environ.get("GPT_FROM_SCRATCH_REQUIRE_ORACLES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


def oracle(module_name: str):
    """Import an oracle package, or skip (fail in CI) with the reason."""
    try:
        return importlib.import_module(module_name)
    except ImportError as err:
        skip_or_fail(f"oracle {module_name!r} is not installed (pip install -e '.[oracle]'): {err}")


@pytest.fixture(scope="session")
def dataset():
    """A function: the local path of a published data set, or a skip (fail in CI) saying why."""

    def find(name: str):
        try:
            return data.path(name)
        except data.DataError as err:
            skip_or_fail(f"data set {name!r} is not available: {err}")

    return find


@pytest.fixture
def torch():
    torch = oracle("torch")
    torch.set_default_dtype(torch.float64)
    yield torch
    torch.set_default_dtype(torch.float32)


@pytest.fixture
def tiktoken():
    return oracle("tiktoken")


@pytest.fixture
def nodes_left_after_dropping():
    """A function: how many computed tensors of the graph ``build()`` returns outlive the last
    reference to it, with the cycle collector off. Each one that does sits in a reference
    cycle, and would keep its arrays alive until Python's garbage collector happens to run."""

    def count(build):
        gc.collect()
        gc.disable()
        try:
            root = build()
            root.backward(np.ones_like(root.data))
            probes = [weakref.ref(node) for node in topological_order(root) if node._parents]
            del root
            return sum(probe() is not None for probe in probes)
        finally:
            gc.enable()

    return count


@pytest.fixture
def tiny_gpt():
    """A function: (a one-block GPT, its vocabulary, a short text's ids), seeded."""
    from gpt_from_scratch.gpt import GPT, CharVocab, GPTConfig, encode_text
    from gpt_from_scratch.tensor import manual_seed

    def build(block_size=8, seed=0, text="To be, or not to be, that is the question.\n" * 4):
        vocab = CharVocab.from_text(text)
        manual_seed(seed)
        config = GPTConfig(vocab.size, block_size, n_layer=1, n_head=2, n_embd=32)
        return GPT(config), vocab, encode_text(text, vocab)

    return build


@pytest.fixture
def thread_count():
    """A function that sets the engine's thread count; the original count is restored after."""
    before = get_num_threads()
    yield set_num_threads
    set_num_threads(before)


@pytest.fixture
def split_everything(monkeypatch):
    """Every product and elementwise pass counts as worth sharing, so small tests split too."""
    monkeypatch.setattr(threads, "MIN_MULTIPLY_ADDS", 1)
    monkeypatch.setattr(threads, "MIN_ENTRIES", 1)


@pytest.fixture
def same_on_two_threads(thread_count, split_everything):
    """A function: run ``compute()`` (arrays out) on one thread, then on two with every
    operation split, and check that the arrays agree in shape, dtype and value."""

    def check(compute):
        thread_count(1)
        serial = compute()
        thread_count(2)
        shared = compute()
        for got, expected in zip(shared, serial, strict=True):
            assert got.shape == expected.shape and got.dtype == expected.dtype
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)

    return check
