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
from matplotlib.patches import Circle, FancyBboxPatch, Rectangle

COLOURS = {
    "embed": "#dbe9f6",
    "attn": "#fde2c4",
    "mlp": "#d9f0d3",
    "norm": "#eeeeee",
    "out": "#e8dff5",
}
RESIDUAL = "#2b6cb0"
FONT = 10  # points; the transformer's axes measure inches, so a line is FONT * 1.3 / 72
LINE = FONT * 1.3 / 72
GAP = 0.6  # inches of arrow between two parts
PLUS = 0.14  # the radius of a residual addition


def draw_transformer(config):
    """The model (left) and one of its blocks (right) for ``config``, shapes on arrows."""
    model, block = _model_parts(config), _block_parts(config)
    height = max(_column_height(model), _column_height(block)) + 1.6
    fig = plt.figure(figsize=(10, height))
    ax = fig.add_axes((0, 0, 1, 1), xlim=(0, 10), ylim=(0, height))
    ax.axis("off")
    ax.text(5, height - 0.3, _summary(config), ha="center", va="top", fontsize=FONT + 1)
    top, bottom = height - 1.25, 0.25
    model_boxes = _draw_stack(ax, model, 2.0, top, bottom, width=2.8, side="right")
    frame = (4.7, bottom - 0.1, 4.95, top - bottom + 0.2)  # x, y, width, height
    _draw_block(ax, block, config, frame)
    _link(ax, model_boxes[2], frame)  # the model's "Block x n" is the frame's block
    return fig


def _summary(config):
    C, nh = config.n_embd, config.n_head
    parts = [
        f"{_count(config.n_layer, 'block')} of {_count(nh, 'head')}",
        f"C = {C}, head size hs = {config.head_size}",
        f"context T = {config.block_size}, vocabulary V = {config.vocab_size}",
    ]
    notes = ["B: the batch", "linear layers with biases" if config.bias else "no biases"]
    if config.dropout:
        notes.append(f"dropout {config.dropout:g}")
    return "GPT: " + "; ".join(parts) + "\n" + ", ".join(notes)


def _count(n, noun):
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _model_parts(config):
    """The model's parts top to bottom: (text, colour, shape on the arrow below it)."""
    B_T, stream = f"(B, {config.block_size})", _stream(config)
    parts = [
        ("token ids", "embed", B_T),
        ("token embedding wte\n+ position embedding wpe", "embed", stream),
        (f"Block  × {config.n_layer}", "attn", stream),
    ]
    if config.layer_norm:
        parts.append(("LayerNorm ln_f", "norm", stream))
    vocab = f"(B, {config.block_size}, {config.vocab_size})"
    parts.append(("lm_head: x @ wteᵀ\n(tied to the token embedding)", "out", vocab))
    parts.append(("logits: softmax gives the\nnext token's probabilities", "out", None))
    return parts


def _stream(config, width=None):
    return f"(B, {config.block_size}, {width or config.n_embd})"


def _block_parts(config):
    """One block's parts top to bottom, as in ``model.Block``; "+" is a residual addition."""
    T, C, nh, hs = config.block_size, config.n_embd, config.n_head, config.head_size
    attention = (
        f"CausalSelfAttention\nc_attn: {_stream(config, 3 * C)} → q, k, v\n"
        f"each (B, {nh}, {T}, {hs})\nsoftmax(q kᵀ / √{hs}, future masked) v\n"
        + ("c_proj" if nh == 1 else f"{nh} heads side by side, c_proj")
    )
    mlp = f"MLP: c_fc to {_stream(config, 4 * C)}\nGELU, c_proj back to {_stream(config)}"
    parts = [("LayerNorm ln_1", "norm", None)] if config.layer_norm else []
    parts.append((attention, "attn", None if config.residual else _stream(config)))
    if config.residual:
        parts.append(("+", "plus", f"x + attention\n{_stream(config)}"))
    if config.mlp:
        parts += [("LayerNorm ln_2", "norm", None)] if config.layer_norm else []
        parts.append((mlp, "mlp", None))
        parts += [("+", "plus", None)] if config.residual else []
    return parts


def _height(text, kind):
    return 2 * PLUS if kind == "plus" else LINE * (text.count("\n") + 1) + 0.22


def _column_height(parts):
    return sum(_height(text, kind) for text, kind, _ in parts) + GAP * (len(parts) + 1) + 0.6


def _part(ax, x, y, text, kind, width, height):
    if kind == "plus":
        ax.add_patch(Circle((x, y), PLUS, fc="white", ec=RESIDUAL, lw=1.3))
        ax.text(x, y, "+", ha="center", va="center", fontsize=FONT + 3, color=RESIDUAL)
        return (x - PLUS, y - PLUS, 2 * PLUS, 2 * PLUS)
    box = (x - width / 2, y - height / 2, width, height)
    style = "round,pad=0,rounding_size=0.08"
    ax.add_patch(FancyBboxPatch(box[:2], width, height, style, fc=COLOURS[kind], ec="#555"))
    ax.text(x, y, text, ha="center", va="center", fontsize=FONT, linespacing=1.3)
    return box


def _arrow(ax, start, end, label=None, side="right", colour="black"):
    props = {"arrowstyle": "-|>", "lw": 1.1, "color": colour, "shrinkA": 0, "shrinkB": 0}
    ax.annotate("", xy=end, xytext=start, arrowprops=props)
    if label:
        dx, ha = (0.1, "left") if side == "right" else (-0.1, "right")
        y = (start[1] + end[1]) / 2
        ax.text(start[0] + dx, y, label, ha=ha, va="center", fontsize=FONT, family="monospace")


