"""The MLP of the makemore chapters, looked at from the inside: how its weights start out.

A network's first steps depend on how its weights are drawn. :data:`RECIPES` lists the
initializations of the chapter "Activations, gradients and BatchNorm", each one fixing what the
previous one got wrong, and :class:`TwoLayerMLP` builds the two-layer MLP with any of them.
:class:`DeepMLP` stacks more tanh layers (optionally with batch normalization) so that the
statistics of every layer can be watched while it trains.

>>> from gpt_from_scratch.tensor import manual_seed
>>> manual_seed(0)
>>> model = TwoLayerMLP(vocab_size=27, init="kaiming")
>>> logits, _ = model(np.zeros((4, 3), dtype=np.int64))
>>> logits.shape
(4, 27)
>>> round(kaiming_std(fan_in=30), 4)  # (5/3) / sqrt(30)
0.3043
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from gpt_from_scratch.makemore.train import Callback, History, evaluate, minibatches, train
from gpt_from_scratch.tensor import Tensor, manual_seed, nn, no_grad, optim, rng
from gpt_from_scratch.tensor import functional as F

TANH_GAIN = 5.0 / 3.0
"""The gain that keeps the spread of activations steady through a tanh (see kaiming_std)."""


def kaiming_std(fan_in: int, gain: float = TANH_GAIN) -> float:
    """The std of a weight that keeps its layer's output as spread as its input.

    A sum of ``fan_in`` products of unit-variance inputs with weights of standard
    deviation ``s`` has variance ``fan_in * s**2``; ``s = 1 / sqrt(fan_in)`` makes it 1.
    The ``gain`` makes up for what the nonlinearity that follows squeezes out
    (He et al., 2015).

    >>> kaiming_std(fan_in=100, gain=1.0)
    0.1
    """
    if fan_in < 1:
        raise ValueError(f"fan_in must be a positive number of inputs, got {fan_in}")
    return gain / math.sqrt(fan_in)


def uniform_loss(vocab_size: int) -> float:
    """The loss of a model that gives every one of ``vocab_size`` characters the same chance.

    >>> round(uniform_loss(27), 4)  # -log(1/27)
    3.2958
    """
    return -math.log(1.0 / vocab_size)


@dataclass(frozen=True)
class InitRecipe:
    """How :class:`TwoLayerMLP` draws its weights: standard normal numbers times scales.

    ``hidden_weight=None`` means Kaiming's scale, ``TANH_GAIN / sqrt(fan_in)``. With
    ``batchnorm`` the hidden layer has no bias (batch normalization would subtract it
    right away) and a ``BatchNorm1d`` sits between the hidden linear layer and the tanh.
    """

    name: str
    hidden_weight: float | None
    hidden_bias: float
    output_weight: float
    output_bias: float
    batchnorm: bool = False


RECIPES: dict[str, InitRecipe] = {
    # Every weight and bias standard normal: confident, wrong logits at the start.
    "original": InitRecipe("original", 1.0, 1.0, 1.0, 1.0),
    # Logits near zero: the first prediction is (almost) uniform.
    "fixed_output": InitRecipe("fixed output layer", 1.0, 1.0, 0.01, 0.0),
    # Hidden pre-activations small enough that few tanh units sit on their flat tails.
    "fixed_saturation": InitRecipe("fixed saturation", 0.2, 0.01, 0.01, 0.0),
    # The same idea with a scale derived from the fan-in instead of tuned by hand.
    "kaiming": InitRecipe("Kaiming init", None, 0.01, 0.01, 0.0),
    # Batch normalization makes the hidden scale matter much less.
    "batchnorm": InitRecipe("BatchNorm", None, 0.0, 0.01, 0.0, batchnorm=True),
}


def _normal(shape: tuple[int, ...], std: float) -> Tensor:
    """A parameter drawn from N(0, std^2) with the engine's generator (see manual_seed)."""
    data = rng().standard_normal(shape, dtype=np.float32) * np.float32(std)
    return Tensor(data, requires_grad=True)


