"""Diagnostics: the statistics are exact, the recorder logs every step, the plots draw."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from gpt_from_scratch.makemore import diagnostics as diag  # noqa: E402
from gpt_from_scratch.makemore.train import minibatches, train  # noqa: E402
from gpt_from_scratch.tensor import Tensor, manual_seed, nn, optim  # noqa: E402
from gpt_from_scratch.tensor import functional as F  # noqa: E402


def test_activation_stats_are_exact():
    stats = diag.activation_stats(np.array([-1.0, 0.5, 0.995, -0.999]), saturation=0.99)
    assert stats["mean"] == pytest.approx(np.mean([-1.0, 0.5, 0.995, -0.999]))
    assert stats["std"] == pytest.approx(np.std([-1.0, 0.5, 0.995, -0.999]))
    assert stats["saturated"] == 0.75
    with pytest.raises(ValueError, match="empty"):
        diag.activation_stats(np.array([]))


def test_ratios():
    w = Tensor(np.array([1.0, -1.0, 3.0, -3.0]), requires_grad=True)
    with pytest.raises(ValueError, match="backward"):
        diag.grad_to_data_ratio(w)
    (w * w).sum().backward()  # grad = 2w
    assert diag.grad_to_data_ratio(w) == pytest.approx(2.0)
    assert diag.update_to_data_ratio(w, lr=0.01) == pytest.approx(0.02)


def test_recorder_logs_one_ratio_per_step_and_weight():
    manual_seed(0)
    model = nn.Sequential(nn.Embedding(5, 4), nn.Linear(4, 5))
    model.block_size = 1
    weights = [("emb", model[0].weight), ("out", model[1].weight)]
    recorder = diag.UpdateRatioRecorder(weights)
    X = np.arange(20).reshape(20, 1) % 5
    Y = (X[:, 0] + 1) % 5

    def forward(x, targets=None):
        logits = model[1](model[0](x).reshape(len(x), -1))
        return logits, None if targets is None else F.cross_entropy(logits, targets)

    model.forward = forward
    sgd = optim.SGD(model.parameters(), lr=0.1)
    train(model, sgd, minibatches(X, Y, 4), 7, callbacks=[recorder])
    assert [len(v) for v in recorder.ratios.values()] == [7, 7]
    assert all(0 < r < 1 for v in recorder.ratios.values() for r in v)


def test_smooth():
    assert diag.smooth([1, 3, 5, 7, 9], window=2).tolist() == [2.0, 6.0]
    with pytest.raises(ValueError, match="window"):
        diag.smooth([1.0], window=0)


def test_plots_draw_on_the_given_axes_and_return_its_figure():
    fig, axes = plt.subplots(1, 4)
    gen = np.random.default_rng(0)
    h = np.tanh(gen.standard_normal((8, 12)) * 3)
    assert diag.plot_histograms([("a", h), ("b", h / 2)], ax=axes[0], saturation=0.97) is fig
    assert len(axes[0].lines) == 2 and "%" in axes[0].get_legend().get_texts()[0].get_text()
    assert diag.plot_saturation_map(h, ax=axes[1]) is fig
    assert axes[1].images[0].get_array().shape == (8, 12)
    assert diag.plot_update_ratios({"w": [1e-3, 2e-3]}, ax=axes[2], title="r") is fig
    assert axes[2].get_yscale() == "log" and len(axes[2].lines) == 2  # the run and the guide
    assert diag.plot_loss({"run": np.linspace(3, 2, 50)}, window=10, ax=axes[3]) is fig
    assert len(axes[3].lines[0].get_xdata()) == 5
    plt.close(fig)


def test_plots_make_their_own_figure_and_check_shapes():
    fig = diag.plot_histograms([("x", np.array([-1.0, 1.0, 1.0, 3.0]))], title="layer")
    (ax,) = fig.axes
    (line,) = ax.lines
    area = np.sum(line.get_ydata()) * (line.get_xdata()[1] - line.get_xdata()[0])
    assert area == pytest.approx(1.0)  # a density
    assert ax.get_title() == "layer" and ax.get_ylabel() == "density"
    assert ax.get_legend().get_texts()[0].get_text() == "x: mean +1.00, std 1.4"
    plt.close(fig)
    with pytest.raises(ValueError, match="examples, units"):
        diag.plot_saturation_map(np.zeros(5))


def test_stats_table_prints_each_groups_exact_statistics():
    a, b = np.array([-1.0, 0.5, 0.995, -0.999]), np.array([0.25, 0.75])
    table = diag.stats_table(
        {"g1": [("x", a), ("y", b)], "g2": [("x", b), ("y", a)]}, saturation=0.99
    )
    header, columns, x_row, y_row = table.splitlines()
    assert header.split() == ["g1", "g2"] and columns.split() == ["mean", "std", ">0.99"] * 2
    assert x_row.split() == [
        "x",
        f"{a.mean():.2g}",
        f"{a.std():.2g}",
        "75.0%",
        "0.5",
        "0.25",
        "0.0%",
    ]
    assert y_row.split()[1:4] == ["0.5", "0.25", "0.0%"]
    assert diag.stats_table({"g": [("x", a)]}).splitlines()[1].split() == ["mean", "std"]


def test_plot_loss_shows_the_mean_and_spread_of_several_seeds():
    fig, ax = plt.subplots()
    runs = np.array([np.linspace(30, 2, 100), np.linspace(20, 2, 100)])  # (seeds, steps)
    diag.plot_loss({"two seeds": runs}, window=10, ax=ax, first_steps=50, log_y=True, title="t")
    (line,) = ax.lines
    assert line.get_xdata().tolist() == [5, 15, 25, 35, 45]
    assert line.get_ydata()[0] == pytest.approx(runs[:, :10].mean())
    assert len(ax.collections) == 1 and ax.get_yscale() == "log"  # the band between seeds
    plt.close(fig)


def test_histogram_legends_can_hold_only_the_names():
    fig = diag.plot_histograms([("layer 1", np.arange(5.0))], stats_in_legend=False)
    assert fig.axes[0].get_legend().get_texts()[0].get_text() == "layer 1"
    plt.close(fig)


def test_stats_table_widens_its_first_column_for_long_names():
    table = diag.stats_table({"g": [("a rather long name", np.array([1.0, 3.0]))]})
    *_, row = table.splitlines()
    assert row.startswith("a rather long name  ") and row.split()[-2:] == ["2", "1"]
