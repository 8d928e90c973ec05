"""Figures of the GPT chapter, drawn from the model's own numbers.

- :func:`draw_transformer`: the decoder-only Transformer and one of its blocks, with the
  shapes of a configuration on the arrows;
- :func:`draw_attention`: the attention weights of several heads over a text, with the
  characters on both axes;
- :func:`draw_losses`: training and validation curves of one or more runs;
- :func:`draw_ladder`: validation losses of a sequence of models beside published values.

Each returns its matplotlib Figure.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

COLOURS = {
    "embed": "#dbe9f6",
    "attn": "#fde2c4",
    "mlp": "#d9f0d3",
    "norm": "#eeeeee",
    "out": "#e8dff5",
}
RESIDUAL = "#2b6cb0"


def _box(ax, x, y, text, kind, fontsize=10):
    style = {"boxstyle": "round,pad=0.6", "fc": COLOURS[kind], "ec": "#555555"}
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize, bbox=style)


def _arrow(ax, start, end, label="", colour="black", left=False):
    props = {"arrowstyle": "-|>", "lw": 1.1, "color": colour, "shrinkA": 0, "shrinkB": 0}
    ax.annotate("", xy=end, xytext=start, arrowprops=props)
    if label:
        x, y = start[0] + (-0.03 if left else 0.03), (start[1] + end[1]) / 2
        ha = "right" if left else "left"
        ax.text(x, y, label, fontsize=9, va="center", ha=ha, family="monospace")


def draw_transformer(config):
    """The model (left) and one block (right) for ``config``, shapes on the arrows."""
    C, T, V = config.n_embd, config.block_size, config.vocab_size
    nh, hs = config.n_head, config.n_embd // config.n_head
    fig, (model_ax, block_ax) = plt.subplots(1, 2, figsize=(12, 7.5))
    for ax in (model_ax, block_ax):
        ax.set(xlim=(0, 1), ylim=(0, 1))
        ax.axis("off")
    _draw_model(model_ax, config, C, T, V)
    _draw_block(block_ax, C, T, nh, hs)
    fig.suptitle(
        f"GPT: {config.n_layer} blocks of {nh} heads, C = {C} channels, "
        f"context T = {T}, vocabulary V = {V}; B is the batch",
        fontsize=12,
    )
    fig.tight_layout()
    return fig


def _draw_model(ax, config, C, T, V):
    ax.set_title("the model", fontsize=11)
    x = 0.35
    rows = [
        (0.95, "token ids", "embed", f"(B, {T})"),
        (0.78, "token embedding wte\n+ position embedding wpe", "embed", f"(B, {T}, {C})"),
        (0.58, f"Block   x {config.n_layer}", "attn", f"(B, {T}, {C})"),
        (0.41, "LayerNorm ln_f", "norm", f"(B, {T}, {C})"),
        (0.24, "x @ wteᵀ  (the head is wte)", "out", f"(B, {T}, {V})"),
        (0.06, "logits: next-token\nprobabilities by softmax", "out", ""),
    ]
    for y, text, kind, _ in rows:
        _box(ax, x, y, text, kind)
    for (y0, _, _, shape), (y1, _, _, _) in zip(rows, rows[1:], strict=False):
        _arrow(ax, (x, y0 - 0.045), (x, y1 + 0.045), shape)


def _draw_block(ax, C, T, nh, hs):
    ax.set_title("one block: pre-norm, with residual connections", fontsize=11)
    x, side = 0.5, 0.9
    stream = f"(B, {T}, {C})"
    attention = (
        f"CausalSelfAttention\nc_attn: q, k, v, each (B, {nh}, {T}, {hs})\n"
        f"softmax(q kᵀ / √{hs}, future masked) v\nheads side by side, c_proj"
    )
    _box(ax, x, 0.83, "LayerNorm ln_1", "norm")
    _box(ax, x, 0.67, attention, "attn", fontsize=9)
    _box(ax, x, 0.37, "LayerNorm ln_2", "norm")
    _box(ax, x, 0.24, f"MLP: c_fc to (B, {T}, {4 * C}),\nGELU, c_proj back to C", "mlp")
    _arrow(ax, (x, 1.0), (x, 0.865), f"x {stream}", left=True)
    _arrow(ax, (x, 0.795), (x, 0.745))
    _arrow(ax, (x, 0.595), (x, 0.53))
    _arrow(ax, (x, 0.50), (x, 0.405), f"x + attention\n{stream}", left=True)
    _arrow(ax, (x, 0.335), (x, 0.285))
    _arrow(ax, (x, 0.195), (x, 0.125))
    _arrow(ax, (x, 0.095), (x, 0.0), f"x + MLP\n{stream}", left=True)
    for top, plus in ((0.935, 0.515), (0.455, 0.11)):
        ax.plot([x, side, side], [top, top, plus], color=RESIDUAL, lw=1.3)
        _arrow(ax, (side, plus), (x + 0.02, plus), colour=RESIDUAL)
        ax.text(x, plus, "⊕", ha="center", va="center", fontsize=16, color=RESIDUAL)
        ax.text(
            side + 0.02,
            (top + plus) / 2,
            "residual",
            rotation=90,
            va="center",
            color=RESIDUAL,
            fontsize=9,
        )


def draw_attention(weights: np.ndarray, labels, heads=None, title="head", columns=2):
    """Heat maps of attention weights (nh, T, T) over a text of characters ``labels``.

    Row t is the query at position t; column s, the key it attends to. The future, which
    a query may not see, is left white. ``heads`` picks the heads to show (all by
    default), ``columns`` per row. One colour bar serves every panel.
    """
    heads = list(range(len(weights))) if heads is None else list(heads)
    T = weights.shape[-1]
    shown = [{"\n": "⏎", " ": "␣"}.get(c, c) for c in labels]
    rows = -(-len(heads) // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(11, 5.2 * rows), squeeze=False, layout="constrained"
    )
    future = np.triu(np.ones((T, T), dtype=bool), k=1)
    for ax, head in zip(axes.flat, heads, strict=False):
        masked = np.ma.masked_array(weights[head], mask=future)
        image = ax.imshow(masked, cmap="viridis", vmin=0, vmax=1)
        ax.set_xticks(range(T), shown, fontsize=9, family="monospace")
        ax.set_yticks(range(T), shown, fontsize=9, family="monospace")
        ax.set_title(f"{title} {head + 1}", fontsize=11)
        ax.grid(False)
    for ax in axes[-1]:
        ax.set_xlabel("key: the character attended to")
    for ax in axes[:, 0]:
        ax.set_ylabel("query: the character attending")
    for ax in axes.flat[len(heads) :]:
        ax.axis("off")
    fig.colorbar(image, ax=list(axes.flat), label="attention weight", shrink=0.7)
    return fig


def draw_losses(runs: dict, baseline: float | None = None):
    """Training (a running mean) and validation losses of each run in ``runs``, a dict
    ``label -> History`` (or a History's JSON), against the step."""
    fig, ax = plt.subplots(figsize=(10, 4))
    for i, (label, history) in enumerate(runs.items()):
        loss = np.asarray(history["loss"] if isinstance(history, dict) else history.loss)
        evals = history["evals"] if isinstance(history, dict) else history.evals
        window = min(50, len(loss))
        smooth = np.convolve(loss, np.ones(window) / window, mode="valid")
        steps = np.arange(window, len(loss) + 1)
        name = f"{label}: training, mean of {window} steps"
        ax.plot(steps, smooth, color=f"C{i}", lw=1, alpha=0.6, label=name)
        val = np.asarray(evals["val"])  # (evaluations, 2): step, loss
        ax.plot(val[:, 0], val[:, 1], "o-", color=f"C{i}", label=f"{label}: validation")
    if baseline is not None:
        ax.axhline(baseline, color="k", ls=":", lw=1, label="bigram baseline")
    ax.set(xlabel="step", ylabel="cross-entropy (nats per character)")
    ax.legend(fontsize=9, loc="upper right")
    fig.tight_layout()
    return fig


def draw_ladder(rows, published=None):
    """A horizontal bar per (label, validation loss) in ``rows``, the value written at the
    bar's end, and ``published`` values (label -> loss) as markers."""
    labels = [label for label, _ in rows]
    values = np.array([value for _, value in rows])
    fig, ax = plt.subplots(figsize=(10, 0.55 * len(rows) + 1.2))
    y = np.arange(len(rows))[::-1]
    ax.barh(y, values, color="#9ecae1", label="this build")
    for yi, value in zip(y, values, strict=True):
        ax.text(value - 0.01, yi, f"{value:.3f}", va="center", ha="right", fontsize=9)
    known = {k: v for k, v in (published or {}).items() if v is not None and np.isfinite(v)}
    marks = [(yi, known[label]) for yi, label in zip(y, labels, strict=True) if label in known]
    if marks:
        ax.plot([v for _, v in marks], [yi for yi, _ in marks], "kD", label="published")
    ax.set_yticks(y, labels)
    low = min(values.min(), *known.values()) - 0.15
    ax.set(xlabel="validation loss (nats per character)", xlim=(low, values.max() + 0.12))
    ax.legend(loc="lower right", fontsize=9)
    fig.tight_layout()
    return fig
