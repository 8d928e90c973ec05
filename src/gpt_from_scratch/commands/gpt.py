"""``python -m gpt_from_scratch.gpt train|sample``: train a character-level GPT, or sample one.

python -m gpt_from_scratch.gpt train --input tinyshakespeare --out runs/gpt
python -m gpt_from_scratch.gpt train --input tinyshakespeare --out runs/gpt --resume \
    --max-iters 5000
python -m gpt_from_scratch.gpt sample --out runs/gpt --prompt "ROMEO:" --length 500

The run folder ``--out`` is a :class:`gpt_from_scratch.runs.RunFolder`: every evaluation
saves a checkpoint of the model, its AdamW state, the step, the history and the random state
of dropout, so that ``--resume`` continues from the last one exactly as the uninterrupted run
would have; ``sample`` reads the one with the best validation loss.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import asdict, fields

from gpt_from_scratch.checkpoint import CheckpointError, restore_training
from gpt_from_scratch.commands import cli
from gpt_from_scratch.commands.cli import UsageError
from gpt_from_scratch.commands.progress import progress_bar, show_progress
from gpt_from_scratch.gpt.config import GPTConfig
from gpt_from_scratch.gpt.data import CharVocab, encode_text, train_val_split
from gpt_from_scratch.gpt.generate import sample_text
from gpt_from_scratch.gpt.model import GPT
from gpt_from_scratch.gpt.train import TrainConfig, fit, make_optimizer
from gpt_from_scratch.makemore.train import History
from gpt_from_scratch.runs import RunFolder
from gpt_from_scratch.tensor import engine, manual_seed

CHECKPOINT_TYPE = "gpt"
# Keys every gpt checkpoint's meta.json holds; a missing one is a damaged checkpoint.
META_KEYS = ("config", "train_config", "vocab", "step", "history", "rng")


def checkpoint_meta(model, vocab: CharVocab, config: TrainConfig, step, history) -> dict:
    return {
        "type": CHECKPOINT_TYPE,
        "config": model.config.to_json(),
        "train_config": asdict(config),
        "vocab": vocab.to_json(),
        "step": step,
        "history": history.to_json(),
        "rng": engine.rng().bit_generator.state,
    }


def save_every_eval(run: RunFolder, model, optimizer, vocab: CharVocab, config: TrainConfig):
    """A callback that saves a checkpoint at every evaluation, marked best when its val loss
    is the lowest so far."""

    def callback(step: int, history: History) -> None:
        evals = history.evals.get("val", [])
        if evals and evals[-1][0] == step:
            meta = checkpoint_meta(model, vocab, config, step, history)
            best = evals[-1][1] <= history.best("val")
            run.save_training(step, meta, model, optimizer, best=best)

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


def resume(run: RunFolder, model, optimizer, vocab: CharVocab) -> tuple[int, History]:
    """Restore the last checkpoint of ``run`` into ``model`` and ``optimizer``, and the random
    state of dropout: (step, history)."""
    arrays, meta = run.load("last", expected_type=CHECKPOINT_TYPE, required=META_KEYS)
    where = run.folder("last")
    check_config(meta, model.config, where)
    if meta["vocab"] != vocab.to_json():
        raise CheckpointError(
            f"{where}: the checkpoint was trained on another text (its vocabulary differs)"
        )
    restore_training(where, arrays, meta, model, optimizer)
    try:
        history = History.from_json(meta["history"])
        engine.rng().bit_generator.state = meta["rng"]
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{where}: the checkpoint's metadata is damaged ({err})") from None
    return int(meta["step"]), history


def load_model(out, which: str = "best") -> tuple[GPT, CharVocab, dict]:
    """The GPT and vocabulary of run folder ``out``'s ``which`` checkpoint, ready to sample
    from; and the metadata."""
    run = RunFolder(out)
    arrays, meta = run.load(which, expected_type=CHECKPOINT_TYPE, required=META_KEYS)
    where = run.folder(which)
    try:
        config = GPTConfig.from_json(meta["config"])
        vocab = CharVocab.from_json(meta["vocab"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{where}: the checkpoint's metadata is damaged ({err})") from None
    if vocab.size != config.vocab_size:
        raise CheckpointError(
            f"{where}: the vocabulary has {vocab.size} characters but the model "
            f"{config.vocab_size} tokens"
        )
    model = GPT(config)
    restore_training(where, arrays, meta, model)
    model.eval()
    return model, vocab, meta


def training_bytes(config: GPTConfig, batch_size: int) -> int:
    """About how many bytes a training step needs: weights, gradients and AdamW's two moments
    (4 copies of the parameters), plus the activations kept for the backward pass."""
    V, T, C, L, H = (
        config.vocab_size,
        config.block_size,
        config.n_embd,
        config.n_layer,
        config.n_head,
    )
    parameters = 12 * L * C * C + (V + T) * C
    per_layer = 24 * batch_size * T * C + 3 * batch_size * H * T * T  # (B, T, C), (B, H, T, T)
    return 4 * (4 * parameters + L * per_layer + 3 * batch_size * T * V)


def as_flags(message: str) -> str:
    """A GPTConfig message in the command's words: ``n_embd=17`` becomes ``--n-embd 17``."""
    message = message.removeprefix("GPTConfig: ").replace("GPTConfig.", "")
    names = "|".join(field.name for field in fields(GPTConfig))
    return re.sub(rf"\b({names})[= ]", lambda m: f"--{m[1].replace('_', '-')} ", message)


