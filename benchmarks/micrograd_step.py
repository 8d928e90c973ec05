"""One training step of our scalar engine against the `micrograd` package from PyPI.

The step, the same for both engines: MLP(2, [16, 16, 1]) (ReLU hidden layers, linear output)
forward over 100 two-moons points, the mean hinge (max-margin) loss, zero_grad, backward, and a
gradient-descent update. Both networks start from the same weights, and both run the very same
`training_step` function from `gpt_from_scratch.micrograd.train`, so they compute the same
loss; the script checks that. Steps of the two engines alternate, so a burst of load on a shared
machine hits both.

A timed step ends with `gc.collect()`, so it pays for freeing the graph it built: PyPI micrograd's
graphs are full of reference cycles (each `_backward` closure holds its own output), which only
the cycle collector frees, and without the collect that bill would land on whichever engine runs
next. Times are CPU time of this process (`time.process_time`), which other programs on a busy
shared machine disturb less than wall-clock time; for single-threaded Python on an idle machine
the two agree. Prints the median step time of each and the ratio ours / theirs.
Target: ratio <= 1.0.

Run: python benchmarks/micrograd_step.py [--repeats 9]
"""

import argparse
import gc
import random
import statistics
import time

from gpt_from_scratch.micrograd.moons import make_moons
from gpt_from_scratch.micrograd.nn import MLP
from gpt_from_scratch.micrograd.train import hinge_loss, training_step

SIZES = [16, 16, 1]
POINTS = 100
LEARNING_RATE = 0.05


def pypi_copy(model):
    """The PyPI micrograd MLP with the same weights as our `model`, or None if not installed."""
    try:
        from micrograd.nn import MLP as PypiMLP
    except ImportError:
        return None
    theirs = PypiMLP(2, SIZES)
    for ours_p, theirs_p in zip(model.parameters(), theirs.parameters(), strict=True):
        theirs_p.data = ours_p.data
    return theirs


def time_step(model, xs, ys):
    """(seconds, loss) of one training step, including freeing its expression graph."""
    start = time.process_time()
    # Keep only the loss: the scores hold the graph, which must be freed inside the timing.
    loss = training_step(model, xs, ys, LEARNING_RATE, hinge_loss)[0]
    gc.collect()
    return time.process_time() - start, loss


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="timed steps per engine")
    args = parser.parse_args()

    X, y = make_moons(POINTS, noise=0.1, seed=0)
    xs, ys = X.tolist(), y.tolist()  # Python floats: numpy scalars would slow both engines
    ours = MLP(2, SIZES, activation="relu", rng=random.Random(0))
    theirs = pypi_copy(ours)
    engines = {"ours": ours} if theirs is None else {"ours": ours, "pypi micrograd": theirs}

    first_losses = {name: time_step(model, xs, ys)[1] for name, model in engines.items()}
    times = {name: [] for name in engines}
    for _ in range(args.repeats):
        for name, model in engines.items():
            times[name].append(time_step(model, xs, ys)[0])

    print(f"one training step of MLP(2, {SIZES}) on {POINTS} moons points, hinge loss")
    for name in engines:
        median = statistics.median(times[name])
        print(f"  {name:>15}: {median * 1e3:8.1f} ms  (first loss {first_losses[name]:.12f})")
    if theirs is None:
        print("  the micrograd package is not installed (pip install -e '.[bench]'): no ratio")
        return
    if abs(first_losses["ours"] - first_losses["pypi micrograd"]) > 1e-9:
        raise SystemExit("the two engines computed different losses: the comparison is void")
    ratio = statistics.median(times["ours"]) / statistics.median(times["pypi micrograd"])
    print(f"  ratio ours / pypi micrograd: {ratio:.2f}  (target <= 1.0)")


if __name__ == "__main__":
    main()
