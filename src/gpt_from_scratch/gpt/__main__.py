"""The command line: ``python -m gpt_from_scratch.gpt train|sample``.

python -m gpt_from_scratch.gpt train --input tinyshakespeare --out runs/gpt
python -m gpt_from_scratch.gpt sample --out runs/gpt --prompt "ROMEO:" --length 500
"""

from __future__ import annotations

import argparse
import sys

from gpt_from_scratch import data
from gpt_from_scratch.checkpoint import CheckpointError
from gpt_from_scratch.gpt.config import GPTConfig
from gpt_from_scratch.gpt.data import CharVocab, encode_text, train_val_split
from gpt_from_scratch.gpt.generate import sample_text
from gpt_from_scratch.gpt.model import GPT
from gpt_from_scratch.gpt.train import TrainConfig, load_model, train
from gpt_from_scratch.tensor import manual_seed


def read_input(path: str) -> str:
    """The text of a UTF-8 file (or of a data set named by the data module), with a clear error
    for a missing, binary or empty one."""
    try:
        file = data.file_or_dataset(path)
    except FileNotFoundError as err:
        raise ValueError(str(err)) from None
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text (byte {err.start} is invalid)") from None
    if not text:
        raise ValueError(f"{path}: the file is empty")
    return text


def run_train(args) -> None:
    text = read_input(args.input)
    vocab = CharVocab.from_text(text)
    train_data, val_data = train_val_split(encode_text(text, vocab))
    config = GPTConfig(
        vocab_size=vocab.size,
        block_size=args.block_size,
        n_layer=args.n_layer,
        n_head=args.n_head,
        n_embd=args.n_embd,
        dropout=args.dropout,
    )
    train_config = TrainConfig(
        max_iters=args.max_iters,
        batch_size=args.batch_size,
        lr=args.lr,
        min_lr=args.lr / 10,
        warmup_iters=min(100, args.max_iters // 10),
        eval_interval=args.eval_interval,
        eval_iters=args.eval_iters,
        seed=args.seed,
    )
    manual_seed(args.seed)
    model = GPT(config)
    print(f"{model.num_parameters():,} parameters, vocabulary of {vocab.size} characters")
    history = train(
        model,
        train_data,
        val_data,
        train_config,
        out_dir=args.out,
        vocab=vocab,
        resume=args.resume,
        progress=not args.quiet,
    )
    for step, train_loss, val_loss in history.evals:
        print(f"step {step:6d}  train {train_loss:.4f}  val {val_loss:.4f}")
    print(f"best val {history.best_val:.4f}, checkpoint in {args.out}")


def run_sample(args) -> None:
    model, vocab, _ = load_model(args.out)
    text = sample_text(
        model,
        vocab,
        args.prompt,
        args.length,
        temperature=args.temperature,
        top_k=args.top_k,
        seed=args.seed,
    )
    print(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gpt_from_scratch.gpt", description="Train a character-level GPT, or sample."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="train on a UTF-8 text file")
    tr.add_argument(
        "--input", required=True, help="a UTF-8 text file, or a data set name (tinyshakespeare)"
    )
    tr.add_argument("--out", required=True, help="checkpoint folder (the best model is kept)")
    tr.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    defaults, train_defaults = GPTConfig(), TrainConfig()
    for name in ("block_size", "n_layer", "n_head", "n_embd"):
        tr.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name))
    tr.add_argument("--dropout", type=float, default=defaults.dropout)
    for name in ("max_iters", "batch_size", "eval_interval", "eval_iters", "seed"):
        tr.add_argument(
            f"--{name.replace('_', '-')}", type=int, default=getattr(train_defaults, name)
        )
    tr.add_argument("--lr", type=float, default=train_defaults.lr, help="peak learning rate")
    tr.add_argument("--quiet", action="store_true", help="no progress bar")
    sa = sub.add_parser("sample", help="generate text from a checkpoint")
    sa.add_argument("--out", required=True, help="checkpoint folder written by train")
    sa.add_argument("--prompt", default="", help="text to continue (characters of the vocabulary)")
    sa.add_argument("--length", type=int, default=500, help="characters to generate")
    sa.add_argument("--temperature", type=float, default=1.0)
    sa.add_argument("--top-k", type=int, default=None)
    sa.add_argument("--seed", type=int, default=0)
    return parser


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        run_train(args) if args.command == "train" else run_sample(args)
    except (ValueError, CheckpointError) as err:
        parser.exit(1, f"error: {err}\n")


if __name__ == "__main__":
    sys.exit(main())
