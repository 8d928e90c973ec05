"""Shared test fixtures.

Oracles (PyTorch, tiktoken) are optional: a test that needs one asks for it with
``torch = oracle("torch")``. Without the package the test is skipped with the reason, except
when ``GPT_FROM_SCRATCH_REQUIRE_ORACLES=1`` (set by .ci/run), where a missing oracle fails.
"""

import importlib
import os

import pytest


def oracle(module_name: str):
    """Import an oracle package, or skip (fail in CI) with the reason."""
    try:
        return importlib.import_module(module_name)
    except ImportError as err:
        reason = f"oracle {module_name!r} is not installed (pip install -e '.[oracle]'): {err}"
        if os.environ.get("GPT_FROM_SCRATCH_REQUIRE_ORACLES") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


@pytest.fixture
def torch():
    torch = oracle("torch")
    torch.set_default_dtype(torch.float64)
    yield torch
    torch.set_default_dtype(torch.float32)


@pytest.fixture
def tiktoken():
    return oracle("tiktoken")
