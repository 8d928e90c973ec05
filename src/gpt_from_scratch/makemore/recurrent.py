"""Recurrent makemore: the RNN of Mikolov et al. (2010), the GRU of Cho et al. (2014).

The MLP and the WaveNet give each position of the context weights of its own. A
recurrent network has one cell, used at every position: it reads the context from left
to right, carrying a hidden state of ``n_embd2`` numbers from one character to the next,
from a learned start h_0, and predicts the next character from the last state::

    h_t = cell(x_t, h_{t-1}),  t = 1, ..., T,      logits = h_T W_out + b_out

The vanilla cell is one layer on x and h side by side: h' = tanh([x, h] W + b). The GRU
adds two gates, each a sigmoid layer on [x, h]: the reset gate r chooses which channels
of h the candidate state hbar may read, the update gate z how much of each channel hbar
replaces.

The forward methods of :class:`RNNCell` and :class:`GRUCell` are the math, and
:func:`unroll` is the loop. A model reads its context through ``cell.read``, which
computes the same as one fused node (:mod:`.recurrent_fused`), about three times
faster at makemore's sizes (``benchmarks/gru_step.py``).

>>> model = RNN(vocab_size=27, block_size=16, n_embd=64, n_embd2=64, cell_type="gru")
>>> logits, loss = model(np.zeros((4, 16), dtype=np.int64))
>>> logits.shape, loss, model.num_parameters()
((4, 27), None, 28315)
"""

from __future__ import annotations

import numpy as np

from gpt_from_scratch.makemore.data import check_contexts
from gpt_from_scratch.makemore.recurrent_fused import fused_gru, fused_rnn
from gpt_from_scratch.tensor import Tensor, cat, nn, zeros
from gpt_from_scratch.tensor import functional as F


class RNNCell(nn.Module):
    """The vanilla recurrent cell: h' = tanh([x, h] W + b)."""

    def __init__(self, n_embd: int, n_embd2: int):
        self.xh_to_h = nn.Linear(n_embd + n_embd2, n_embd2)

    def forward(self, x: Tensor, h: Tensor) -> Tensor:
        xh = cat([x, h], axis=1)  # (B, n_embd + n_embd2)
        return self.xh_to_h(xh).tanh()  # (B, n_embd2)

    def read(self, emb: Tensor, start: Tensor) -> Tensor:
        """h_T over ``emb`` (B, T, n_embd) from ``start``, fused: what :func:`unroll`
        computes."""
        return fused_rnn(emb, start, self.xh_to_h.weight, self.xh_to_h.bias)


class GRUCell(nn.Module):
    """The gated recurrent unit, makemore's way: r resets h before hbar reads it."""

    def __init__(self, n_embd: int, n_embd2: int):
        self.xh_to_z = nn.Linear(n_embd + n_embd2, n_embd2)
        self.xh_to_r = nn.Linear(n_embd + n_embd2, n_embd2)
        self.xh_to_hbar = nn.Linear(n_embd + n_embd2, n_embd2)

    def forward(self, x: Tensor, h: Tensor) -> Tensor:
        xh = cat([x, h], axis=1)  # (B, n_embd + n_embd2)
        r = self.xh_to_r(xh).sigmoid()  # (B, n_embd2): the reset gate
        xrh = cat([x, r * h], axis=1)  # (B, n_embd + n_embd2): h with channels reset
        hbar = self.xh_to_hbar(xrh).tanh()  # (B, n_embd2): the candidate state
        z = self.xh_to_z(xh).sigmoid()  # (B, n_embd2): the update gate
        return (1 - z) * h + z * hbar  # (B, n_embd2): old and new, channel by channel

    def read(self, emb: Tensor, start: Tensor) -> Tensor:
        """h_T over ``emb`` (B, T, n_embd) from ``start``, fused: what :func:`unroll`
        computes."""
        r, z, hbar = self.xh_to_r, self.xh_to_z, self.xh_to_hbar
        layers = (r.weight, r.bias, z.weight, z.bias, hbar.weight, hbar.bias)
        return fused_gru(emb, start, *layers)


def unroll(cell: nn.Module, emb: Tensor, start: Tensor) -> Tensor:
    """The last hidden state: ``cell`` applied to the characters of ``emb``
    (B, T, n_embd) from left to right, starting from ``start`` (1, n_embd2)."""
    B, T, _ = emb.shape
    h = start * np.ones((B, 1), dtype=start.dtype)  # (B, n_embd2): h_0 in every row
    for t in range(T):
        h = cell(emb[:, t, :], h)  # (B, n_embd2): h_t
    return h


CELLS = {"rnn": RNNCell, "gru": GRUCell}


class RNN(nn.Module):
    """Embeddings, a recurrent cell read over the context from a learned start, logits.

    ``cell_type`` is ``"rnn"`` or ``"gru"``. ``fused=False`` reads the context with
    :func:`unroll`: one graph node per operation of every step, for the book and tests.
    """

    def __init__(
        self,
        vocab_size: int,
        block_size: int = 16,
        n_embd: int = 64,
        n_embd2: int = 64,
        cell_type: str = "rnn",
        fused: bool = True,
    ):
        check_cell_type(cell_type)
        self.block_size = block_size
        self.fused = fused
        self.start = zeros(1, n_embd2, requires_grad=True)  # h_0, learned
        self.wte = nn.Embedding(vocab_size, n_embd)
        self.cell = CELLS[cell_type](n_embd, n_embd2)
        self.lm_head = nn.Linear(n_embd2, vocab_size)

    def forward(self, idx: np.ndarray, targets: np.ndarray | None = None):
        check_contexts(idx)
        emb = self.wte(idx)  # (B, T, n_embd)
        if self.fused:
            h = self.cell.read(emb, self.start)  # (B, n_embd2): h_T
        else:
            h = unroll(self.cell, emb, self.start)  # (B, n_embd2): h_T
        logits = self.lm_head(h)  # (B, vocab_size)
        loss = None if targets is None else F.cross_entropy(logits, targets)
        return logits, loss


def check_cell_type(cell_type: str) -> None:
    """A ``ValueError`` naming the known cells unless ``cell_type`` is one."""
    if cell_type not in CELLS:
        raise ValueError(f"unknown cell_type {cell_type!r}; known: {', '.join(CELLS)}")
