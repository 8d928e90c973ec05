"""``python -m gpt_from_scratch.commands.activations``: the networks of the chapter
"Activations, gradients and BatchNorm", trained for as long as the lecture trains them.

With ``--seeds N`` each recipe is trained N times (seeds ``--seed`` to ``--seed + N - 1``) and
the mean and spread of its development loss are printed; ``--record FILE`` also writes every
run's numbers, the command and the machine to a JSON file, which the chapter reads.

Exit status: 0 done, 2 a bad flag, 1 a missing data set, 130 Ctrl-C; each failure is one
``error:`` line (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

from gpt_from_scratch import data
from gpt_from_scratch.commands import cli
from gpt_from_scratch.commands.progress import progress_bar, show_progress
from gpt_from_scratch.files import atomic_write
from gpt_from_scratch.makemore.activations import RECIPES, train_recipe
from gpt_from_scratch.makemore.data import Vocabulary, examples_by_split, load_words

# Fifty times the lecture's 200,000 steps: more is surely a typo.
MOST_STEPS = 10**7
MOST_SEEDS = 100


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
    parser.add_argument(
        "--seeds", type=cli.integer(1, MOST_SEEDS), default=1, help="runs per recipe (1)"
    )
    parser.add_argument("--record", type=Path, help="write every run's losses to this JSON file")
    return parser


def machine() -> str:
    """The processor and core count, as a record names the machine it ran on."""
    parts = (platform.machine(), f"{os.cpu_count()} cores", platform.processor())
    return ", ".join(part for part in parts if part)


def train_recipes(args: argparse.Namespace) -> None:
    vocab, splits = names_examples()
    seeds = list(range(args.seed, args.seed + args.seeds))
    started = time.perf_counter()
    results = {}
    for init in args.init:
        results[init] = []
        for seed in seeds:
            with progress_bar(args.steps, desc=f"{init} seed {seed}") as bar:
                run = train_recipe(
                    init,
                    vocab.size,
                    splits["train"],
                    splits["dev"],
                    steps=args.steps,
                    seed=seed,
                    callbacks=[show_progress(bar)],
                )
            results[init].append({"seed": seed, "initial": run.initial_loss, "dev": run.dev_loss})
        devs = np.array([r["dev"] for r in results[init]])
        spread = f" ± {devs.std(ddof=1):.4f} over {len(devs)} seeds" if len(devs) > 1 else ""
        print(
            f"{RECIPES[init].name}: initial loss {results[init][0]['initial']:.4f}, "
            f"dev {devs.mean():.4f}{spread}"
        )
    if args.record is not None:
        record = {
            "command": "python -m gpt_from_scratch.commands.activations " + " ".join(args.argv),
            "date": datetime.date.today().isoformat(),
            "machine": machine(),
            "wall_seconds": round(time.perf_counter() - started, 1),
            "steps": args.steps,
            "seeds": seeds,
            "runs": results,
        }
        args.record.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(args.record, (json.dumps(record, indent=1) + "\n").encode())
        print(f"wrote {args.record}")


def main(argv: list[str] | None = None) -> int:
    """Run the command; the exit status is :mod:`~gpt_from_scratch.commands.cli`'s."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    args.argv = list(argv)
    return cli.run(train_recipes, args)


if __name__ == "__main__":
    sys.exit(main())
