"""``python -m gpt_from_scratch.commands.activations``: the networks of the chapter
"Activations, gradients and BatchNorm", trained for as long as the lecture trains them."""

from __future__ import annotations

import argparse

from gpt_from_scratch import data
from gpt_from_scratch.commands.progress import progress_bar, show_progress
from gpt_from_scratch.makemore.activations import RECIPES, train_recipe
from gpt_from_scratch.makemore.data import Vocabulary, examples_by_split, load_words


def names_examples(block_size: int = 3):
    """The names data set's vocabulary and its train/dev/test examples, as the chapters split it."""
    words = load_words(data.path("names"))
    vocab = Vocabulary.from_words(words)
    return vocab, examples_by_split(words, vocab, block_size)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m gpt_from_scratch.commands.activations",
        description="Train the two-layer MLP of 'Activations, gradients and BatchNorm' on the "
        "names data set under each initialization recipe; print initial and dev losses.",
    )
    parser.add_argument("--init", nargs="+", choices=list(RECIPES), default=list(RECIPES))
    parser.add_argument("--steps", type=int, default=200_000, help="SGD steps (200000)")
    parser.add_argument("--seed", type=int, default=42, help="initialization and batches (42)")
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    main()
