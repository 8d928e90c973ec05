"""A WaveNet-like makemore: a tree that fuses neighbouring characters two at a time.

The MLP of Bengio et al. squashes its whole context into one hidden layer at once. Here
the context of ``block_size`` characters is fused gradually, as in WaveNet (van den Oord
et al., 2016): the first layer combines characters two by two, the next combines those
pairs two by two, and so on, until one vector describes the whole context. With
``block_size = 8`` and ``fuse = 2`` that is three layers::

    1 2 3 4 5 6 7 8        the 8 character embeddings
    (12)(34)(56)(78)       layer 1: each pair of neighbours becomes one vector
    (1234)  (5678)         layer 2: pairs of pairs
    (12345678)             layer 3: the whole context, then the logits

``fuse = block_size`` gives back the flat MLP (one layer that sees everything at once),
so the chapter compares both with the same class. The same tree, applied at every
position of a word, is a stack of dilated causal convolutions
(:func:`causal_conv_forward`).

>>> import numpy as np
>>> model = WaveNet(vocab_size=27, block_size=8, n_embd=24, n_hidden=128)
>>> logits, _ = model(np.zeros((4, 8), dtype=np.int64))
>>> logits.shape
(4, 27)
>>> model.num_parameters()
76579
"""

from __future__ import annotations

import numpy as np

from gpt_from_scratch.tensor import Tensor, cat, nn
from gpt_from_scratch.tensor import functional as F