def prepare(args) -> tuple[CharVocab, tuple, GPTConfig, TrainConfig]:
    """Everything checked before any work: the text, its split, the model's size."""
    text = cli.read_text_input(args.input)
    vocab = CharVocab.from_text(text)
    train_data, val_data = train_val_split(encode_text(text, vocab))
    if len(val_data) <= args.block_size:
        raise UsageError(
            f"--input {args.input}: the validation part (the last 10%, {len(val_data)} "
            f"characters) must be longer than --block-size {args.block_size}"
        )
    try:
        config = GPTConfig(
            vocab_size=vocab.size,
            block_size=args.block_size,
            n_layer=args.n_layer,
            n_head=args.n_head,
            n_embd=args.n_embd,
            dropout=args.dropout,
        )
    except ValueError as err:
        raise UsageError(as_flags(str(err))) from None
    cli.check_memory(training_bytes(config, args.batch_size), "this model and --batch-size")
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
    return vocab, (train_data, val_data), config, train_config


def run_train(args) -> None:
    vocab, (train_data, val_data), config, train_config = prepare(args)
    run = RunFolder(args.out, keep=args.keep)
    with run.lock():
        cli.claim(run, args.resume)
        manual_seed(args.seed)
        model = GPT(config)
        optimizer = make_optimizer(model, train_config)
        start, history = resume(run, model, optimizer, vocab) if args.resume else (0, None)
        print(f"{model.num_parameters():,} parameters, vocabulary of {vocab.size} characters")
        callbacks = [
            cli.stop_if_diverged(run),
            save_every_eval(run, model, optimizer, vocab, train_config),
        ]
        bar = None
        if not args.quiet:
            bar = progress_bar(train_config.max_iters, initial=start, desc="train", unit="it")
            callbacks.append(show_progress(bar))
        try:
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
        except KeyboardInterrupt:
            raise cli.Interrupted(f"interrupted; {cli.kept(run)}: continue with --resume") from None
        finally:
            if bar is not None:
                bar.close()
    for (step, train_loss), (_, val_loss) in zip(
        history.evals["train"], history.evals["val"], strict=True
    ):
        print(f"step {step:6d}  train {train_loss:.4f}  val {val_loss:.4f}")
    print(f"best val {history.best('val'):.4f}, checkpoint in {run.folder('best')}")


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
    parser = cli.Parser(
        prog="python -m gpt_from_scratch.gpt", description="Train a character-level GPT, or sample."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    tr = sub.add_parser("train", help="train on a UTF-8 text file")
    tr.add_argument(
        "--input", required=True, help="a UTF-8 text file, or a data set name (tinyshakespeare)"
    )
    tr.add_argument("--out", required=True, help="run folder (checkpoints at every evaluation)")
    tr.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    tr.add_argument("--keep", type=cli.integer(1, 1000), default=2, help="recent checkpoints kept")
    defaults, train_defaults = GPTConfig(), TrainConfig()
    sizes = {"block_size": 1 << 16, "n_layer": 1000, "n_head": 1 << 12, "n_embd": 1 << 16}
    for name, most in sizes.items():
        tr.add_argument(
            f"--{name.replace('_', '-')}",
            type=cli.integer(1, most),
            default=getattr(defaults, name),
        )
    tr.add_argument("--dropout", type=cli.real(0.0, 0.99, low_open=False), default=defaults.dropout)
    for name in ("max_iters", "batch_size", "eval_interval", "eval_iters"):
        tr.add_argument(
            f"--{name.replace('_', '-')}", type=cli.count, default=getattr(train_defaults, name)
        )
    tr.add_argument("--seed", type=cli.seed, default=train_defaults.seed)
    tr.add_argument("--lr", type=cli.real(0.0, 10.0), default=train_defaults.lr, help="peak rate")
    tr.add_argument("--quiet", action="store_true", help="no progress bar")
    sa = sub.add_parser("sample", help="generate text from a checkpoint")
    sa.add_argument("--out", required=True, help="run folder written by train")
    sa.add_argument("--prompt", default="", help="text to continue (characters of the vocabulary)")
    sa.add_argument("--length", type=cli.integer(0, 10**7), default=500, help="characters to add")
    sa.add_argument("--temperature", type=cli.positive, default=1.0)
    sa.add_argument("--top-k", type=cli.count, default=None)
    sa.add_argument("--seed", type=cli.seed, default=0)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return cli.run(run_train if args.command == "train" else run_sample, args)


if __name__ == "__main__":
    sys.exit(main())
