"""``python -m gpt_from_scratch.commands.activations``: the networks of the chapter
"Activations, gradients and BatchNorm", trained for as long as the lecture trains them.

Exit status: 0 done, 2 a bad flag, 1 a missing data set, 130 Ctrl-C; each failure is one
``error:`` line (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import sys

from gpt_from_scratch import data
from gpt_from_scratch.commands import cli
from gpt_from_scratch.commands.progress import progress_bar, show_progress
from gpt_from_scratch.makemore.activations import RECIPES, train_recipe
from gpt_from_scratch.makemore.data import Vocabulary, examples_by_split, load_words

# Fifty times the lecture's 200,000 steps: more is surely a typo.
MOST_STEPS = 10**7


def names_examples(block_size: int = 3):
    """The names data set's vocabulary and its train/dev/test examples, as the chapters split it."""
    words = load_words(data.path("names"))
    vocab = Vocabulary.from_words(words)
    return vocab, examples_by_split(words, vocab, block_size)


def build_parser() -> argparse.ArgumentParser:
    parser = cli.Parser(
        prog="python -m gpt_from_scratch.commands.activations",
        description="Train the two-layer MLP of 'Activations, gradients and BatchNorm' on the "
        "names data set under each initialization recipe; print initial and dev losses.",
    )
    parser.add_argument("--init", nargs="+", choices=list(RECIPES), default=list(RECIPES))
    parser.add_argument(
        "--steps", type=cli.integer(1, MOST_STEPS), default=200_000, help="SGD steps (200000)"
    )
    parser.add_argument("--seed", type=cli.seed, default=42, help="initialization and batches (42)")
    return parser


def train_recipes(args: argparse.Namespace) -> None:
    vocab, splits = names_examples()
    for init in args.init:
        with progress_bar(args.steps, desc=init) as bar:
            run = train_recipe(
                init,
                vocab.size,
                splits["train"],
                splits["dev"],
                steps=args.steps,
                seed=args.seed,
                callbacks=[show_progress(bar)],
            )
        print(f"{RECIPES[init].name}: initial loss {run.initial_loss:.4f}, dev {run.dev_loss:.4f}")


def main(argv: list[str] | None = None) -> int:
    """Run the command; the exit status is :mod:`~gpt_from_scratch.commands.cli`'s."""
    return cli.run(train_recipes, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