class FlattenConsecutive(nn.Module):
    """Concatenate each run of ``n`` neighbouring vectors: (B, T, C) -> (B, T/n, C*n).

    When a single group is left (``T == n``) the middle axis is dropped: (B, C * n).

    >>> x = Tensor(np.arange(8.0).reshape(1, 4, 2))  # positions [0,1] [2,3] [4,5] [6,7]
    >>> FlattenConsecutive(2)(x).data.tolist()
    [[[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0]]]
    """

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def forward(self, x: Tensor) -> Tensor:
        B, T, C = x.shape
        if T % self.n:
            raise ValueError(f"cannot fuse {T} positions {self.n} at a time: {x.shape}")
        x = x.reshape(B, T // self.n, C * self.n)  # (B, T/n, C*n)
        if T == self.n:
            x = x.reshape(B, C * self.n)  # (B, C*n): one vector per context
        return x


class BatchNormFirstAxis(nn.Module):
    """A deliberately buggy batch norm, kept to show the bug: statistics over axis 0.

    On a 3-D input (B, T, C) it normalizes each (position, channel) pair separately, so
    its running statistics have shape (1, T, C) instead of (C,), each estimated from
    only B numbers. The library's ``nn.BatchNorm1d`` reduces over all axes but the last.
    """

    def __init__(self, dim: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        ones, zeros = np.ones(dim, dtype=np.float32), np.zeros(dim, dtype=np.float32)
        self.weight = Tensor(ones, requires_grad=True)  # (C,)
        self.bias = Tensor(zeros, requires_grad=True)  # (C,)
        self.running_mean = Tensor(zeros.copy())  # (C,) until trained
        self.running_var = Tensor(ones.copy())  # (C,) until trained

    def forward(self, x: Tensor) -> Tensor:
        if self.training:
            mean = x.mean(axis=0, keepdims=True)  # (1, T, C) on 3-D input: the bug
            var = x.var(axis=0, keepdims=True, unbiased=False)  # (1, T, C)
            m = self.momentum
            unbiased = x.data.var(axis=0, keepdims=True, ddof=1)  # (1, T, C)
            # broadcasting silently grows the buffers from (C,) to (1, T, C)
            self.running_mean.data = (1 - m) * self.running_mean.data + m * mean.data
            self.running_var.data = (1 - m) * self.running_var.data + m * unbiased
        else:
            mean, var = self.running_mean, self.running_var
        return self.weight * (x - mean) / (var + self.eps) ** 0.5 + self.bias


class WaveNet(nn.Sequential):
    """Embeddings, then log_fuse(block_size) blocks of fuse, linear, batch norm, tanh.

    ``fuse`` is how many neighbours each block concatenates: 2 gives the tree,
    ``block_size`` the flat MLP. ``batchnorm`` builds the normalization layer (the
    chapter swaps in :class:`BatchNormFirstAxis` to show its bug). The last layer starts
    with small weights, so the first predictions are close to uniform.
    """

    def __init__(
        self,
        vocab_size: int,
        block_size: int = 8,
        n_embd: int = 24,
        n_hidden: int = 128,
        fuse: int = 2,
        batchnorm=nn.BatchNorm1d,
    ):
        n_blocks = fusing_depth(block_size, fuse)
        layers = [nn.Embedding(vocab_size, n_embd)]
        width = n_embd
        for _ in range(n_blocks):
            layers += [
                FlattenConsecutive(fuse),
                nn.Linear(width * fuse, n_hidden, bias=False),  # batch norm has one
                batchnorm(n_hidden),
                nn.Tanh(),
            ]
            width = n_hidden
        layers.append(nn.Linear(n_hidden, vocab_size))
        layers[-1].weight.data *= 0.1  # small logits: a nearly uniform first guess
        super().__init__(*layers)
        self.block_size = block_size

    def forward(self, idx: np.ndarray, targets: np.ndarray | None = None):
        logits = super().forward(idx)  # (B, vocab_size): the layers in order
        loss = None if targets is None else F.cross_entropy(logits, targets)
        return logits, loss


def fusing_depth(block_size: int, fuse: int) -> int:
    """How many fusing layers take ``block_size`` positions down to one.

    >>> fusing_depth(8, 2), fusing_depth(8, 8), fusing_depth(3, 3)
    (3, 1, 1)
    """
    if fuse < 2 or block_size < fuse:
        raise ValueError(
            f"need 2 <= fuse <= block_size, got fuse={fuse}, block_size={block_size}"
        )
    depth, size = 0, block_size
    while size > 1:
        if size % fuse:
            raise ValueError(f"block_size {block_size} is not a power of fuse {fuse}")
        size //= fuse
        depth += 1
    return depth


def dilated_pairs(x: Tensor, dilation: int) -> Tensor:
    """At every position t, the vector from ``dilation`` steps back beside the one at t.

    (B, T, C) -> (B, T - dilation, 2C): a causal convolution of kernel size 2 before its
    weights are applied, keeping the positions whose receptive field is all inside.
    """
    T = x.shape[1]
    past = x[:, : T - dilation, :]  # (B, T-d, C): position t - d
    now = x[:, dilation:, :]  # (B, T-d, C): position t
    return cat([past, now], axis=2)  # (B, T-d, 2C)


def causal_conv_forward(model: WaveNet, ids: np.ndarray) -> Tensor:
    """Logits of ``model`` at every position of ``ids`` (B, T) at once.

    Each :class:`FlattenConsecutive` of the tree becomes :func:`dilated_pairs` with
    dilations 1, 2, 4, ...; every other layer acts on the last axis and is reused as it
    is. Output j is the tree's logits for the context ``ids[:, j : j + block_size]``,
    and what neighbouring contexts share is computed once.
    """
    check_dilatable(model)
    x = model[0](ids)  # (B, T, n_embd)
    dilation = 1
    for layer in model[1:]:
        if isinstance(layer, FlattenConsecutive):
            x = dilated_pairs(x, dilation)  # (B, T', 2C)
            dilation *= 2
        else:
            x = layer(x)  # (B, T', C'): linear, batch norm, tanh act per position
    return x  # (B, T - block_size + 1, vocab_size)


def check_dilatable(model: WaveNet) -> None:
    """A ``ValueError`` unless the tree fuses pairs and its batch norm is fixed (eval
    mode, where it acts on each position independently)."""
    if model.training:
        raise ValueError("causal_conv_forward needs model.eval(): fixed batch norm")
    for layer in model:
        if isinstance(layer, FlattenConsecutive) and layer.n != 2:
            raise ValueError(f"dilated pairs need fuse=2, the model fuses {layer.n}")
