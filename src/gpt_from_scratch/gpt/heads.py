"""Self-attention in graded steps, each written in the tensor engine's ops.

1. :class:`Head`: one head. Queries, keys and values, the scores scaled by 1/sqrt(hs), the
   causal mask, the softmax, the weighted sum of the values.
2. :class:`MultiHeadAttention`: ``n_head`` heads side by side, then a projection.
3. :class:`BatchedSelfAttention`: the same, with the heads as one dimension of one array and
   one linear layer for every head's queries, keys and values.

The model trains with a fourth form, the fused kernel of :mod:`gpt_from_scratch.gpt.attention`
(in :class:`gpt_from_scratch.gpt.model.CausalSelfAttention`). All four compute the same
function; :func:`heads_from_batched` and :func:`batched_from_model` copy the weights between
them, so that tests and the book can check it.

>>> import numpy as np
>>> from gpt_from_scratch.tensor import Tensor
>>> batched = BatchedSelfAttention(n_embd=8, n_head=2)
>>> heads = heads_from_batched(batched)
>>> x = Tensor(np.random.default_rng(0).standard_normal((1, 5, 8)))
>>> bool(np.allclose(heads(x).data, batched(x).data, atol=1e-6))
True
"""

from __future__ import annotations

import numpy as np

from gpt_from_scratch.tensor import Tensor, cat, nn


def future_mask(T: int) -> np.ndarray:
    """True above the diagonal: the positions a query at row t may not see."""
    return np.triu(np.ones((T, T), dtype=bool), k=1)  # (T, T)


class Head(nn.Module):
    """One head of causal self-attention, of size ``head_size``."""

    def __init__(self, n_embd: int, head_size: int, bias: bool = False):
        self.key = nn.Linear(n_embd, head_size, bias=bias)
        self.query = nn.Linear(n_embd, head_size, bias=bias)
        self.value = nn.Linear(n_embd, head_size, bias=bias)
        self.weights = None  # the last forward's attention weights (B, T, T)

    def forward(self, x: Tensor) -> Tensor:
        B, T, C = x.shape
        q = self.query(x)  # (B, T, hs): what each position looks for
        k = self.key(x)  # (B, T, hs): what each position holds
        v = self.value(x)  # (B, T, hs): what each position gives
        scores = q @ k.transpose(-2, -1) * k.shape[-1] ** -0.5  # (B, T, T)
        scores = scores.masked_fill(future_mask(T), -np.inf)  # (B, T, T), no peeking
        weights = scores.softmax(axis=-1)  # (B, T, T), each row sums to 1
        self.weights = weights.data
        return weights @ v  # (B, T, hs)


class MultiHeadAttention(nn.Module):
    """``n_head`` heads of size ``n_embd / n_head`` side by side, then a projection."""

    def __init__(self, n_embd: int, n_head: int, bias: bool = True):
        head_size = check_heads(n_embd, n_head)
        self.heads = [Head(n_embd, head_size, bias) for _ in range(n_head)]
        self.proj = nn.Linear(n_embd, n_embd, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        out = cat([head(x) for head in self.heads], axis=-1)  # (B, T, C)
        return self.proj(out)  # (B, T, C)


class BatchedSelfAttention(nn.Module):
    """The same, with heads as a dimension: one linear layer makes every head's queries,
    keys and values at once, and one product per step serves all heads."""

    def __init__(self, n_embd: int, n_head: int, bias: bool = True):
        check_heads(n_embd, n_head)
        self.n_head = n_head
        self.c_attn = nn.Linear(n_embd, 3 * n_embd, bias=bias)  # q, k, v
        self.c_proj = nn.Linear(n_embd, n_embd, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        B, T, C = x.shape
        nh, hs = self.n_head, C // self.n_head
        qkv = self.c_attn(x).reshape(B, T, 3, nh, hs)  # (B, T, 3, nh, hs)
        qkv = qkv.permute(2, 0, 3, 1, 4)  # (3, B, nh, T, hs)
        q, k, v = qkv[0], qkv[1], qkv[2]  # each (B, nh, T, hs)
        scores = q @ k.transpose(-2, -1) * hs**-0.5  # (B, nh, T, T)
        scores = scores.masked_fill(future_mask(T), -np.inf)  # (B, nh, T, T)
        y = scores.softmax(axis=-1) @ v  # (B, nh, T, hs)
        y = y.transpose(1, 2).reshape(B, T, C)  # (B, T, C): heads side by side
        return self.c_proj(y)  # (B, T, C)


def check_heads(n_embd: int, n_head: int) -> int:
    """The head size ``n_embd / n_head``; a ``ValueError`` unless it is a whole number."""
    if n_head < 1 or n_embd % n_head:
        raise ValueError(f"n_embd={n_embd} must be a multiple of n_head={n_head} >= 1")
    return n_embd // n_head


def heads_from_batched(batched: BatchedSelfAttention) -> MultiHeadAttention:
    """A :class:`MultiHeadAttention` computing what ``batched`` computes: head i's query,
    key and value layers are columns of ``c_attn``."""
    C, nh = batched.c_attn.weight.shape[0], batched.n_head
    bias = batched.c_attn.bias is not None
    multi, hs = MultiHeadAttention(C, nh, bias), C // nh
    for i, head in enumerate(multi.heads):
        for part, layer in enumerate((head.query, head.key, head.value)):
            columns = slice(part * C + i * hs, part * C + (i + 1) * hs)
            layer.weight.data = batched.c_attn.weight.data[:, columns].copy()
            if bias:
                layer.bias.data = batched.c_attn.bias.data[columns].copy()
    copy_linear(batched.c_proj, multi.proj)
    return multi


def batched_from_model(attention) -> BatchedSelfAttention:
    """A :class:`BatchedSelfAttention` with the weights of the model's fused
    :class:`~gpt_from_scratch.gpt.model.CausalSelfAttention` (the same layout)."""
    C, bias = attention.c_attn.weight.shape[0], attention.c_attn.bias is not None
    batched = BatchedSelfAttention(C, attention.n_head, bias)
    copy_linear(attention.c_attn, batched.c_attn)
    copy_linear(attention.c_proj, batched.c_proj)
    return batched


def copy_linear(source: nn.Linear, target: nn.Linear) -> None:
    target.weight.data = source.weight.data.copy()
    if source.bias is not None:
        target.bias.data = source.bias.data.copy()
