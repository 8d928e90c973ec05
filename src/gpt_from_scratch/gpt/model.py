"""A decoder-only Transformer (GPT), top down in the order the data flows through it.

Token and position embeddings, then ``n_layer`` blocks of (causal multi-head self-attention,
feed-forward MLP), each wrapped in a residual connection with a LayerNorm in front, a final
LayerNorm, and a language-model head that reuses the token embedding matrix.

>>> from gpt_from_scratch.tensor import manual_seed
>>> manual_seed(0)
>>> model = GPT(GPTConfig(vocab_size=10, block_size=8, n_layer=1, n_head=2, n_embd=8))
>>> logits, loss = model(np.zeros((2, 5), dtype=np.int64), np.ones((2, 5), dtype=np.int64))
>>> logits.shape, round(loss.item(), 1)  # near ln(10) = 2.3 at initialisation
((2, 5, 10), 2.3)
"""

from __future__ import annotations

import math

import numpy as np

from gpt_from_scratch.gpt.attention import (
    cached_self_attention,
    causal_self_attention,
    linear_gelu,
)
from gpt_from_scratch.gpt.config import GPTConfig
from gpt_from_scratch.tensor import Tensor, nn, optim, rng
from gpt_from_scratch.tensor import functional as F


class CausalSelfAttention(nn.Module):
    """``n_head`` heads of causal self-attention side by side, then a projection.

    One linear layer makes the queries, keys and values of every head at once,
    (B, T, 3C); the fused op splits them into heads, attends, and puts the heads'
    outputs side by side again.
    """

    def __init__(self, config: GPTConfig):
        self.n_head = config.n_head
        C, bias = config.n_embd, config.bias
        self.c_attn = nn.Linear(C, 3 * C, bias=bias)
        self.c_proj = nn.Linear(C, C, bias=bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: Tensor, cache: dict | None = None) -> Tensor:
        qkv = self.c_attn(x)  # (B, T, 3C)
        if cache is None:
            y = causal_self_attention(qkv, self.n_head)  # (B, T, C)
        else:
            y = Tensor(cached_self_attention(qkv.data, self.n_head, cache))
        return self.dropout(self.c_proj(y))  # (B, T, C)


class MLP(nn.Module):
    """The feed-forward layer: widen to 4C, GELU, project back to C, at every
    position alone."""

    def __init__(self, config: GPTConfig):
        C, bias = config.n_embd, config.bias
        self.c_fc = nn.Linear(C, 4 * C, bias=bias)
        self.c_proj = nn.Linear(4 * C, C, bias=bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: Tensor) -> Tensor:
        # c_fc and GELU fused: (B, T, 4C)
        h = linear_gelu(x, self.c_fc.weight, self.c_fc.bias)
        return self.dropout(self.c_proj(h))  # (B, T, C)


class Block(nn.Module):
    """x + attention(LayerNorm(x)), then x + MLP(LayerNorm(x)): communication,
    then computation."""

    def __init__(self, config: GPTConfig):
        C, norms = config.n_embd, config.layer_norm
        self.residual = config.residual
        self.ln_1 = nn.LayerNorm(C) if norms else None
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(C) if norms and config.mlp else None
        self.mlp = MLP(config) if config.mlp else None

    def forward(self, x: Tensor, cache: dict | None = None) -> Tensor:
        x = self._branch(x, self.attn(_norm(self.ln_1, x), cache))  # (B, T, C)
        if self.mlp is not None:
            x = self._branch(x, self.mlp(_norm(self.ln_2, x)))  # (B, T, C)
        return x

    def _branch(self, x: Tensor, update: Tensor) -> Tensor:
        return x + update if self.residual else update


def _norm(layer: nn.LayerNorm | None, x: Tensor) -> Tensor:
    return x if layer is None else layer(x)


