"""The hand-written backward pass against autograd, the fused formulas against the step-by-step
ones, and batch norm's evaluation mode."""

import numpy as np
import pytest

from gpt_from_scratch.makemore import manual_backprop as mb
from gpt_from_scratch.tensor import Tensor
from gpt_from_scratch.tensor import functional as F


def batch(n=32, vocab_size=27, block_size=3, seed=0):
    gen = np.random.default_rng(seed)
    X = gen.integers(0, vocab_size, size=(n, block_size))
    Y = gen.integers(0, vocab_size, size=n)
    return X, Y


@pytest.fixture
def setup():
    params = mb.init_params(vocab_size=27, n_embd=10, n_hidden=64, seed=1)
    X, Y = batch()
    loss, cache = mb.forward(params, X, Y)
    return params, X, Y, loss, cache


def autograd_grads(params, X, Y, fused=False):
    loss, tensors = mb.engine_forward(params, X, Y, fused=fused)
    loss.backward()
    return loss.item(), {name: t.grad for name, t in tensors.items()}


def test_forward_matches_the_engine_and_the_fused_engine(setup):
    params, X, Y, loss, _ = setup
    assert autograd_grads(params, X, Y)[0] == pytest.approx(loss, abs=1e-12)
    assert autograd_grads(params, X, Y, fused=True)[0] == pytest.approx(loss, abs=1e-12)


def test_every_hand_written_gradient_matches_autograd(setup):
    params, X, Y, _, cache = setup
    manual = mb.backward(params, cache, X, Y)
    _, engine = autograd_grads(params, X, Y)
    assert set(manual) == set(cache) | set(mb.PARAM_NAMES)
    for check in mb.compare_gradients(manual, engine):
        assert check.max_abs_diff < 1e-6, check
        assert check.close, check


def test_fused_backward_matches_the_step_by_step_one(setup):
    params, X, Y, _, cache = setup
    steps = mb.backward(params, cache, X, Y)
    fused = mb.backward_fused(params, cache, X, Y)
    for name, grad in fused.items():
        np.testing.assert_allclose(grad, steps[name], atol=1e-12, err_msg=name)


def test_fused_backward_matches_the_engines_fused_ops(setup):
    params, X, Y, _, cache = setup
    fused = mb.backward_fused(params, cache, X, Y)
    _, engine = autograd_grads(params, X, Y, fused=True)
    for name in mb.PARAM_NAMES:
        np.testing.assert_allclose(fused[name], engine[name], atol=1e-12, err_msg=name)


def test_cross_entropy_backward_is_the_engines():
    gen = np.random.default_rng(3)
    logits = gen.standard_normal((16, 27)) * 3
    Y = gen.integers(0, 27, size=16)
    t = Tensor(logits, requires_grad=True, dtype=np.float64)
    F.cross_entropy(t, Y).backward()
    np.testing.assert_allclose(mb.cross_entropy_backward(logits, Y), t.grad, atol=1e-15)


def test_batchnorm_backward_is_the_engines():
    gen = np.random.default_rng(4)
    x = gen.standard_normal((20, 7)) * 2 + 1
    gain, bias = 1 + 0.3 * gen.standard_normal(7), gen.standard_normal(7)
    upstream = gen.standard_normal((20, 7))
    tx = Tensor(x, requires_grad=True, dtype=np.float64)
    tg = Tensor(gain, requires_grad=True, dtype=np.float64)
    tb = Tensor(bias, requires_grad=True, dtype=np.float64)
    y = F.batch_norm(tx, tg, tb, np.zeros(7), np.ones(7), True, 0.1, mb.EPS)
    y.backward(upstream)
    mean, var = x.mean(0, keepdims=True), x.var(0, keepdims=True)
    inv = (var + mb.EPS) ** -0.5
    dx = mb.batchnorm_backward(upstream, (x - mean) * inv, inv, gain)
    np.testing.assert_allclose(dx, tx.grad, atol=1e-12)


@pytest.mark.oracle
def test_hand_written_gradients_match_torch(torch, setup):
    params, X, Y, _, cache = setup
    manual = mb.backward(params, cache, X, Y)
    p = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    embcat = p["C"][torch.tensor(X)].reshape(len(Y), -1)
    hprebn = embcat @ p["W1"] + p["b1"]
    hpreact = torch.nn.functional.batch_norm(
        hprebn, None, None, p["bngain"], p["bnbias"], training=True, eps=mb.EPS
    )
    logits = torch.tanh(hpreact) @ p["W2"] + p["b2"]
    torch.nn.functional.cross_entropy(logits, torch.tensor(Y)).backward()
    for name in mb.PARAM_NAMES:
        np.testing.assert_allclose(manual[name], p[name].grad.numpy(), atol=1e-10, err_msg=name)


def test_embedding_backward_accumulates_repeated_rows():
    demb = np.arange(6, dtype=np.float64).reshape(3, 1, 2)  # three lookups of one character
    dC = mb.embedding_backward(demb, np.array([[2], [0], [2]]), (3, 2))
    assert dC.tolist() == [[2.0, 3.0], [0.0, 0.0], [4.0 + 0.0, 6.0]]