class TwoLayerMLP(nn.Module):
    """Embeddings, a hidden tanh layer (with optional batch norm), then logits.

    The same network as :class:`~gpt_from_scratch.makemore.mlp.MLP`, with its weights drawn by
    one of the :data:`RECIPES` (a name or an :class:`InitRecipe`).

    >>> from gpt_from_scratch.tensor import manual_seed
    >>> manual_seed(0)
    >>> model = TwoLayerMLP(vocab_size=27, init="batchnorm")
    >>> sorted(name for name, _ in model.named_parameters())
    ['C.weight', 'bn.bias', 'bn.weight', 'hidden.weight', 'out.bias', 'out.weight']
    """

    def __init__(
        self,
        vocab_size: int,
        block_size: int = 3,
        n_embd: int = 10,
        n_hidden: int = 200,
        init: str | InitRecipe = "kaiming",
    ):
        recipe = init if isinstance(init, InitRecipe) else _recipe(init)
        fan_in = block_size * n_embd
        hidden_std = recipe.hidden_weight
        if hidden_std is None:
            hidden_std = kaiming_std(fan_in)
        self.block_size = block_size
        self.recipe = recipe
        self.C = nn.Embedding(vocab_size, n_embd)
        self.hidden = nn.Linear(fan_in, n_hidden, bias=not recipe.batchnorm)
        self.hidden.weight = _normal((fan_in, n_hidden), hidden_std)
        if self.hidden.bias is not None:
            self.hidden.bias = _normal((n_hidden,), recipe.hidden_bias)
        self.bn = nn.BatchNorm1d(n_hidden) if recipe.batchnorm else None
        self.out = nn.Linear(n_hidden, vocab_size)
        self.out.weight = _normal((n_hidden, vocab_size), recipe.output_weight)
        self.out.bias = _normal((vocab_size,), recipe.output_bias)

    def hidden_layer(self, x: np.ndarray) -> tuple[Tensor, Tensor]:
        """The hidden pre-activations and their tanh, for contexts ``x`` (B, T)."""
        emb = self.C(x)  # (B, block_size, n_embd)
        concat = emb.reshape(emb.shape[0], -1)  # (B, block_size * n_embd)
        preact = self.hidden(concat)  # (B, n_hidden)
        if self.bn is not None:
            preact = self.bn(preact)  # (B, n_hidden), standardized over the batch
        return preact, preact.tanh()

    def forward(self, idx: np.ndarray, targets: np.ndarray | None = None):
        _, h = self.hidden_layer(idx)
        logits = self.out(h)  # (B, vocab_size)
        loss = None if targets is None else F.cross_entropy(logits, targets)
        return logits, loss


def _recipe(name: str) -> InitRecipe:
    if name not in RECIPES:
        raise ValueError(f"unknown initialization {name!r}; known: {', '.join(RECIPES)}")
    return RECIPES[name]


class DeepMLP(nn.Module):
    """Embeddings, ``n_layers`` blocks of Linear -> [BatchNorm1d] -> Tanh, then the logits.

    Every hidden linear weight is drawn from N(0, (gain / sqrt(fan_in))^2). The last layer
    starts small (``last_scale``) so that the first prediction is nearly uniform: with batch
    normalization its scale parameter (``weight``) is shrunk, without it its linear weight.
    Hidden linear layers carry a bias only without batch normalization.

    :meth:`trace` returns every layer's output, which is what the diagnostics look at.

    >>> from gpt_from_scratch.tensor import manual_seed
    >>> manual_seed(0)
    >>> model = DeepMLP(vocab_size=27, n_hidden=16, n_layers=1)
    >>> [name for name, _ in model.trace(np.zeros((4, 3), dtype=np.int64))]
    ['Linear 1', 'BatchNorm 1', 'Tanh 1', 'Linear 2', 'BatchNorm 2']
    """

    def __init__(
        self,
        vocab_size: int,
        block_size: int = 3,
        n_embd: int = 10,
        n_hidden: int = 100,
        n_layers: int = 5,
        batchnorm: bool = True,
        gain: float = TANH_GAIN,
        last_scale: float = 0.1,
    ):
        if n_layers < 1:
            raise ValueError(f"n_layers must be at least 1, got {n_layers}")
        self.block_size = block_size
        self.C = nn.Embedding(vocab_size, n_embd)
        sizes = [block_size * n_embd] + [n_hidden] * n_layers + [vocab_size]
        self.layers = []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
            is_last = i == len(sizes) - 1
            linear = nn.Linear(fan_in, fan_out, bias=not batchnorm)
            std = kaiming_std(fan_in, gain=1.0 if is_last else gain)
            if is_last and not batchnorm:
                std *= last_scale
            linear.weight = _normal((fan_in, fan_out), std)
            if linear.bias is not None:
                linear.bias = Tensor(np.zeros(fan_out, dtype=np.float32), requires_grad=True)
            self.layers.append((f"Linear {i}", linear))
            if batchnorm:
                norm = nn.BatchNorm1d(fan_out)
                if is_last:
                    norm.weight.data *= np.float32(last_scale)
                self.layers.append((f"BatchNorm {i}", norm))
            if not is_last:
                self.layers.append((f"Tanh {i}", nn.Tanh()))

    def trace(self, x: np.ndarray) -> list[tuple[str, Tensor]]:
        """(name, output) of every layer in order, for contexts ``x``; logits last."""
        emb = self.C(x)  # (B, block_size, n_embd)
        out = emb.reshape(emb.shape[0], -1)  # (B, block_size * n_embd)
        outputs = []
        for name, layer in self.layers:
            out = layer(out)  # (B, width of this layer)
            outputs.append((name, out))
        return outputs

    def forward(self, idx: np.ndarray, targets: np.ndarray | None = None):
        logits = self.trace(idx)[-1][1]  # (B, vocab_size)
        loss = None if targets is None else F.cross_entropy(logits, targets)
        return logits, loss

    def hidden_weights(self) -> list[tuple[str, Tensor]]:
        """(name, weight) of every linear layer: the matrices whose updates the chapter watches."""
        return [(name, layer.weight) for name, layer in self.layers if isinstance(layer, nn.Linear)]


