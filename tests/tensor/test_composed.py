"""The readable compositions equal the fused operations, and the timing helpers measure."""

import numpy as np

from gpt_from_scratch.tensor import Tensor, composed
from gpt_from_scratch.tensor import functional as F
from gpt_from_scratch.tensor.speed import timing


def test_composed_cross_entropy_equals_the_fused_one_with_its_gradient():
    rng = np.random.default_rng(0)
    data, targets = rng.standard_normal((6, 5)), np.array([0, 4, 4, 1, 2, 3])
    results = []
    for loss_fn in (composed.cross_entropy, F.cross_entropy):
        logits = Tensor(data, requires_grad=True, dtype=np.float64)
        loss = loss_fn(logits, targets)
        loss.backward()
        results.append((loss.item(), logits.grad))
    (a, ga), (b, gb) = results
    assert np.isclose(a, b, atol=1e-12)
    np.testing.assert_allclose(ga, gb, atol=1e-12)


def test_median_seconds_runs_warmup_and_repeats():
    calls = []
    assert timing.median_seconds(lambda: calls.append(1), repeats=4, warmup=2) >= 0.0
    assert len(calls) == 6


def test_page_faults_per_call_counts_fresh_pages():
    def touch_fresh_pages():
        np.ones(1 << 22, dtype=np.uint8)  # 4 MiB, a mapping of its own by default

    assert timing.page_faults_per_call(touch_fresh_pages, repeats=3) >= 0.0
    assert timing.page_faults_per_call(lambda: None, repeats=3) >= 0.0


def test_gradcheck_names_a_wrong_backward_and_refuses_float32():
    import pytest

    from gpt_from_scratch.tensor import gradcheck

    def wrong_square(x):  # forward x^2, backward claims 3x
        out = Tensor._op_result(x.data**2, (x,), "wrong")
        out._backward = lambda grad: x._accumulate(3.0 * x.data * grad)
        return out

    with pytest.raises(AssertionError, match="gradient mismatch at index"):
        gradcheck(wrong_square, [np.array([1.0, 2.0])])
    with pytest.raises(TypeError, match="float64"):
        gradcheck(lambda x: x * 2.0, [Tensor([1.0], requires_grad=True)])
    constant = Tensor(np.ones(2), dtype=np.float64)  # a given Tensor without a gradient
    assert gradcheck(lambda x, c: x * c, [np.array([1.0, 2.0]), constant])
    assert gradcheck(lambda x, i: x[i], [np.arange(3.0), np.array([0, 0, 2])])


def test_matmul_shapes_that_do_not_fit_are_one_line_errors():
    import pytest

    for left, right, words in [
        ((), (3,), "at least 1-D"),
        ((2, 3), (4,), "the first of the right"),
        ((2, 3), (4, 5), "the second-to-last of the right"),
    ]:
        with pytest.raises(ValueError, match=words):
            Tensor(np.ones(left)) @ Tensor(np.ones(right))
