"""``python -m gpt_from_scratch.commands.manual_backprop``: the chapter "Backprop by hand"'s run,
as long as the lecture's, with the hand-written backward pass only.

Exit status: 0 done, 2 a bad flag or a size that cannot fit in memory, 1 a missing data set,
130 Ctrl-C; each failure is one ``error:`` line (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import sys

from gpt_from_scratch.commands import cli
from gpt_from_scratch.commands.activations import MOST_STEPS, names_examples
from gpt_from_scratch.commands.progress import progress_bar
from gpt_from_scratch.makemore.manual_backprop import (
    eval_logits,
    init_params,
    mean_nll,
    train_manual,
)
from gpt_from_scratch.tensor import optim

MOST_HIDDEN = 1 << 14


def build_parser() -> argparse.ArgumentParser:
    parser = cli.Parser(
        prog="python -m gpt_from_scratch.commands.manual_backprop",
        description="Train the two-layer MLP with batch norm on the names data set with the "
        "hand-written backward pass only (SGD, lr 0.1 then 0.01 for the second half).",
    )
    parser.add_argument(
        "--steps", type=cli.integer(1, MOST_STEPS), default=200_000, help="SGD steps (200000)"
    )
    parser.add_argument(
        "--n-hidden",
        type=cli.integer(1, MOST_HIDDEN),
        default=64,
        help=f"hidden units (64), at most {MOST_HIDDEN}",
    )
    parser.add_argument("--seed", type=cli.seed, default=42, help="initialization and batches (42)")
    return parser


def train_and_report(args: argparse.Namespace) -> None:
    vocab, splits = names_examples()
    (X, Y), (X_dev, Y_dev) = splits["train"], splits["dev"]
    # The evaluation of the whole training set holds about four (N, n_hidden) float64 arrays.
    cli.check_memory(4 * 8 * len(X) * args.n_hidden, f"--n-hidden {args.n_hidden}")
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


def main(argv: list[str] | None = None) -> int:
    """Run the command; the exit status is :mod:`~gpt_from_scratch.commands.cli`'s."""
    return cli.run(train_and_report, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
