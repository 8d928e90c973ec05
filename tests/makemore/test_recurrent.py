"""The RNN and GRU of makemore: the fused reading equals the unrolled cells, finite
differences, PyTorch's RNNCell and a hand-built PyTorch GRU, and overfitting a tiny batch."""

import doctest

import numpy as np
import pytest

from gpt_from_scratch.commands.models import build_model, model_config
from gpt_from_scratch.makemore import recurrent, recurrent_fused
from gpt_from_scratch.makemore.recurrent import RNN, unroll
from gpt_from_scratch.makemore.recurrent_fused import fused_gru, fused_rnn
from gpt_from_scratch.makemore.train import evaluate, minibatches, train
from gpt_from_scratch.tensor import Tensor, gradcheck, manual_seed, optim

CELLS = ["rnn", "gru"]


def tiny_model(cell_type, seed=0, **sizes):
    """A float64 model with a random start (so h_0's gradient is not a special case)."""
    manual_seed(seed)
    sizes = {"block_size": 5, "n_embd": 3, "n_embd2": 4, **sizes}
    model = RNN(7, cell_type=cell_type, **sizes).to(np.float64)
    model.start.data[...] = np.random.default_rng(seed).standard_normal(model.start.shape)
    return model


def batch(seed=1, B=6, T=5, V=7):
    rng = np.random.default_rng(seed)
    return rng.integers(0, V, (B, T)), rng.integers(0, V, B)


def loss_and_grads(model, X, Y):
    model.zero_grad()
    loss = model(X, Y)[1]
    loss.backward()
    return loss.item(), {name: p.grad.copy() for name, p in model.named_parameters()}


@pytest.mark.parametrize("module", [recurrent, recurrent_fused])
def test_docstring_examples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("cell_type, count", [("rnn", 11_803), ("gru", 28_315)])
def test_makemore_sizes_and_names(cell_type, count):
    model = build_model(cell_type, 27)
    assert model_config(cell_type) == {"block_size": 16, "n_embd": 64, "n_embd2": 64}
    assert model.num_parameters() == count and model.block_size == 16
    layers = ["xh_to_h"] if cell_type == "rnn" else ["xh_to_z", "xh_to_r", "xh_to_hbar"]
    cell = [f"cell.{layer}.{p}" for layer in layers for p in ("weight", "bias")]
    expected = ["start", "wte.weight", *cell, "lm_head.weight", "lm_head.bias"]
    assert [name for name, _ in model.named_parameters()] == expected  # makemore's names
    logits, loss = model(np.zeros((3, 16), dtype=np.int64))
    assert logits.shape == (3, 27) and loss is None


@pytest.mark.parametrize("cell_type", CELLS)
def test_the_fused_reading_equals_the_unrolled_cells(cell_type):
    model = tiny_model(cell_type)
    X, Y = batch()
    fused_loss, fused = loss_and_grads(model, X, Y)
    model.fused = False
    loss, unrolled = loss_and_grads(model, X, Y)
    assert fused_loss == pytest.approx(loss, abs=1e-12)
    for name in unrolled:
        np.testing.assert_allclose(fused[name], unrolled[name], atol=1e-12, err_msg=name)


@pytest.mark.parametrize("cell_type", CELLS)
def test_the_model_passes_finite_differences(cell_type):
    model = tiny_model(cell_type, block_size=3, n_embd=2, n_embd2=3)
    X, Y = batch(B=4, T=3)
    assert gradcheck(lambda *params: model(X, Y)[1], model.parameters())


def test_the_fused_ops_pass_finite_differences_with_a_start_per_row():
    rng = np.random.default_rng(2)
    B, T, E, H = 3, 4, 2, 3
    x, h0 = rng.standard_normal((B, T, E)), rng.standard_normal((B, H))
    layers = [
        a for _ in range(3) for a in (rng.standard_normal((E + H, H)), rng.standard_normal(H))
    ]
    assert gradcheck(fused_rnn, [x, h0, *layers[:2]])
    assert gradcheck(fused_gru, [x, h0, *layers])


def test_a_constant_input_gets_no_gradient():
    manual_seed(0)
    model = RNN(5, n_embd=2, n_embd2=3, cell_type="gru")
    x = Tensor(np.ones((2, 4, 2), dtype=np.float32))  # a constant: requires no gradient
    h = model.cell.read(x, model.start)
    h.sum().backward()
    assert x.grad is None and model.cell.xh_to_r.weight.grad.shape == (5, 3)
    np.testing.assert_allclose(h.data, unroll(model.cell, x, model.start).data, atol=1e-6)


@pytest.mark.parametrize("cell_type", CELLS)
def test_the_fused_reading_is_the_same_on_two_threads(cell_type, same_on_two_threads):
    model = tiny_model(cell_type, n_embd=16, n_embd2=32)
    X, Y = batch(B=64, T=5)

    def compute():
        loss, grads = loss_and_grads(model, X, Y)
        return [np.array(loss), *grads.values()]

    same_on_two_threads(compute)


