"""The worked examples in the tensor package's docstrings run and give what they show."""

import doctest
import importlib

import pytest

MODULES = [
    "engine",
    "functional",
    "nn",
    "optim",
    "gradcheck",
    "speed",
    "speed.threads",
    "speed.kernels",
    "speed.timing",
    "composed",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(f"gpt_from_scratch.tensor.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no docstring examples"
    assert result.failed == 0
