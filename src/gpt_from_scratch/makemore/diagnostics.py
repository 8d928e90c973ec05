"""Looking inside a network while it trains: statistics and plots of activations and gradients.

The numbers (:func:`activation_stats`, :func:`grad_to_data_ratio`, :func:`update_to_data_ratio`)
are plain functions of numpy arrays; the plots take those arrays, draw on a given matplotlib
``ax`` (or a new figure) and return the figure. :class:`UpdateRatioRecorder` plugs into the
``callback`` of :func:`gpt_from_scratch.makemore.train.train` to log the update-to-data ratio
of chosen weights at every step.

>>> stats = activation_stats(np.array([-0.5, 0.0, 0.995]), saturation=0.99)
>>> round(stats["saturated"], 4)
0.3333
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

GUIDE_UPDATE_RATIO = 1e-3
"""A rule of thumb: each step should change a weight by about a thousandth of its size."""


def _array(values) -> np.ndarray:
    """``values`` (a numpy array or anything with a ``.data`` array, like a Tensor) as floats."""
    return np.asarray(getattr(values, "data", values), dtype=np.float64)


def activation_stats(values, saturation: float | None = None) -> dict[str, float]:
    """Mean and standard deviation of ``values``, and the fraction with ``|v| > saturation``.

    >>> activation_stats(np.array([1.0, 3.0]))
    {'mean': 2.0, 'std': 1.0}
    """
    values = _array(values)
    if values.size == 0:
        raise ValueError("activation_stats needs at least one value, got an empty array")
    stats = {"mean": float(values.mean()), "std": float(values.std())}
    if saturation is not None:
        stats["saturated"] = float((np.abs(values) > saturation).mean())
    return stats


def grad_to_data_ratio(param) -> float:
    """std(gradient) / std(values) of a parameter (a Tensor after ``backward()``).

    How big the gradient is next to the numbers it will change: a weight whose ratio is far
    above the others' would be changed much faster than them by the same learning rate.
    """
    if getattr(param, "grad", None) is None:
        raise ValueError("grad_to_data_ratio needs a parameter with a gradient; call backward()")
    return float(np.std(param.grad) / np.std(param.data))


def update_to_data_ratio(param, lr: float) -> float:
    """std(lr * gradient) / std(values): the relative size of one SGD step on ``param``.

    >>> from types import SimpleNamespace
    >>> w = SimpleNamespace(data=np.array([1.0, -1.0]), grad=np.array([2.0, -2.0]))
    >>> update_to_data_ratio(w, lr=0.001)
    0.002
    """
    return lr * grad_to_data_ratio(param)


class UpdateRatioRecorder:
    """A training callback that logs each named weight's update-to-data ratio per step.

    Pass it in ``callbacks=`` to :func:`~gpt_from_scratch.makemore.train.train`: it runs
    after each optimizer step, when the gradients of that step are still in place.

    ``ratios[name]`` is the list of ratios, one per step.
    """

    def __init__(self, named_params: Sequence[tuple[str, object]]):
        self.named_params = list(named_params)
        self.ratios: dict[str, list[float]] = {name: [] for name, _ in named_params}

    def __call__(self, step: int, history) -> None:
        lr = history.lr[-1]
        for name, param in self.named_params:
            self.ratios[name].append(update_to_data_ratio(param, lr))


def _axes(ax, figsize=(8, 3)):
    """The axes to draw on: ``ax`` if given, else the single axes of a new figure."""
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def plot_histograms(
    named_values: Sequence[tuple[str, object]],
    *,
    ax=None,
    title: str | None = None,
    saturation: float | None = None,
    bins: int = 60,
    value_range: tuple[float, float] | None = None,
    stats_in_legend: bool = True,
):
    """One histogram line per named array (e.g. per layer), with mean and std in the legend.

    ``saturation`` adds the fraction of values beyond it to the legend (for tanh outputs).
    With ``stats_in_legend=False`` the legend holds only the names, for plots with many
    lines; :func:`stats_table` prints the numbers instead. Returns the figure.
    """
    ax = _axes(ax)
    for name, values in named_values:
        values = _array(values).ravel()
        stats = activation_stats(values, saturation)
        density, edges = np.histogram(values, bins=bins, range=value_range, density=True)
        label = name
        if stats_in_legend:
            label += f": mean {stats['mean']:+.2f}, std {stats['std']:.2g}"
            if saturation is not None:
                label += f", |x|>{saturation:g}: {100 * stats['saturated']:.1f}%"
        ax.plot(0.5 * (edges[:-1] + edges[1:]), density, label=label)
    ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 3))  # gradients are ~1e-4
    ax.set_ylabel("density")
    ax.legend(fontsize="small" if stats_in_legend else "medium")
    if title:
        ax.set_title(title)
    return ax.figure


def stats_table(
    groups: dict[str, Sequence[tuple[str, object]]], *, saturation: float | None = None
) -> str:
    """A text table of the mean and std of named arrays, one block of columns per group.

    Every group names the same rows in the same order (say, the layers of one network under
    several initializations); ``saturation`` adds the percentage with ``|x| > saturation``.

    >>> print(stats_table({"a": [("x", np.array([1.0, 3.0]))]}, saturation=2.5))
                                      a
                   mean      std   >2.5
    x                 2        1  50.0%
    """
    rows = [name for name, _ in next(iter(groups.values()))]
    first = max(10, 2 + max(len(row) for row in rows))
    widths = {"mean": 9, "std": 9}
    if saturation is not None:
        widths[f">{saturation:g}"] = 7
    block = sum(widths.values())
    lines = [
        f"{'':<{first}}" + "".join(f"{group:>{block}}" for group in groups),
        f"{'':<{first}}" + "".join(f"{c:>{w}}" for _ in groups for c, w in widths.items()),
    ]
    for i, row in enumerate(rows):
        cells = []
        for named in groups.values():
            stats = activation_stats(named[i][1], saturation)
            cells += [f"{stats['mean']:>9.2g}", f"{stats['std']:>9.2g}"]
            if saturation is not None:
                cells.append(f"{100 * stats['saturated']:>6.1f}%")
        lines.append(f"{row:<{first}}" + "".join(cells))
    return "\n".join(lines)


def plot_saturation_map(h, *, threshold: float = 0.99, ax=None, title: str | None = None):
    """An image of which tanh outputs are saturated: white where ``|h| > threshold``.

    ``h`` is (examples, units). A column that is white from top to bottom is a unit that is
    saturated for every example: no gradient flows through it, it cannot learn (a dead unit).
    Returns the figure.
    """
    h = _array(h)
    if h.ndim != 2:
        raise ValueError(f"plot_saturation_map needs (examples, units), got shape {h.shape}")
    ax = _axes(ax, figsize=(8, 2.5))
    saturated = np.abs(h) > threshold  # (examples, units)
    ax.imshow(saturated, cmap="gray", interpolation="nearest", aspect="auto", vmin=0, vmax=1)
    ax.set_xlabel("hidden unit")
    ax.set_ylabel("example")
    ax.set_title(title or f"|h| > {threshold:g}: {100 * saturated.mean():.1f}% of the entries")
    return ax.figure


def plot_update_ratios(
    ratios: dict[str, Sequence[float]],
    *,
    ax=None,
    guide: float = GUIDE_UPDATE_RATIO,
    title: str | None = None,
):
    """The update-to-data ratio of each weight over training, log scale, with a guide line.

    Returns the figure.
    """
    ax = _axes(ax)
    for name, values in ratios.items():
        ax.plot(np.asarray(values, dtype=np.float64), label=name, linewidth=0.8)
    ax.axhline(guide, color="black", linestyle="--", linewidth=1, label=f"guide {guide:g}")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("std(update) / std(weight)")
    ax.legend(ncol=2)
    if title:
        ax.set_title(title)
    return ax.figure


def smooth(values: Sequence[float], window: int) -> np.ndarray:
    """Means of consecutive, non-overlapping windows of ``window`` values (a partial tail dropped).

    >>> smooth([1.0, 3.0, 5.0, 7.0, 9.0], window=2).tolist()
    [2.0, 6.0]
    """
    if window < 1:
        raise ValueError(f"window must be at least 1, got {window}")
    values = np.asarray(values, dtype=np.float64)
    usable = len(values) // window * window
    return values[:usable].reshape(-1, window).mean(axis=1)


def plot_loss(
    named_losses: dict[str, Sequence[float]],
    *,
    window: int = 100,
    ax=None,
    title: str | None = None,
    first_steps: int | None = None,
    log_y: bool = False,
):
    """Training loss per step of one or more runs, averaged over windows of ``window`` steps.

    A value of ``named_losses`` is one run's losses, or a (seeds, steps) array of several
    runs: then the line is their mean and a band spans the lowest to the highest run.
    ``first_steps`` keeps only the start of each run. Returns the figure.
    """
    ax = _axes(ax)
    for name, losses in named_losses.items():
        runs = np.atleast_2d(np.asarray(losses, dtype=np.float64))[:, :first_steps]
        smoothed = np.array([smooth(run, window) for run in runs])  # (seeds, windows)
        steps = (np.arange(smoothed.shape[1]) + 0.5) * window
        (line,) = ax.plot(steps, smoothed.mean(axis=0), label=name)
        if len(smoothed) > 1:
            low, high = smoothed.min(axis=0), smoothed.max(axis=0)
            ax.fill_between(steps, low, high, color=line.get_color(), alpha=0.2)
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(f"loss (mean of {window} steps)")
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return ax.figure
