"""``python -m gpt_from_scratch.gpt train|sample``: train a character-level GPT, or sample one.

python -m gpt_from_scratch.gpt train --input tinyshakespeare --out runs/gpt
python -m gpt_from_scratch.gpt sample --out runs/gpt --prompt "ROMEO:" --length 500

The run folder ``--out`` is a :mod:`gpt_from_scratch.checkpoint` folder holding the model with
the best validation loss so far, with its AdamW state, step and history, so that ``--resume``
continues from it.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path

from gpt_from_scratch import data
from gpt_from_scratch.checkpoint import (
    CheckpointError,
    load_checkpoint,
    restore_training,
    save_training,
)
from gpt_from_scratch.commands.progress import progress_bar, show_progress
from gpt_from_scratch.gpt.config import GPTConfig
from gpt_from_scratch.gpt.data import CharVocab, encode_text, train_val_split
from gpt_from_scratch.gpt.generate import sample_text
from gpt_from_scratch.gpt.model import GPT
from gpt_from_scratch.gpt.train import TrainConfig, fit, make_optimizer
from gpt_from_scratch.makemore.train import History
from gpt_from_scratch.tensor import manual_seed

CHECKPOINT_TYPE = "gpt"


def read_input(path: str) -> str:
    """The text of a UTF-8 file (or of a data set named by the data module), with a clear error
    for a missing, binary or empty one."""
    file = data.file_or_dataset(path)
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text (byte {err.start} is invalid)") from None
    if not text:
        raise ValueError(f"{path}: the file is empty")
    return text


def save_best(out: Path, model, optimizer, vocab: CharVocab, config: TrainConfig):
    """A callback that saves the run whenever an evaluation gives the best val loss so far."""

    def callback(step: int, history: History) -> None:
        evals = history.evals.get("val", [])
        if evals and evals[-1][0] == step and evals[-1][1] <= history.best("val"):
            meta = {
                "type": CHECKPOINT_TYPE,
                "config": model.config.to_json(),
                "train_config": asdict(config),
                "vocab": vocab.to_json(),
                "step": step,
                "history": history.to_json(),
            }
            save_training(out, meta, model, optimizer)

    return callback


def check_config(meta: dict, config: GPTConfig, where) -> None:
    """A clear error if the checkpoint's model configuration differs from ``config``."""
    saved = meta.get("config") or {}
    wanted = config.to_json()
    differences = [
        f"{name}: checkpoint {saved.get(name)!r}, asked {wanted[name]!r}"
        for name in wanted
        if saved.get(name) != wanted[name]
    ]
    if differences:
        raise CheckpointError(
            f"{where}: the checkpoint's model does not match the configuration ("
            + "; ".join(differences)
            + ")"
        )


def resume(out: Path, model, optimizer, vocab: CharVocab) -> tuple[int, History]:
    """Restore the run saved in ``out`` into ``model`` and ``optimizer``: (step, history)."""
    state, meta = load_checkpoint(out, expected_type=CHECKPOINT_TYPE)
    check_config(meta, model.config, out)
    if meta.get("vocab") != vocab.to_json():
        raise CheckpointError(
            f"{out}: the checkpoint was trained on another text (its vocabulary differs)"
        )
    restore_training(out, state, meta, model, optimizer)
    return int(meta["step"]), History.from_json(meta["history"])


def load_model(out) -> tuple[GPT, CharVocab, dict]:
    """The GPT and vocabulary saved in ``out``, ready to sample from; and the metadata."""
    state, meta = load_checkpoint(out, expected_type=CHECKPOINT_TYPE)
    try:
        config = GPTConfig.from_json(meta["config"])
        vocab = CharVocab.from_json(meta["vocab"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{out}: the checkpoint's metadata is damaged ({err})") from None
    if vocab.size != config.vocab_size:
        raise CheckpointError(
            f"{out}: the vocabulary has {vocab.size} characters but the model "
            f"{config.vocab_size} tokens"
        )
    model = GPT(config)
    restore_training(out, state, meta, model)
    model.eval()
    return model, vocab, meta


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
    optimizer = make_optimizer(model, train_config)
    out = Path(args.out)
    start, history = resume(out, model, optimizer, vocab) if args.resume else (0, None)
    print(f"{model.num_parameters():,} parameters, vocabulary of {vocab.size} characters")
    callbacks = [save_best(out, model, optimizer, vocab, train_config)]
    bar = None
    if not args.quiet:
        bar = progress_bar(train_config.max_iters, initial=start, desc="train", unit="it")
        callbacks.append(show_progress(bar))
    history = fit(
        model,
        train_data,
        val_data,
        train_config,
        optimizer=optimizer,
        start=start,
        history=history,
        callbacks=callbacks,
    )
    if bar is not None:
        bar.close()
    for (step, train_loss), (_, val_loss) in zip(
        history.evals["train"], history.evals["val"], strict=True
    ):
        print(f"step {step:6d}  train {train_loss:.4f}  val {val_loss:.4f}")
    print(f"best val {history.best('val'):.4f}, checkpoint in {args.out}")


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
    except (ValueError, CheckpointError, data.DataError) as err:
        parser.exit(1, f"error: {err}\n")


if __name__ == "__main__":
    sys.exit(main())
