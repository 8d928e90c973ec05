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