def _draw_block(ax, parts, config, frame):
    """One block inside ``frame``: its parts, the stream in and out, the residual paths."""
    x0, y0, width, height = frame
    x, top, bottom = x0 + width * 0.42, y0 + height, y0
    ax.add_patch(Rectangle((x0, y0), width, height, fc="none", ec="#c77d2e", ls="--"))
    title = "one block: pre-norm" if config.layer_norm else "one block"
    title += ", residual connections" if config.residual else ", no residual connections"
    ax.text(x0 + width / 2, top + 0.08, title, ha="center", va="bottom", fontsize=FONT)
    heights = sum(_height(text, kind) for text, kind, _ in parts)
    spare = (height - heights - GAP * (len(parts) - 1)) / 2  # for the arrows in and out
    entry, exit_ = top - spare, bottom + spare
    _arrow(ax, (x, top), (x, entry), f"x {_stream(config)}", "left")
    boxes = _draw_stack(ax, parts, x, entry, exit_)
    _arrow(ax, (x, exit_), (x, bottom), _stream(config), "left")
    if config.residual:
        _draw_residuals(ax, parts, boxes, x, top, x + 1.85)


def _draw_stack(ax, parts, x, top, bottom, width=3.3, side="left"):
    """The parts centred on ``x`` from ``top`` down to ``bottom``, arrows between them with
    their shapes on ``side``; returns the parts' (x, y, width, height) in order."""
    heights = [_height(text, kind) for text, kind, _ in parts]
    gap = (top - bottom - sum(heights)) / max(len(parts) - 1, 1)
    boxes, y = [], top
    for i, ((text, kind, shape), h) in enumerate(zip(parts, heights, strict=True)):
        boxes.append(_part(ax, x, y - h / 2, text, kind, width, h))
        y -= h
        if i < len(parts) - 1:
            _arrow(ax, (x, y), (x, y - gap), shape, side)
            y -= gap
    return boxes


def _link(ax, box, frame):
    """Dashed lines from the right corners of ``box`` to the left corners of ``frame``."""
    bx, by, bw, bh = box
    fx, fy, _, fh = frame
    for start, end in (((bx + bw, by + bh), (fx, fy + fh)), ((bx + bw, by), (fx, fy))):
        ax.plot([start[0], end[0]], [start[1], end[1]], color="#c77d2e", ls="--", lw=1)


def _draw_residuals(ax, parts, boxes, x, top, side):
    """From above each sub-layer, around it on the right, into its "+"."""
    start = top
    for i, (_, kind, _) in enumerate(parts):
        if kind != "plus":
            continue
        px, py, _, _ = boxes[i]
        branch = start - GAP / 2 - 0.05
        ax.plot([x, side, side], [branch, branch, py + PLUS], color=RESIDUAL, lw=1.3)
        _arrow(ax, (side, py + PLUS), (px + 2 * PLUS, py + PLUS), colour=RESIDUAL)
        middle = (branch + py) / 2
        ax.text(
            side + 0.08, middle, "residual", rotation=90, va="center", color=RESIDUAL, fontsize=FONT
        )
        start = py


def draw_attention(weights: np.ndarray, labels, heads=None, title="head", columns=2):
    """Heat maps of attention weights (nh, T, T) over a text of characters ``labels``.

    Row t is the query at position t; column s, the key it attends to. The future, which
    a query may not see, is left white. ``heads`` picks the heads to show (all by
    default), ``columns`` per row. One colour bar serves every panel.
    """
    heads = list(range(len(weights))) if heads is None else list(heads)
    T = weights.shape[-1]
    shown = [{"\n": "⏎", " ": "␣"}.get(c, c) for c in labels]
    columns = min(columns, len(heads))
    rows = -(-len(heads) // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(5.5 * columns, 5.2 * rows), squeeze=False, layout="constrained"
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


def draw_losses(runs, baseline: float | None = None):
    """Training (a running mean) and validation losses against the step, of one History or
    of each run in ``runs``, a dict ``label -> History`` (or a History's JSON)."""
    runs = {"run": runs} if hasattr(runs, "evals") else runs
    fig, ax = plt.subplots(figsize=(10, 4), layout="constrained")
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
    ax.legend(fontsize=10, loc="center right")
    return fig


def draw_ladder(rows, published=None):
    """A horizontal bar per (label, validation loss) in ``rows``, the first on top, its value
    written past the bar's end, and ``published`` values (label -> loss) as markers."""
    labels = [label for label, _ in rows]
    values = np.array([value for _, value in rows])
    fig, ax = plt.subplots(figsize=(10, 0.55 * len(rows) + 1.2), layout="constrained")
    y = np.arange(len(rows))[::-1]
    ax.barh(y, values, color="#9ecae1", label="this build")
    known = {k: v for k, v in (published or {}).items() if v is not None and np.isfinite(v)}
    for yi, label, value in zip(y, labels, values, strict=True):
        end = max(value, known.get(label, value)) + 0.015  # past the bar and its marker
        ax.text(end, yi, f"{value:.3f}", va="center", ha="left", fontsize=10)
    marks = [(yi, known[label]) for yi, label in zip(y, labels, strict=True) if label in known]
    if marks:
        ax.plot([v for _, v in marks], [yi for yi, _ in marks], "kD", label="published")
    ax.set_yticks(y, labels, fontsize=10)
    low = min(values.min(), *known.values()) - 0.15
    high = max(values.max(), *known.values()) + 0.12
    ax.set(xlabel="validation loss (nats per character)", xlim=(low, high))
    ax.legend(loc="lower right", fontsize=10)
    return fig