def initial_loss(model: nn.Module, X: np.ndarray, Y: np.ndarray) -> float:
    """The loss of ``model`` on ``(X, Y)`` as training sees it, leaving the model unchanged.

    In training mode (batch norm uses the batch's statistics) and without a graph; the running
    statistics that this forward pass moves are put back afterwards.
    """
    state = model.state_dict()
    try:
        with no_grad(), model.mode(training=True):
            return model(X, Y)[1].item()
    finally:
        model.load_state_dict(state)


@dataclass
class RecipeRun:
    """One trained network: the model, its training history, and its losses."""

    model: nn.Module
    history: History
    initial_loss: float
    dev_loss: float


def train_recipe(
    init: str,
    vocab_size: int,
    train_set: tuple[np.ndarray, np.ndarray],
    dev_set: tuple[np.ndarray, np.ndarray],
    *,
    steps: int,
    seed: int = 42,
    n_hidden: int = 200,
    callbacks: Iterable[Callback] = (),
) -> RecipeRun:
    """Train the two-layer MLP initialized by ``init`` the way the chapter does.

    Minibatches of 32, SGD at learning rate 0.1 for the first half of ``steps``, then
    0.01. The initial loss is measured on (up to) 4096 examples of ``dev_set`` first.
    """
    X, Y = train_set
    X_dev, Y_dev = dev_set
    manual_seed(seed)
    model = TwoLayerMLP(vocab_size, n_hidden=n_hidden, init=init)
    first = initial_loss(model, X_dev[:4096], Y_dev[:4096])
    sgd = optim.SGD(model.parameters(), lr=0.1)
    schedule = optim.step_decay(0.1, 0.01, at=steps // 2)
    batches = minibatches(X, Y, batch_size=32, seed=seed)
    history = train(model, sgd, batches, steps, lr=schedule, callbacks=callbacks)
    return RecipeRun(model, history, first, evaluate(model, X_dev, Y_dev))


def train_deep(
    vocab_size: int,
    train_set: tuple[np.ndarray, np.ndarray],
    dev_set: tuple[np.ndarray, np.ndarray],
    *,
    batchnorm: bool,
    gain: float,
    steps: int,
    seed: int = 0,
    lr: float = 0.1,
    callbacks: Iterable[Callback] = (),
) -> RecipeRun:
    """Train a five-layer :class:`DeepMLP` drawn with ``gain``, at a constant ``lr``.

    Minibatches of 32; the initial loss is measured on (up to) 4096 dev examples first.
    """
    X, Y = train_set
    X_dev, Y_dev = dev_set
    manual_seed(seed)
    model = DeepMLP(vocab_size, batchnorm=batchnorm, gain=gain)
    first = initial_loss(model, X_dev[:4096], Y_dev[:4096])
    sgd = optim.SGD(model.parameters(), lr=lr)
    batches = minibatches(X, Y, batch_size=32, seed=seed)
    history = train(model, sgd, batches, steps, callbacks=callbacks)
    return RecipeRun(model, history, first, evaluate(model, X_dev, Y_dev))
