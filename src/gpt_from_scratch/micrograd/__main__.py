"""Train the scalar MLP on two moons from the command line.

python -m gpt_from_scratch.micrograd --points 100 --steps 100
"""

import argparse
import random

from gpt_from_scratch.micrograd.moons import make_moons
from gpt_from_scratch.micrograd.nn import MLP
from gpt_from_scratch.micrograd.train import fit


def main():
    parser = argparse.ArgumentParser(description="Train MLP(2, [16, 16, 1]) on two moons.")
    parser.add_argument("--points", type=int, default=100, help="size of the data set")
    parser.add_argument("--noise", type=float, default=0.1, help="std of the noise on the points")
    parser.add_argument("--steps", type=int, default=100, help="training steps (full batch)")
    parser.add_argument("--lr", type=float, default=1.0, help="starting learning rate")
    parser.add_argument("--seed", type=int, default=0, help="seeds the data and the weights")
    args = parser.parse_args()

    X, y = make_moons(args.points, noise=args.noise, seed=args.seed)
    model = MLP(2, [16, 16, 1], activation="relu", rng=random.Random(args.seed))
    history = fit(model, X.tolist(), y.tolist(), args.steps, args.lr, decay=0.9, progress=True)
    print(f"final loss {history['loss'][-1]:.4f}, accuracy {history['accuracy'][-1]:.0%}")


if __name__ == "__main__":
    main()
