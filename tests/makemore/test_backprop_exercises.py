"""The exercises' starters run as they are, and the checker calls each blank TODO; the
solutions they ask for pass the same checker."""

import numpy as np
import pytest

from gpt_from_scratch.makemore import backprop_exercises as ex
from gpt_from_scratch.makemore import manual_backprop as mb


@pytest.fixture
def setup():
    gen = np.random.default_rng(0)
    X, Y = gen.integers(0, 27, size=(32, 3)), gen.integers(0, 27, size=32)
    params = mb.init_params(vocab_size=27, n_hidden=16, seed=0)
    _, cache = mb.forward(params, X, Y)
    return params, cache, X, Y


def test_the_step_by_step_starter_is_all_blanks_for_every_step(setup):
    params, cache, X, Y = setup
    blanks = ex.backward_starter(params, cache, X, Y)
    assert set(blanks) == set(mb.backward(params, cache, X, Y))
    checks = mb.compare_gradients(blanks, mb.autograd_gradients(params, X, Y))
    assert all(check.todo for check in checks)
    assert mb.report(checks).endswith(
        f"0 of {len(checks)} gradients match autograd; {len(checks)} still TODO"
    )


def test_the_one_expression_starters_are_blanks(setup):
    params, cache, X, Y = setup
    assert ex.cross_entropy_backward_starter(cache["logits"], Y) is ...
    dhpreact = np.ones_like(cache["hpreact"])
    blank = ex.batchnorm_backward_starter(
        dhpreact, cache["bnraw"], cache["bnvar_inv"], params["bngain"]
    )
    assert blank is ...


def test_the_fused_starter_asks_for_what_the_fused_solution_gives(setup):
    params, cache, X, Y = setup
    blanks = ex.backward_fused_starter(params, cache, X, Y)
    assert set(blanks) == set(mb.backward_fused(params, cache, X, Y))
    assert set(mb.PARAM_NAMES) <= set(blanks)
    assert all(value is ... for value in blanks.values())


def test_every_solution_passes_the_checker(setup):
    params, cache, X, Y = setup
    steps = mb.compare_gradients(
        mb.backward(params, cache, X, Y), mb.autograd_gradients(params, X, Y)
    )
    fused = mb.compare_gradients(
        mb.backward_fused(params, cache, X, Y),
        mb.autograd_gradients(params, X, Y, fused=True),
    )
    for checks in (steps, fused):
        assert mb.report(checks).endswith(
            f"{len(checks)} of {len(checks)} gradients match autograd"
        )
