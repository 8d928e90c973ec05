"""``python -m gpt_from_scratch.micrograd``: train the scalar MLP on two moons, with a progress bar.

python -m gpt_from_scratch.micrograd --points 100 --steps 100

Exit status: 0 done, 2 a bad flag, 1 a loss that is not a number, 130 Ctrl-C; each failure is
one ``error:`` line (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import math
import random
import sys

from gpt_from_scratch.commands import cli
from gpt_from_scratch.commands.progress import progress_bar
from gpt_from_scratch.micrograd.moons import make_moons
from gpt_from_scratch.micrograd.nn import MLP
from gpt_from_scratch.micrograd.train import fit, hinge_loss

# A scalar engine builds one Value per multiply-add: beyond these the run takes hours.
MOST_POINTS, MOST_STEPS = 100_000, 1_000_000


def build_parser() -> argparse.ArgumentParser:
    parser = cli.Parser(
        prog="python -m gpt_from_scratch.micrograd",
        description="Train MLP(2, [16, 16, 1]) on two moons.",
    )
    parser.add_argument(
        "--points", type=cli.integer(2, MOST_POINTS), default=100, help="size of the data set"
    )
    parser.add_argument(
        "--noise",
        type=cli.real(0.0, 10.0, low_open=False),
        default=0.1,
        help="std of the noise on the points, in [0, 10]",
    )
    parser.add_argument(
        "--steps", type=cli.integer(1, MOST_STEPS), default=100, help="training steps (full batch)"
    )
    parser.add_argument(
        "--lr", type=cli.real(0.0, 100.0), default=1.0, help="starting learning rate, in (0, 100]"
    )
    parser.add_argument("--seed", type=cli.seed, default=0, help="seeds the data and the weights")
    return parser


def stop_if_diverged(step: int, history) -> None:
    """Stop at the first loss that is not a finite number: nothing after it means anything."""
    if not math.isfinite(history["loss"][-1]):
        raise ValueError(
            f"the training loss became {history['loss'][-1]} at step {step} (try a lower --lr)"
        )


def train(args: argparse.Namespace) -> None:
    X, y = make_moons(args.points, noise=args.noise, seed=args.seed)
    model = MLP(2, [16, 16, 1], activation="relu", rng=random.Random(args.seed))

    with progress_bar(args.steps) as bar:

        def callback(step, history):
            stop_if_diverged(step, history)
            bar.update(1)

        xs, ys = X.tolist(), y.tolist()
        history = fit(
            model, xs, ys, args.steps, args.lr, hinge_loss, decay=0.9, callback=callback
        )
    print(f"final loss {history['loss'][-1]:.4f}, accuracy {history['accuracy'][-1]:.0%}")


def main(argv: list[str] | None = None) -> int:
    """Run the command; the exit status is :mod:`~gpt_from_scratch.commands.cli`'s."""
    return cli.run(train, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
