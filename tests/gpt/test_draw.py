"""The GPT chapter's figures: drawn from the model's numbers, every label where it belongs."""

import matplotlib

matplotlib.use("Agg")

from dataclasses import replace  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from gpt_from_scratch.gpt.config import GPTConfig  # noqa: E402
from gpt_from_scratch.gpt.draw import (  # noqa: E402
    draw_attention,
    draw_ladder,
    draw_losses,
    draw_transformer,
)
from gpt_from_scratch.makemore.train import History  # noqa: E402


def texts(fig):
    return [t.get_text() for t in [*fig.texts, *(t for ax in fig.axes for t in ax.texts)]]


def renders(fig, tmp_path):
    path = tmp_path / "figure.png"
    fig.savefig(path)
    return path.stat().st_size > 10_000


@pytest.mark.parametrize("n_embd, n_head, block_size", [(128, 4, 64), (48, 3, 16)])
def test_the_transformer_carries_the_configurations_shapes(n_embd, n_head, block_size, tmp_path):
    config = GPTConfig(
        vocab_size=65, block_size=block_size, n_layer=2, n_head=n_head, n_embd=n_embd
    )
    fig = draw_transformer(config)
    written = "\n".join(texts(fig))
    hs = n_embd // n_head
    for shape in (
        f"(B, {block_size})",
        f"(B, {block_size}, {n_embd})",
        f"(B, {block_size}, 65)",
        f"(B, {n_head}, {block_size}, {hs})",
        f"(B, {block_size}, {4 * n_embd})",
    ):
        assert shape in written, shape
    assert "Block  × 2" in written and renders(fig, tmp_path)
    assert fig.get_figwidth() == 10
    assert min(t.get_fontsize() for ax in fig.axes for t in ax.texts) >= 10


@pytest.mark.parametrize(
    "switch, part", [("layer_norm", "LayerNorm"), ("mlp", "MLP"), ("residual", "x + attention")]
)
def test_the_transformer_leaves_out_what_the_configuration_switches_off(switch, part):
    full = GPTConfig(vocab_size=65, block_size=16, n_layer=3, n_head=4, n_embd=32)
    assert part in "\n".join(texts(draw_transformer(full)))
    drawn = "\n".join(texts(draw_transformer(replace(full, **{switch: False}))))
    assert part not in drawn and "CausalSelfAttention" in drawn
    plt.close("all")


def test_attention_maps_tick_every_character_and_share_a_colour_bar(tmp_path):
    text = "ab\ncd e"
    T = len(text)
    weights = np.tril(np.ones((3, T, T)))
    weights /= weights.sum(-1, keepdims=True)
    fig = draw_attention(weights, list(text))
    heat, colour_bar = fig.axes[0], fig.axes[-1]
    assert [t.get_text() for t in heat.get_xticklabels()] == ["a", "b", "⏎", "c", "d", "␣", "e"]
    assert [t.get_text() for t in heat.get_yticklabels()] == ["a", "b", "⏎", "c", "d", "␣", "e"]
    assert colour_bar.get_ylabel() == "attention weight"
    assert [ax.get_title() for ax in fig.axes[:3]] == ["head 1", "head 2", "head 3"]
    assert not fig.axes[3].axison  # the fourth panel of the 2 x 2 grid is empty
    assert renders(fig, tmp_path)


def test_losses_and_the_ladder_are_labelled(tmp_path):
    history = History(
        loss=list(np.linspace(4, 2, 100)), lr=[1e-3] * 100, evals={"val": [(50, 3.0), (100, 2.2)]}
    )
    fig = draw_losses({"run": history, "recorded": history.to_json()}, baseline=2.5)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "step" and "cross-entropy" in ax.get_ylabel()
    assert len(ax.get_legend().get_texts()) == 5 and renders(fig, tmp_path)
    fig = draw_ladder([("a", 2.5), ("b", 2.1)], {"a": 2.45, "b": None})
    ax = fig.axes[0]
    ticks = zip(ax.get_yticks(), (t.get_text() for t in ax.get_yticklabels()), strict=True)
    assert sorted(ticks) == [(0, "b"), (1, "a")]  # the first row on top
    values = {t.get_text(): t.get_position()[0] for t in ax.texts}
    assert values.keys() == {"2.500", "2.100"}
    assert values["2.500"] > 2.5  # written past the bar's end and past its marker
    assert renders(fig, tmp_path)
    fig = draw_losses(history)  # one run, not a dict of them
    assert len(fig.axes[0].get_legend().get_texts()) == 2
