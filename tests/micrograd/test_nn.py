"""Neuron, Layer, MLP: shapes, parameter counts, gradients, and training that lowers the loss."""

import random

import numpy as np
import pytest

from gpt_from_scratch.micrograd.engine import Value
from gpt_from_scratch.micrograd.moons import make_moons
from gpt_from_scratch.micrograd.nn import MLP, Layer, Neuron
from gpt_from_scratch.micrograd.train import accuracy, fit, hinge_loss, mse_loss, training_step


def test_parameter_counts():
    assert len(Neuron(3).parameters()) == 4
    assert len(Layer(3, 4).parameters()) == 16
    assert len(MLP(3, [4, 4, 1]).parameters()) == 41
    assert len(MLP(2, [16, 16, 1]).parameters()) == 337


def test_mlp_output_shapes():
    rng = random.Random(0)
    assert isinstance(MLP(3, [4, 1], rng=rng)([1.0, 2.0, 3.0]), Value)
    assert len(MLP(3, [4, 2], rng=rng)([1.0, 2.0, 3.0])) == 2
    assert isinstance(MLP(2, [1, 1], rng=rng)([1.0, 2.0]), Value)  # a one-neuron hidden layer


def test_same_seed_same_network():
    first = MLP(2, [3, 1], rng=random.Random(7)).parameters()
    second = MLP(2, [3, 1], rng=random.Random(7)).parameters()
    assert [p.data for p in first] == [p.data for p in second]


def test_neuron_is_activation_of_weighted_sum():
    n = Neuron(2, activation="tanh", rng=random.Random(1))
    x = [0.5, -2.0]
    expected = np.tanh(n.w[0].data * x[0] + n.w[1].data * x[1] + n.b.data)
    assert n(x).data == pytest.approx(expected, rel=1e-12)


def test_bad_inputs_are_reported():
    with pytest.raises(ValueError, match="Neuron activation 'gelu'"):
        Neuron(2, activation="gelu")
    with pytest.raises(ValueError, match="Neuron with 2 inputs called on 3 numbers"):
        Neuron(2)([1.0, 2.0, 3.0])


def test_zero_grad_resets_every_parameter():
    model = MLP(2, [3, 1], rng=random.Random(0))
    model([1.0, -1.0]).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_mlp_gradients_match_finite_differences():
    model = MLP(2, [3, 1], rng=random.Random(3))
    xs, ys = [[0.3, -0.8], [1.2, 0.4]], [1.0, -1.0]

    def loss_at(index, value):
        p = model.parameters()[index]
        saved, p.data = p.data, value
        loss = mse_loss([model(x) for x in xs], ys).data
        p.data = saved
        return loss

    model.zero_grad()
    mse_loss([model(x) for x in xs], ys).backward()
    for i, p in enumerate(model.parameters()):
        numeric = (loss_at(i, p.data + 1e-6) - loss_at(i, p.data - 1e-6)) / 2e-6
        assert p.grad == pytest.approx(numeric, rel=1e-5, abs=1e-8)


@pytest.mark.oracle
def test_mlp_forward_and_grads_against_pytorch(torch):
    model = MLP(3, [4, 1], activation="relu", rng=random.Random(2))
    x = [0.5, -1.5, 2.0]
    model(x).backward()
    hidden, last = model.layers
    w1 = torch.tensor([[p.data for p in n.w] for n in hidden.neurons], requires_grad=True)
    b1 = torch.tensor([n.b.data for n in hidden.neurons], requires_grad=True)
    w2 = torch.tensor([p.data for p in last.neurons[0].w], requires_grad=True)
    b2 = torch.tensor(last.neurons[0].b.data, requires_grad=True)
    out = (w1 @ torch.tensor(x) + b1).relu() @ w2 + b2
    out.backward()
    assert model(x).data == pytest.approx(out.item(), rel=1e-12)
    assert [n.b.grad for n in hidden.neurons] == pytest.approx(b1.grad.tolist(), rel=1e-12)
    assert [p.grad for p in last.neurons[0].w] == pytest.approx(w2.grad.tolist(), rel=1e-12)


def test_losses_and_accuracy():
    scores = [Value(2.0), Value(0.5), Value(-0.2)]
    assert hinge_loss(scores, [1.0, -1.0, -1.0]).data == pytest.approx((0 + 1.5 + 0.8) / 3)
    assert mse_loss(scores, [1.0, 0.0, 0.0]).data == pytest.approx(1.0 + 0.25 + 0.04)
    assert accuracy(scores, [1.0, -1.0, -1.0]) == pytest.approx(2 / 3)


def test_training_step_lowers_the_loss_on_four_examples():
    xs = [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    ys = [1.0, -1.0, -1.0, 1.0]
    model = MLP(3, [4, 4, 1], rng=random.Random(0))
    history = fit(model, xs, ys, steps=30, learning_rate=0.02, loss_fn=mse_loss)
    assert history["loss"][-1] < 0.1 * history["loss"][0]
    assert history["accuracy"][-1] == 1.0


def test_training_on_moons_lowers_the_loss():
    X, y = make_moons(30, noise=0.1, seed=1)
    xs, ys = X.tolist(), y.tolist()
    model = MLP(2, [8, 1], activation="relu", rng=random.Random(0))
    first, _ = training_step(model, xs, ys, learning_rate=0.5, loss_fn=hinge_loss)
    history = fit(model, xs, ys, steps=20, learning_rate=0.5, loss_fn=hinge_loss)
    assert history["loss"][-1] < 0.5 * first


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: Neuron(0), ValueError, "Neuron nin must be an int >= 1, got 0"),
        (lambda: Neuron(2.5), TypeError, "Neuron nin must be an int >= 1, got float 2.5"),
        (lambda: Neuron(True), TypeError, "Neuron nin must be an int >= 1, got bool True"),
        (lambda: Neuron(2, "gelu"), ValueError, "Neuron activation 'gelu': expected one of"),
        (lambda: Layer(2, -1), ValueError, "Layer nout must be an int >= 1, got -1"),
        (lambda: MLP(2, []), ValueError, "MLP nouts is empty"),
        (lambda: MLP(2, 4), TypeError, "MLP nouts must be a list of layer sizes, got 4"),
        (lambda: MLP(2, "44"), TypeError, "MLP nouts must be a list of layer sizes, got '44'"),
        (lambda: MLP(2, [4, 0]), ValueError, r"MLP nouts\[1\] must be an int >= 1, got 0"),
        (lambda: MLP("2", [4]), TypeError, "Neuron nin must be an int >= 1, got str '2'"),
    ],
)
def test_a_network_of_bad_sizes_is_refused(build, error, message):
    with pytest.raises(error, match=message):
        build()


@pytest.mark.parametrize(
    ("x", "error", "message"),
    [
        ([1.0], ValueError, "Neuron with 2 inputs called on 1 numbers"),
        ([1.0, "2"], TypeError, "Value takes a real number .*got str '2'"),
        ([1.0, None], TypeError, "Value takes a real number .*got NoneType None"),
    ],
)
def test_a_network_called_on_bad_inputs_says_what_was_wrong(x, error, message):
    with pytest.raises(error, match=message):
        MLP(2, [3, 1], rng=random.Random(0))(x)
