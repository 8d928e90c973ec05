"""``python -m gpt_from_scratch.micrograd``: train the scalar MLP on two moons, with a progress bar.

python -m gpt_from_scratch.micrograd --points 100 --steps 100
"""

from __future__ import annotations

import argparse
import random

from gpt_from_scratch.commands.progress import progress_bar
from gpt_from_scratch.micrograd.moons import make_moons
from gpt_from_scratch.micrograd.nn import MLP
from gpt_from_scratch.micrograd.train import fit


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m gpt_from_scratch.micrograd",
        description="Train MLP(2, [16, 16, 1]) on two moons.",
    )
    parser.add_argument("--points", type=int, default=100, help="size of the data set")
    parser.add_argument("--noise", type=float, default=0.1, help="std of the noise on the points")
    parser.add_argument("--steps", type=int, default=100, help="training steps (full batch)")
    parser.add_argument("--lr", type=float, default=1.0, help="starting learning rate")
    parser.add_argument("--seed", type=int, default=0, help="seeds the data and the weights")
    args = parser.parse_args(argv)

    X, y = make_moons(args.points, noise=args.noise, seed=args.seed)
    model = MLP(2, [16, 16, 1], activation="relu", rng=random.Random(args.seed))
    with progress_bar(args.steps) as bar:
        history = fit(
            model,
            X.tolist(),
            y.tolist(),
            args.steps,
            args.lr,
            decay=0.9,
            callback=lambda step, history: bar.update(1),
        )
    print(f"final loss {history['loss'][-1]:.4f}, accuracy {history['accuracy'][-1]:.0%}")


if __name__ == "__main__":
    main()
