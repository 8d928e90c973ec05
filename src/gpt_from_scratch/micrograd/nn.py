"""Neural networks of `Value`s: a `Neuron`, a `Layer` of neurons, an `MLP` of layers.

Every level has the same two methods, `__call__` (the forward pass) and `parameters()`
(every weight and bias below it), and inherits `zero_grad()` from `Module`.

>>> model = MLP(3, [4, 4, 1], rng=random.Random(0))
>>> len(model.parameters())  # (3*4 + 4) + (4*4 + 4) + (4*1 + 1)
41
"""

import numbers
import random

from gpt_from_scratch.micrograd.engine import Value

ACTIVATIONS = ("tanh", "relu", "linear")


class Module:
    """What every part of a network shares: its parameters, and resetting their grad."""

    def parameters(self):
        return []

    def zero_grad(self):
        for p in self.parameters():
            p.grad = 0.0


class Neuron(Module):
    """activation(w . x + b), with weights and bias drawn uniformly from [-1, 1]."""

    def __init__(self, nin, activation="tanh", rng=random):
        _check_neuron(nin, activation)
        self.w = [Value(rng.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(rng.uniform(-1, 1))
        self.activation = activation

    def __call__(self, x):
        _check_inputs(len(self.w), x)
        act = self.b
        for wi, xi in zip(self.w, x, strict=True):
            act = act + wi * xi
        if self.activation == "tanh":
            return act.tanh()
        if self.activation == "relu":
            return act.relu()
        return act

    def parameters(self):
        return self.w + [self.b]

    def __repr__(self):
        return f"Neuron({len(self.w)}, {self.activation})"


class Layer(Module):
    """`nout` independent neurons that all read the same input."""

    def __init__(self, nin, nout, activation="tanh", rng=random):
        _check_size("Layer nout", nout)
        self.neurons = [Neuron(nin, activation, rng) for _ in range(nout)]

    def __call__(self, x):
        return [n(x) for n in self.neurons]

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self):
        return f"Layer([{', '.join(map(repr, self.neurons))}])"


class MLP(Module):
    """Layers of sizes `nouts` applied in turn: hidden layers use `activation`, the last
    none, so the output can be any number (a score or a regression target). With one
    output neuron the network returns a single Value, otherwise a list of them.
    """

    def __init__(self, nin, nouts, activation="tanh", rng=random):
        sizes = [nin] + _layer_sizes(nouts)
        last = len(nouts) - 1
        self.layers = [
            Layer(sizes[i], sizes[i + 1], activation if i < last else "linear", rng)
            for i in range(len(nouts))
        ]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x[0] if len(x) == 1 else x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self):
        return f"MLP([{', '.join(map(repr, self.layers))}])"


def _check_size(what, n):
    """Refuse a count of inputs or neurons that is not a whole number >= 1."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"{what} must be an int >= 1, got {type(n).__name__} {n!r}")
    if n < 1:
        raise ValueError(f"{what} must be an int >= 1, got {n}")


def _check_inputs(nin, x):
    """Refuse an input of the wrong length for a neuron of `nin` inputs."""
    if len(x) != nin:
        raise ValueError(f"Neuron with {nin} inputs called on {len(x)} numbers")


def _check_neuron(nin, activation):
    """Refuse a neuron with no inputs or an activation it does not know."""
    _check_size("Neuron nin", nin)
    if activation not in ACTIVATIONS:
        raise ValueError(f"Neuron activation {activation!r}: expected one of {ACTIVATIONS}")


def _layer_sizes(nouts):
    """`nouts` as a list of layer sizes, each an int >= 1, at least one of them."""
    if isinstance(nouts, (str, bytes)) or not hasattr(nouts, "__iter__"):
        raise TypeError(f"MLP nouts must be a list of layer sizes, got {nouts!r}")
    sizes = list(nouts)
    if not sizes:
        raise ValueError("MLP nouts is empty: an MLP needs at least one layer")
    for i, n in enumerate(sizes):
        _check_size(f"MLP nouts[{i}]", n)
    return sizes