def test_bad_inputs_are_refused_with_what_and_where():
    with pytest.raises(ValueError, match="unknown cell_type 'lstm'; known: rnn, gru"):
        RNN(7, cell_type="lstm")
    model = tiny_model("gru")
    with pytest.raises(ValueError, match=r"contexts must be \(batch, T\) .* got shape \(5,\)"):
        model(np.zeros(5, dtype=np.int64))
    with pytest.raises(ValueError, match="got shape"):
        model(np.zeros((2, 0), dtype=np.int64))
    x = Tensor(np.ones((2, 3, 3)))
    with pytest.raises(ValueError, match=r"recurrence: inputs \(B, T, E\) \(2, 3, 3\)"):
        fused_rnn(x, Tensor(np.zeros((4, 4))), Tensor(np.zeros((7, 4))), Tensor(np.zeros(4)))
    with pytest.raises(ValueError, match="do not fit"):
        fused_rnn(x, Tensor(np.zeros((1, 4))), Tensor(np.zeros((6, 4))), Tensor(np.zeros(4)))


@pytest.mark.parametrize("cell_type", CELLS)
def test_a_recurrent_model_overfits_a_tiny_batch(cell_type):
    X, Y = batch(seed=3, B=12, T=4)
    manual_seed(0)
    model = RNN(7, block_size=4, n_embd=8, n_embd2=32, cell_type=cell_type)
    adamw = optim.AdamW(model.parameters(), lr=0.02, weight_decay=0.0)
    history = train(model, adamw, minibatches(X, Y, batch_size=None), 150)
    assert history.loss[0] > 1.5
    assert evaluate(model, X, Y) < 0.05


def torch_twin(torch, model):
    """makemore's RNN written with PyTorch, holding float64 copies of ``model``'s weights:
    the vanilla cell is PyTorch's own ``nn.RNNCell``, the GRU makemore's code by hand."""

    def copy(array):
        return torch.tensor(np.array(array, dtype=np.float64), requires_grad=True)

    E = model.wte.weight.shape[1]
    params = {"start": copy(model.start.data), "wte": copy(model.wte.weight.data)}
    params["head_w"] = copy(model.lm_head.weight.data)  # (H, V): ours are (fan_in, fan_out)
    params["head_b"] = copy(model.lm_head.bias.data)
    if isinstance(model.cell, recurrent.RNNCell):
        layer = model.cell.xh_to_h
        rnn = torch.nn.RNNCell(E, layer.weight.shape[1], dtype=torch.float64)
        with torch.no_grad():
            rnn.weight_ih.copy_(torch.tensor(layer.weight.data[:E].T))
            rnn.weight_hh.copy_(torch.tensor(layer.weight.data[E:].T))
            rnn.bias_ih.copy_(torch.tensor(layer.bias.data))
            rnn.bias_hh.zero_()
        cell, leaves = rnn, {"cell.xh_to_h": (rnn.weight_ih, rnn.weight_hh, rnn.bias_ih)}
    else:
        layers = {n: getattr(model.cell, n) for n in ("xh_to_z", "xh_to_r", "xh_to_hbar")}
        w = {n: (copy(ly.weight.data), copy(ly.bias.data)) for n, ly in layers.items()}

        def cell(xt, hprev):  # makemore's GRU equations, our (fan_in, fan_out) weights
            xh = torch.cat([xt, hprev], dim=1)
            r = torch.sigmoid(xh @ w["xh_to_r"][0] + w["xh_to_r"][1])
            xhr = torch.cat([xt, r * hprev], dim=1)
            hbar = torch.tanh(xhr @ w["xh_to_hbar"][0] + w["xh_to_hbar"][1])
            z = torch.sigmoid(xh @ w["xh_to_z"][0] + w["xh_to_z"][1])
            return (1 - z) * hprev + z * hbar

        leaves = {f"cell.{n}": pair for n, pair in w.items()}

    def forward(idx, targets):
        emb = params["wte"][torch.tensor(idx)]  # (B, T, E)
        h = params["start"].expand((len(idx), -1))
        for t in range(idx.shape[1]):
            h = cell(emb[:, t, :], h)
        logits = h @ params["head_w"] + params["head_b"]
        return torch.nn.functional.cross_entropy(logits, torch.tensor(targets))

    return forward, params, leaves


@pytest.mark.oracle
@pytest.mark.parametrize("cell_type", CELLS)
def test_loss_and_gradients_match_pytorch(torch, cell_type):
    model = tiny_model(cell_type, seed=4)
    X, Y = batch(seed=5)
    loss, grads = loss_and_grads(model, X, Y)
    forward, params, leaves = torch_twin(torch, model)
    reference = forward(X, Y)
    reference.backward()
    assert loss == pytest.approx(reference.item(), abs=1e-10)
    np.testing.assert_allclose(grads["start"], params["start"].grad.numpy(), atol=1e-5)
    np.testing.assert_allclose(grads["wte.weight"], params["wte"].grad.numpy(), atol=1e-5)
    np.testing.assert_allclose(grads["lm_head.weight"], params["head_w"].grad.numpy(), atol=1e-5)
    if cell_type == "rnn":
        w_ih, w_hh, b_ih = leaves["cell.xh_to_h"]
        theirs = np.concatenate([w_ih.grad.numpy().T, w_hh.grad.numpy().T])
        np.testing.assert_allclose(grads["cell.xh_to_h.weight"], theirs, atol=1e-5)
        np.testing.assert_allclose(grads["cell.xh_to_h.bias"], b_ih.grad.numpy(), atol=1e-5)
        return
    for name, (w, b) in leaves.items():
        np.testing.assert_allclose(grads[f"{name}.weight"], w.grad.numpy(), atol=1e-5)
        np.testing.assert_allclose(grads[f"{name}.bias"], b.grad.numpy(), atol=1e-5)
