"""``python -m gpt_from_scratch.bpe``: train a BPE tokenizer, or encode text with one.

python -m gpt_from_scratch.bpe train tinyshakespeare --vocab-size 4096 --out runs/shakespeare
python -m gpt_from_scratch.bpe encode runs/shakespeare.model "To be, or not to be"
python -m gpt_from_scratch.bpe encode gpt4 "hello world"

Exit status: 0 done, 2 a bad flag, 1 a bad file or data set, 130 Ctrl-C; each failure is one
``error:`` line (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from gpt_from_scratch import data
from gpt_from_scratch.bpe.base import Tokenizer
from gpt_from_scratch.bpe.basic import BasicTokenizer
from gpt_from_scratch.bpe.gpt4 import GPT4Tokenizer
from gpt_from_scratch.bpe.regex_tokenizer import (
    GPT2_SPLIT_PATTERN,
    GPT4_SPLIT_PATTERN,
    RegexTokenizer,
)
from gpt_from_scratch.commands import cli
from gpt_from_scratch.commands.cli import UsageError
from gpt_from_scratch.commands.progress import progress_bar

PATTERNS = {"gpt4": GPT4_SPLIT_PATTERN, "gpt2": GPT2_SPLIT_PATTERN}
# 256 byte tokens plus at most about a million merges: more is surely a typo.
MOST_TOKENS = 1 << 20


def check_out(prefix: str) -> None:
    """Refuse, before any training, an ``--out`` whose files could not be written."""
    prefix = Path(prefix)
    for suffix in (".model", ".vocab"):
        target = prefix.with_name(prefix.name + suffix)
        if target.is_dir():
            raise UsageError(f"--out {prefix}: {target} is a folder, not a file")
    for parent in prefix.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UsageError(f"--out {prefix}: {parent} is a file, not a folder")
            break


def train(args: argparse.Namespace) -> None:
    check_out(args.out)
    empty = "the file is empty; there is nothing to learn merges from"
    text = cli.read_text_input(args.text, empty)
    if args.pattern == "none":
        tokenizer = BasicTokenizer()
    else:
        tokenizer = RegexTokenizer(PATTERNS[args.pattern])
    start = time.perf_counter()
    with progress_bar(args.vocab_size - 256, desc="merges", unit="merge") as bar:
        tokenizer.train(text, args.vocab_size, fast=not args.plain, callback=lambda n: bar.update())
    seconds = time.perf_counter() - start
    ids = tokenizer.encode(text)
    print(
        f"trained {len(tokenizer.merges)} merges in {seconds:.1f} s; "
        f"{len(text) / len(ids):.2f} characters per token on the training text"
    )
    for path in tokenizer.save(args.out):
        print(f"wrote {path}")


def load_tokenizer(model: str):
    """GPT-4's tokenizer for ``gpt4``, else the ``.model`` file: one without a split pattern
    was written by a :class:`BasicTokenizer` (``train --pattern none``)."""
    if model == "gpt4":
        return GPT4Tokenizer()
    saved = Tokenizer.load(model)
    kind = RegexTokenizer if saved.pattern or saved.special_tokens else BasicTokenizer
    return kind.load(model)


def encode(args: argparse.Namespace) -> None:
    tokenizer = load_tokenizer(args.model)
    if isinstance(tokenizer, BasicTokenizer):
        ids = tokenizer.encode(args.text)
    else:
        ids = tokenizer.encode(args.text, allowed_special="all")
    print(ids)
    print("|".join(tokenizer.decode([idx]) for idx in ids))


def build_parser() -> argparse.ArgumentParser:
    parser = cli.Parser(
        prog="python -m gpt_from_scratch.bpe",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_train = sub.add_parser("train", help="learn merges from a text, save .model and .vocab")
    p_train.add_argument("text", help=f"a data set ({', '.join(data.DATASETS)}) or a text file")
    p_train.add_argument(
        "--vocab-size",
        type=cli.integer(256, MOST_TOKENS),
        default=1024,
        help=f"256 bytes plus the merges to learn, at most {MOST_TOKENS} (1024)",
    )
    p_train.add_argument("--pattern", choices=["gpt4", "gpt2", "none"], default="gpt4")
    p_train.add_argument("--plain", action="store_true", help="the slow, plain trainer")
    p_train.add_argument("--out", required=True, help="path prefix of the .model/.vocab files")
    p_train.set_defaults(run=train)
    p_encode = sub.add_parser("encode", help="print the ids and pieces of a text")
    p_encode.add_argument("model", help="a .model file, or gpt4 for cl100k_base")
    p_encode.add_argument("text")
    p_encode.set_defaults(run=encode)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; the exit status is :mod:`~gpt_from_scratch.commands.cli`'s."""
    args = build_parser().parse_args(argv)
    return cli.run(args.run, args)


if __name__ == "__main__":
    sys.exit(main())
