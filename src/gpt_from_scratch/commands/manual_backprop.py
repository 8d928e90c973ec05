"""``python -m gpt_from_scratch.commands.manual_backprop``: the chapter "Backprop by hand"'s run,
as long as the lecture's, with the hand-written backward pass only."""

from __future__ import annotations

import argparse

from gpt_from_scratch.commands.activations import names_examples
from gpt_from_scratch.commands.progress import progress_bar
from gpt_from_scratch.makemore.manual_backprop import (
    eval_logits,
    init_params,
    mean_nll,
    train_manual,
)
from gpt_from_scratch.tensor import optim


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m gpt_from_scratch.commands.manual_backprop",
        description="Train the two-layer MLP with batch norm on the names data set with the "
        "hand-written backward pass only (SGD, lr 0.1 then 0.01 for the second half).",
    )
    parser.add_argument("--steps", type=int, default=200_000, help="SGD steps (200000)")
    parser.add_argument("--n-hidden", type=int, default=64, help="hidden units (64)")
    parser.add_argument("--seed", type=int, default=42, help="initialization and batches (42)")
    args = parser.parse_args(argv)
    vocab, splits = names_examples()
    (X, Y), (X_dev, Y_dev) = splits["train"], splits["dev"]
    params = init_params(vocab.size, n_hidden=args.n_hidden, seed=args.seed)
    schedule = optim.step_decay(0.1, 0.01, at=args.steps // 2)
    with progress_bar(args.steps) as bar:
        run = train_manual(
            params,
            X,
            Y,
            steps=args.steps,
            lr=schedule,
            seed=args.seed,
            callback=lambda step, run: bar.update(1),
        )
    for name, (Xs, Ys) in {"train": (X, Y), "dev": (X_dev, Y_dev)}.items():
        print(f"{name} loss {mean_nll(eval_logits(params, run.stats, Xs), Ys):.4f}")


if __name__ == "__main__":
    main()
