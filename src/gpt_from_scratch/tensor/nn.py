"""Layers made of Tensors, with PyTorch's names: `Module`, `Linear`, `Embedding`, `BatchNorm1d`...

A `Module` finds its parameters by looking through its attributes: a Tensor that requires a
gradient is a parameter, a Tensor that does not is a buffer (saved, not trained), and modules,
lists, tuples and dicts of them are searched recursively.

>>> from gpt_from_scratch.tensor import manual_seed
>>> manual_seed(0)
>>> model = Sequential(Linear(2, 16), Tanh(), Linear(16, 1))
>>> [name for name, _ in model.named_parameters()]
['layers.0.weight', 'layers.0.bias', 'layers.2.weight', 'layers.2.bias']
"""

import math
from contextlib import contextmanager

import numpy as np

from gpt_from_scratch.tensor import functional as F
from gpt_from_scratch.tensor.engine import DEFAULT_DTYPE, Tensor, rng


class Module:
    """Base class: parameter discovery, train/eval mode, state dicts, `__call__` -> `forward`."""

    training = True

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def _named_members(self, prefix=""):
        """(name, value) for every Tensor and Module reachable from our attributes."""
        for name, value in vars(self).items():
            yield from _walk(value, prefix + name)

    def named_parameters(self):
        for name, value in self._named_members():
            if isinstance(value, Tensor) and value.requires_grad:
                yield name, value

    def parameters(self):
        return [p for _, p in self.named_parameters()]

    def named_buffers(self):
        for name, value in self._named_members():
            if isinstance(value, Tensor) and not value.requires_grad:
                yield name, value

    def modules(self):
        yield self
        for _, value in self._named_members():
            if isinstance(value, Module):
                yield value

    def train(self, mode=True):
        for module in self.modules():
            module.training = mode
        return self

    def eval(self):
        return self.train(False)

    @contextmanager
    def mode(self, training):
        """Train (True) or eval (False) mode inside a `with` block, the previous mode after.

        >>> layer = Dropout(0.5)
        >>> with layer.mode(training=False):
        ...     layer.training
        False
        >>> layer.training
        True
        """
        previous = self.training
        self.train(training)
        try:
            yield self
        finally:
            self.train(previous)

    def num_parameters(self):
        """How many numbers training adjusts: the sizes of every parameter, added up."""
        return sum(p.data.size for p in self.parameters())

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def to(self, dtype):
        """Convert every floating parameter and buffer to `dtype` in place (e.g. np.float64)."""
        for _, value in self._named_members():
            if isinstance(value, Tensor) and value.data.dtype.kind == "f":
                value.data = value.data.astype(dtype)
                value.grad = None
        return self

    def state_dict(self):
        """Name -> copy of the array, for every parameter and buffer."""
        return {
            name: value.data.copy()
            for name, value in self._named_members()
            if isinstance(value, Tensor)
        }

    def load_state_dict(self, state):
        """Copy arrays from `state` into our parameters and buffers, checking everything first.

        Missing or unexpected names and shape mismatches raise an error that lists them, and
        then nothing has been changed.
        """
        own = {name: v for name, v in self._named_members() if isinstance(v, Tensor)}
        missing = [name for name in own if name not in state]
        unexpected = [name for name in state if name not in own]
        problems = []
        if missing:
            problems.append(f"missing keys: {missing}")
        if unexpected:
            problems.append(f"unexpected keys: {unexpected}")
        for name in own:
            if name in state and np.shape(state[name]) != own[name].shape:
                problems.append(
                    f"shape mismatch for {name!r}: the checkpoint has {np.shape(state[name])}, "
                    f"the model has {own[name].shape}"
                )
        if problems:
            raise KeyError(f"load_state_dict into {type(self).__name__}: " + "; ".join(problems))
        for name, target in own.items():
            target.data[...] = np.asarray(state[name])


def _walk(value, name):
    if isinstance(value, Tensor):
        yield name, value
    elif isinstance(value, Module):
        yield name, value
        yield from value._named_members(name + ".")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _walk(item, f"{name}.{i}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{name}.{key}")


def _uniform(shape, bound):
    return rng().uniform(-bound, bound, size=shape).astype(DEFAULT_DTYPE)


class Linear(Module):
    """y = x @ weight + bias, with weight of shape (fan_in, fan_out).

    The weight is stored (fan_in, fan_out), so the forward pass reads like the math
    (x W + b) with no transpose; PyTorch stores the transpose, (fan_out, fan_in).
    Initialisation is PyTorch's default: weight and bias uniform in
    [-1/sqrt(fan_in), 1/sqrt(fan_in)].
    """

    def __init__(self, fan_in, fan_out, bias=True):
        bound = 1.0 / math.sqrt(fan_in)
        self.weight = Tensor(_uniform((fan_in, fan_out), bound), requires_grad=True)
        self.bias = None
        if bias:
            self.bias = Tensor(_uniform((fan_out,), bound), requires_grad=True)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)  # (..., fan_out)


class Embedding(Module):
    """A lookup table: row i of `weight` (num, dim) is the vector of token i. Init N(0, 1)."""

    def __init__(self, num, dim):
        self.weight = Tensor(rng().standard_normal((num, dim), dtype=DEFAULT_DTYPE), True)

    def forward(self, ids):
        return F.embedding(ids, self.weight)  # (*ids.shape, dim)


class Tanh(Module):
    def forward(self, x):
        return x.tanh()


class ReLU(Module):
    def forward(self, x):
        return x.relu()


class GELU(Module):
    def forward(self, x):
        return x.gelu()


class BatchNorm1d(Module):
    """Batch normalisation over every axis but the last (channels last: (N, C) or (N, L, C)).

    Training uses the batch's statistics and updates the running ones; evaluation uses the
    running ones. One fused op, `functional.batch_norm`, holds the forward and backward formulas.
    """

    def __init__(self, dim, eps=1e-5, momentum=0.1):
        self.eps = eps
        self.momentum = momentum
        self.weight = Tensor(np.ones(dim, dtype=DEFAULT_DTYPE), requires_grad=True)
        self.bias = Tensor(np.zeros(dim, dtype=DEFAULT_DTYPE), requires_grad=True)
        self.running_mean = Tensor(np.zeros(dim, dtype=DEFAULT_DTYPE))
        self.running_var = Tensor(np.ones(dim, dtype=DEFAULT_DTYPE))

    def forward(self, x):
        if x.ndim not in (2, 3):
            raise ValueError(f"BatchNorm1d expects (N, C) or (N, L, C) input, got shape {x.shape}")
        return F.batch_norm(
            x,
            self.weight,
            self.bias,
            self.running_mean.data,
            self.running_var.data,
            self.training,
            self.momentum,
            self.eps,
        )


class LayerNorm(Module):
    """Normalise each vector (the last axis) to mean 0 and variance 1, then scale and shift."""

    def __init__(self, dim, eps=1e-5):
        self.eps = eps
        self.weight = Tensor(np.ones(dim, dtype=DEFAULT_DTYPE), requires_grad=True)
        self.bias = Tensor(np.zeros(dim, dtype=DEFAULT_DTYPE), requires_grad=True)

    def forward(self, x):
        return F.layer_norm(x, self.weight, self.bias, self.eps)


class Dropout(Module):
    """In training, zero each entry with probability p and scale the rest by 1/(1-p)."""

    def __init__(self, p=0.5):
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout probability must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, self.training)


class Sequential(Module):
    """Modules applied one after another."""

    def __init__(self, *layers):
        self.layers = list(layers)

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self):
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)