class GPT(nn.Module):
    """The language model: token ids (B, T) in, next-token logits (B, T, V) out."""

    def __init__(self, config: GPTConfig):
        self.config = config
        self.block_size = config.block_size
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)  # token embeddings
        self.wpe = nn.Embedding(config.block_size, config.n_embd)  # position embeddings
        self.drop = nn.Dropout(config.dropout)
        self.blocks = [Block(config) for _ in range(config.n_layer)]
        self.ln_f = nn.LayerNorm(config.n_embd) if config.layer_norm else None
        self._init_weights()

    def _init_weights(self) -> None:
        """GPT-2's initialisation: N(0, 0.02) weights, zero biases, and the
        projections that write into the residual stream scaled down by
        sqrt(2 n_layer), so that the stream's variance does not grow with depth."""
        residual_std = 0.02 / math.sqrt(2 * self.config.n_layer)
        for name, p in self.named_parameters():
            if name.endswith(".bias"):
                p.data[...] = 0.0
            elif p.ndim == 2:
                std = residual_std if name.endswith("c_proj.weight") else 0.02
                p.data[...] = rng().normal(0.0, std, size=p.shape)

    def forward(self, idx, targets=None, cache: list | None = None):
        """Logits (B, T, V) and, given targets (B, T), the mean cross-entropy loss.

        With a ``cache`` (from :meth:`new_cache`, under ``no_grad``), ``idx`` holds
        only the new tokens: they follow the cached ones, whose keys and values the
        blocks keep.
        """
        idx, targets, start = self._check_inputs(idx, targets, cache)
        B, T = idx.shape
        positions = np.arange(start, start + T)
        x = self.drop(self.wte(idx) + self.wpe(positions))  # (B, T, C)
        for i, block in enumerate(self.blocks):
            x = block(x, None if cache is None else cache[i])  # (B, T, C)
        x = _norm(self.ln_f, x)  # (B, T, C)
        logits = x @ self.wte.weight.T  # (B, T, V): the head is the embedding
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.reshape(B * T, -1), targets.reshape(-1))
        return logits, loss

    def _check_inputs(self, idx, targets, cache) -> tuple[np.ndarray, np.ndarray, int]:
        """The ids (and targets) as arrays, and where they start: the cache's length.
        Ids out of range, a context longer than the block or targets of another shape
        are a ``ValueError``."""
        idx = _check_ids(idx, self.config.vocab_size)
        start = cache_length(cache)
        if start + idx.shape[1] > self.block_size:
            raise ValueError(
                f"a context of {start + idx.shape[1]} tokens is longer than the block "
                f"size {self.block_size}; crop it to the last {self.block_size} tokens"
            )
        if targets is not None:
            targets = np.asarray(targets)
            if targets.shape != idx.shape:
                raise ValueError(f"targets have shape {targets.shape}, the ids {idx.shape}")
        return idx, targets, start

    def new_cache(self) -> list[dict]:
        """An empty key/value cache: one dict per block, filled by cached forward passes."""
        return [{} for _ in self.blocks]

    def configure_optimizer(
        self, lr: float, weight_decay: float, betas: tuple[float, float] = (0.9, 0.99)
    ) -> optim.AdamW:
        """AdamW that decays the matrices (weights, embeddings) but not biases and
        LayerNorm gains: shrinking those towards 0 would not make the model simpler,
        only worse."""
        params = self.parameters()
        decay = [p for p in params if p.ndim >= 2]
        no_decay = [p for p in params if p.ndim < 2]
        groups = [{"params": decay, "weight_decay": weight_decay}]
        if no_decay:
            groups.append({"params": no_decay, "weight_decay": 0.0})
        return optim.AdamW(groups, lr=lr, betas=betas)


class BigramLanguageModel(nn.Module):
    """The baseline: the next token's logits are a row of a (V, V) table, chosen by
    this token.

    It sees one token of context, so it has nothing to attend to; every GPT step is
    measured against it.
    """

    block_size = 1

    def __init__(self, vocab_size: int):
        V = vocab_size
        self.config = None
        self.table = nn.Embedding(V, V)
        self.table.weight.data[...] = rng().normal(0.0, 0.02, size=(V, V))

    def forward(self, idx, targets=None):
        idx = _check_ids(idx, self.table.weight.shape[0])
        logits = self.table(idx)  # (B, T, V)
        if targets is None:
            return logits, None
        B, T = idx.shape
        targets = np.asarray(targets).reshape(-1)  # (B * T,)
        loss = F.cross_entropy(logits.reshape(B * T, -1), targets)
        return logits, loss

    def configure_optimizer(self, lr: float, weight_decay: float, betas=(0.9, 0.99)):
        return optim.AdamW(self.parameters(), lr=lr, betas=betas, weight_decay=0.0)


def cache_length(cache: list | None) -> int:
    """How many positions a key/value cache already holds (0 for none or an empty one)."""
    if not cache or "k" not in cache[0]:
        return 0
    return cache[0]["k"].shape[2]


def _check_ids(idx, vocab_size: int) -> np.ndarray:
    idx = np.asarray(idx.data if isinstance(idx, Tensor) else idx)
    if idx.ndim != 2 or idx.dtype.kind not in "iu":
        raise ValueError(
            f"token ids must be a 2-D integer array (batch, time), got shape {idx.shape} and "
            f"dtype {idx.dtype}"
        )
    if idx.size and (idx.min() < 0 or idx.max() >= vocab_size):
        raise ValueError(
            f"token ids range over [{idx.min()}, {idx.max()}] but the vocabulary has "
            f"{vocab_size} tokens"
        )
    return idx


class NextCharacterGPT(nn.Module):
    """The GPT under makemore's contract: a window of ``block_size`` ids (B, T) in, the logits
    of the character that follows the window (B, V) out, read at the window's last position.

    >>> from gpt_from_scratch.tensor import manual_seed
    >>> manual_seed(0)
    >>> logits, _ = NextCharacterGPT(27, block_size=4, n_layer=1, n_embd=8)(np.zeros((3, 4), int))
    >>> logits.shape
    (3, 27)
    """

    def __init__(
        self,
        vocab_size: int,
        block_size: int = 16,
        n_layer: int = 4,
        n_head: int = 4,
        n_embd: int = 64,
        dropout: float = 0.0,
    ):
        self.block_size = block_size
        self.gpt = GPT(GPTConfig(vocab_size, block_size, n_layer, n_head, n_embd, dropout))

    def forward(self, idx: np.ndarray, targets: np.ndarray | None = None):
        logits = self.gpt(idx)[0][:, -1, :]  # (B, V): the last position of (B, T, V)
        loss = None if targets is None else F.cross_entropy(logits, targets)
        return logits, loss