def test_compare_gradients_reports_exact_close_and_difference():
    mine = {"w": np.array([1.0, 2.0])}
    checks = mb.compare_gradients(mine, {"w": np.array([1.0, 2.0 + 1e-10])})
    assert (checks[0].exact, checks[0].close, checks[0].todo) == (False, True, False)
    assert checks[0].max_abs_diff == pytest.approx(1e-10, rel=1e-3)
    with pytest.raises(ValueError, match="'w'"):
        mb.compare_gradients(mine, {})
    with pytest.raises(ValueError, match="shape"):
        mb.compare_gradients(mine, {"w": np.zeros(3)})


def test_report_counts_matches_wrong_answers_and_blanks():
    autograd = {"a": np.ones(2), "b": np.ones(2), "c": np.ones(2)}
    checks = mb.compare_gradients({"a": np.ones(2), "b": np.zeros(2), "c": ...}, autograd)
    text = mb.report(checks)
    assert text.splitlines()[-1] == "1 of 3 gradients match autograd; wrong: b; 1 still TODO"
    assert "c               TODO" in text and "approximate: False" in text
    assert mb.report(checks, every=False) == text.splitlines()[-1]


def test_eval_mode_uses_the_running_statistics():
    params = mb.init_params(vocab_size=27, n_hidden=8, seed=2)
    stats = mb.RunningStats(mean=np.full((1, 8), 0.5), var=np.full((1, 8), 4.0))
    X, _ = batch(n=5)
    hprebn = params["C"][X].reshape(5, -1) @ params["W1"] + params["b1"]
    expected_raw = (hprebn - 0.5) / np.sqrt(4.0 + mb.EPS)
    h = np.tanh(params["bngain"] * expected_raw + params["bnbias"])
    np.testing.assert_allclose(mb.eval_logits(params, stats, X), h @ params["W2"] + params["b2"])


def test_running_stats_follow_the_engines_rule():
    stats = mb.RunningStats.start(3)
    stats.update(np.ones((1, 3)), np.full((1, 3), 2.0), n=5)
    np.testing.assert_allclose(stats.mean, 0.1)
    np.testing.assert_allclose(stats.var, 0.9 + 0.1 * 2.0 * 5 / 4)


def test_manual_training_learns_and_its_batch_of_one_matches_the_batch():
    gen = np.random.default_rng(0)
    X = gen.integers(0, 5, size=(400, 3))
    Y = (X[:, 2] + 1) % 5  # the next character is determined by the last one
    params = mb.init_params(vocab_size=5, n_embd=4, n_hidden=16, seed=0)
    run = mb.train_manual(params, X, Y, steps=300, batch_size=32, lr=0.5, seed=0)
    assert np.mean(run.loss[-20:]) < 0.3 * np.mean(run.loss[:20])
    assert mb.mean_nll(mb.eval_logits(params, run.stats, X), Y) < 0.2
    together = mb.eval_logits(params, run.stats, X[:10])
    one = mb.eval_logits(params, run.stats, X[3:4])
    np.testing.assert_allclose(one[0], together[3], atol=1e-12)


def test_train_manual_rejects_mismatched_data():
    params = mb.init_params(vocab_size=5, n_hidden=4)
    with pytest.raises(ValueError, match="3 vs 2"):
        mb.train_manual(params, np.zeros((3, 3), dtype=int), np.zeros(2, dtype=int), steps=1)
    with pytest.raises(ValueError, match="two or more examples per batch"):
        mb.train_manual(params, *batch(n=8, vocab_size=5), steps=1, batch_size=1)


def test_training_by_hand_follows_training_by_autograd_step_for_step():
    X, Y = batch(n=300, vocab_size=7, seed=5)
    by_hand = mb.init_params(vocab_size=7, n_embd=3, n_hidden=10, seed=3)
    by_engine = {name: value.copy() for name, value in by_hand.items()}
    hand = mb.train_manual(by_hand, X, Y, steps=30, batch_size=16, lr=0.3, seed=1)
    engine = mb.train_manual(
        by_engine, X, Y, steps=30, batch_size=16, lr=0.3, seed=1, backward=mb.autograd_backward
    )
    np.testing.assert_allclose(hand.loss, engine.loss, atol=1e-12)
    for name in mb.PARAM_NAMES:
        np.testing.assert_allclose(by_hand[name], by_engine[name], atol=1e-12, err_msg=name)


def test_the_fused_gradients_match_finite_differences():
    params = mb.init_params(vocab_size=6, n_embd=2, n_hidden=5, seed=8)
    X, Y = batch(n=7, vocab_size=6, seed=8)
    _, cache = mb.forward(params, X, Y)
    grads = mb.backward_fused(params, cache, X, Y)
    gen, h = np.random.default_rng(8), 1e-6
    for name in mb.PARAM_NAMES:
        for index in map(tuple, gen.integers(0, params[name].shape, size=(3, params[name].ndim))):
            value = params[name][index]
            params[name][index] = value + h
            up = mb.forward(params, X, Y)[0]
            params[name][index] = value - h
            down = mb.forward(params, X, Y)[0]
            params[name][index] = value
            assert grads[name][index] == pytest.approx((up - down) / (2 * h), abs=1e-7), name
