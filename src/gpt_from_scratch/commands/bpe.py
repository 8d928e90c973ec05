"""``python -m gpt_from_scratch.bpe``: train a BPE tokenizer, or encode text with one.

python -m gpt_from_scratch.bpe train tinyshakespeare --vocab-size 4096 --out runs/shakespeare
python -m gpt_from_scratch.bpe encode runs/shakespeare.model "To be, or not to be"
python -m gpt_from_scratch.bpe encode gpt4 "hello world"
"""

from __future__ import annotations

import argparse
import time

from gpt_from_scratch import data
from gpt_from_scratch.bpe.basic import BasicTokenizer
from gpt_from_scratch.bpe.gpt4 import GPT4Tokenizer
from gpt_from_scratch.bpe.regex_tokenizer import (
    GPT2_SPLIT_PATTERN,
    GPT4_SPLIT_PATTERN,
    RegexTokenizer,
)
from gpt_from_scratch.commands.progress import progress_bar

PATTERNS = {"gpt4": GPT4_SPLIT_PATTERN, "gpt2": GPT2_SPLIT_PATTERN}


def read_training_text(source: str) -> str:
    """A UTF-8 text file by path, or a data set by name (``tinyshakespeare``)."""
    return data.file_or_dataset(source).read_text(encoding="utf-8")


def train(args: argparse.Namespace) -> None:
    text = read_training_text(args.text)
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


def encode(args: argparse.Namespace) -> None:
    tokenizer = GPT4Tokenizer() if args.model == "gpt4" else RegexTokenizer.load(args.model)
    ids = tokenizer.encode(args.text, allowed_special="all")
    print(ids)
    print("|".join(tokenizer.decode([idx]) for idx in ids))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m gpt_from_scratch.bpe",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_train = sub.add_parser("train", help="learn merges from a text, save .model and .vocab")
    p_train.add_argument("text", help=f"a data set ({', '.join(data.DATASETS)}) or a text file")
    p_train.add_argument("--vocab-size", type=int, default=1024)
    p_train.add_argument("--pattern", choices=["gpt4", "gpt2", "none"], default="gpt4")
    p_train.add_argument("--plain", action="store_true", help="the slow, plain trainer")
    p_train.add_argument("--out", required=True, help="path prefix of the .model/.vocab files")
    p_train.set_defaults(run=train)
    p_encode = sub.add_parser("encode", help="print the ids and pieces of a text")
    p_encode.add_argument("model", help="a .model file, or gpt4 for cl100k_base")
    p_encode.add_argument("text")
    p_encode.set_defaults(run=encode)
    args = parser.parse_args(argv)
    try:
        args.run(args)
    except (ValueError, OSError, data.DataError) as err:
        parser.exit(1, f"error: {err}\n")


if __name__ == "__main__":
    main()
