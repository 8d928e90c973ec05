"""The bag-of-words makemore: the causal average, finite differences, makemore's BoW in
PyTorch (every position computed, read at the last), and overfitting a tiny batch."""

import doctest

import numpy as np
import pytest

from gpt_from_scratch.commands.models import build_model, model_config
from gpt_from_scratch.makemore import bow
from gpt_from_scratch.makemore.bow import BoW, causal_average
from gpt_from_scratch.makemore.train import evaluate, minibatches, train
from gpt_from_scratch.tensor import Tensor, gradcheck, manual_seed, optim


def tiny_model(seed=0):
    manual_seed(seed)
    return BoW(7, block_size=5, n_embd=3, n_embd2=4).to(np.float64)


def batch(seed=1, B=6, T=5, V=7):
    rng = np.random.default_rng(seed)
    return rng.integers(0, V, (B, T)), rng.integers(0, V, B)


def test_docstring_examples():
    result = doctest.testmod(bow)
    assert result.attempted > 0 and result.failed == 0


def test_makemore_sizes_and_names():
    model = build_model("bow", 27)
    assert model_config("bow") == {"block_size": 16, "n_embd": 64, "n_embd2": 64}
    assert model.num_parameters() == 12_827 and model.block_size == 16
    names = [name for name, _ in model.named_parameters()]
    assert names == [
        "wte.weight",
        "wpe.weight",
        "c_fc.weight",
        "c_fc.bias",
        "c_proj.weight",
        "c_proj.bias",
        "lm_head.weight",
        "lm_head.bias",
    ]


def test_the_causal_average_is_the_running_mean():
    x = np.random.default_rng(0).standard_normal((2, 6, 3))
    running = np.cumsum(x, axis=1) / np.arange(1, 7)[:, None]
    np.testing.assert_allclose(
        causal_average(Tensor(x, dtype=np.float64)).data, running, atol=1e-12
    )
    assert gradcheck(causal_average, [x])


def test_the_model_passes_finite_differences():
    model = tiny_model()
    X, Y = batch(B=4, T=4)  # a context shorter than the block reads the first positions
    assert gradcheck(lambda *params: model(X, Y)[1], model.parameters())


def test_bad_contexts_are_refused_with_what_and_where():
    model = tiny_model()
    with pytest.raises(ValueError, match=r"1 <= T <= 5, got shape \(2, 6\)"):
        model(np.zeros((2, 6), dtype=np.int64))
    with pytest.raises(ValueError, match=r"got shape \(5,\)"):
        model(np.zeros(5, dtype=np.int64))


def test_a_bag_of_words_overfits_a_tiny_batch():
    X, Y = batch(seed=3, B=12, T=4)
    manual_seed(0)
    model = BoW(7, block_size=4, n_embd=16, n_embd2=32)
    adamw = optim.AdamW(model.parameters(), lr=0.02, weight_decay=0.0)
    history = train(model, adamw, minibatches(X, Y, batch_size=None), 150)
    assert history.loss[0] > 1.5
    assert evaluate(model, X, Y) < 0.05


def torch_bow(torch, model):
    """makemore's bag of words written from its equations (causal attention with equal
    scores, the block at every position, the logits of every position) with float64 copies
    of ``model``'s weights; returns the forward, reading the last position, and the copies by
    our names."""
    F = torch.nn.functional
    params = {
        name: torch.tensor(p.data.astype(np.float64), requires_grad=True)
        for name, p in model.named_parameters()
    }

    def linear(x, name):  # our weights are (fan_in, fan_out)
        return x @ params[f"{name}.weight"] + params[f"{name}.bias"]

    def forward(idx, targets):
        B, T = idx.shape
        x = params["wte.weight"][torch.tensor(idx)] + params["wpe.weight"][torch.arange(T)]
        att = torch.zeros((B, T, T))
        att = att.masked_fill(torch.tril(torch.ones(T, T)) == 0, float("-inf"))
        x = x + F.softmax(att, dim=-1) @ x  # makemore's CausalBoW
        x = x + linear(torch.tanh(linear(x, "c_fc")), "c_proj")
        logits = linear(x, "lm_head")  # (B, T, V)
        return F.cross_entropy(logits[:, -1, :], torch.tensor(targets))

    return forward, params


@pytest.mark.oracle
def test_loss_and_gradients_match_pytorch(torch):
    model = tiny_model(seed=4)
    X, Y = batch(seed=5)
    loss = model(X, Y)[1]
    loss.backward()
    forward, params = torch_bow(torch, model)
    reference = forward(X, Y)
    reference.backward()
    assert loss.item() == pytest.approx(reference.item(), abs=1e-10)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, params[name].grad.numpy(), atol=1e-5, err_msg=name)
