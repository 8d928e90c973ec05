"""``python -m gpt_from_scratch.makemore``: train a model on any list of words, resume, sample.

::

    python -m gpt_from_scratch.makemore --input names --out runs/wavenet --type wavenet
    python -m gpt_from_scratch.makemore --out runs/wavenet --resume --steps 300000
    python -m gpt_from_scratch.makemore --out runs/wavenet --sample-only --num-samples 10

The input is a UTF-8 text file with one item per line (or the name of a data set of
:mod:`gpt_from_scratch.data`, such as ``names``). Its words are split 80/10/10 into
train/dev/test with a fixed seed (42), so every run on the same file is judged on the same dev
words. The output folder holds::

    OUT/best/     the weights with the lowest dev loss so far (model.npz + meta.json)
    OUT/last/     the weights after the latest evaluation, plus the optimizer state, to resume
    OUT/log.jsonl one JSON object per evaluation: step, train and dev loss, lr, seconds

Checkpoints are :mod:`gpt_from_scratch.checkpoint` folders (:func:`~gpt_from_scratch.checkpoint.
save_training`): arrays in an npz read without pickle, the model type, configuration, vocabulary
and training settings in ``meta.json``, both written atomically; ``last`` also holds the
optimizer's ``state_dict()``.

Training is one run of the book's training loop, cut into segments that end at each evaluation;
segment k draws its minibatches from a generator seeded by (seed, first step of k). Checkpoints
are written at segment ends, so a resumed run continues exactly as the uninterrupted run would
have, bit for bit.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from gpt_from_scratch import data
from gpt_from_scratch.checkpoint import (
    CheckpointError,
    load_checkpoint,
    restore_training,
    save_training,
)
from gpt_from_scratch.commands.models import (
    MODEL_TYPES,
    Training,
    build_model,
    model_config,
    model_type_entry,
)
from gpt_from_scratch.commands.progress import progress_bar, show_progress
from gpt_from_scratch.files import atomic_write, sha256_file
from gpt_from_scratch.makemore.data import Vocabulary, examples_by_split, load_words
from gpt_from_scratch.makemore.sample import sample
from gpt_from_scratch.makemore.train import (
    Batches,
    Callback,
    History,
    evaluate,
    minibatches,
    train,
)
from gpt_from_scratch.tensor import manual_seed, optim

SPLIT_SEED = 42
LOG = "log.jsonl"
# Command-line flags that set the model's configuration (a model takes some of them).
CONFIG_FLAGS = ("block_size", "n_embd", "n_hidden", "n_layer", "n_head", "dropout")


class UsageError(ValueError):
    """The command was asked for something it cannot do; the message says why."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    types = "\n".join(f"  {name:12} {entry.about}" for name, entry in MODEL_TYPES.items())
    p = argparse.ArgumentParser(
        prog="python -m gpt_from_scratch.makemore",
        description="Train a character-level model on a file of words (one a line), make more.",
        epilog=f"model types:\n{types}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--input",
        "-i",
        help="text file, one item per line, or a known data set's name such as 'names' "
        "(on --resume: optional)",
    )
    p.add_argument("--out", "-o", required=True, help="output folder: checkpoints and log")
    p.add_argument("--type", choices=sorted(MODEL_TYPES), help="model type (new runs: wavenet)")
    p.add_argument("--resume", action="store_true", help="continue the run saved in --out")
    p.add_argument("--sample-only", action="store_true", help="print samples from --out/best")
    p.add_argument("--seed", type=int, help="seed for initialization and minibatches (0)")
    g = p.add_argument_group("training (defaults depend on --type; on --resume, the saved run's)")
    g.add_argument("--steps", type=int, help="total optimizer steps")
    g.add_argument("--batch-size", type=int, help="examples per step")
    g.add_argument("--optimizer", choices=["sgd", "adamw"])
    g.add_argument("--lr", type=float, help="learning rate (the peak, for cosine)")
    g.add_argument("--lr-final", type=float, help="learning rate at the end of the schedule")
    g.add_argument("--schedule", choices=["step", "cosine", "constant"], help="lr schedule")
    g.add_argument("--decay-at", type=float, help="step schedule: fraction of steps at --lr")
    g.add_argument("--warmup-steps", type=int, help="cosine schedule: linear warmup steps")
    g.add_argument("--weight-decay", type=float, help="weight decay (AdamW)")
    g.add_argument("--eval-every", type=int, help="steps between dev evaluations (5000)")
    m = p.add_argument_group("model size (each type takes some of these)")
    for key in CONFIG_FLAGS:
        kind = float if key == "dropout" else int
        metavar = "P" if key == "dropout" else "N"
        m.add_argument("--" + key.replace("_", "-"), type=kind, dest=key, metavar=metavar)
    s = p.add_argument_group("sampling")
    s.add_argument("--num-samples", type=int, default=20, help="words to print (20)")
    s.add_argument("--temperature", type=float, default=1.0, help="softmax temperature (1.0)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    return p.parse_args(argv)


# -- settings -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RunSettings(Training):
    """A model type's :class:`Training` defaults plus what every run has: seed, evaluations."""

    eval_every: int = 5000
    seed: int = 0


def run_settings(args: argparse.Namespace, saved: dict[str, Any] | None) -> RunSettings:
    """The type's defaults, then the saved run's settings (on resume), then the flags given."""
    base = RunSettings(**dataclasses.asdict(model_type_entry(args.type).training))
    if saved is not None:
        base = RunSettings(**saved)
    names = [f.name for f in dataclasses.fields(RunSettings)]
    given = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    settings = dataclasses.replace(base, **given)
    check_settings(settings)
    return settings


def check_settings(s: RunSettings) -> None:
    for name in ("steps", "batch_size", "eval_every"):
        if getattr(s, name) < 1:
            raise UsageError(
                f"--{name.replace('_', '-')} must be at least 1, got {getattr(s, name)}"
            )
    if not 0.0 <= s.decay_at <= 1.0:
        raise UsageError(f"--decay-at is a fraction of the steps in [0, 1], got {s.decay_at}")
    if s.lr <= 0 or s.lr_final < 0:
        raise UsageError(f"learning rates must be positive: --lr {s.lr}, --lr-final {s.lr_final}")


def make_optimizer(model, s: Training):
    """SGD or AdamW over the model's parameters; a model may group them (``param_groups``)."""
    params = model.param_groups(s.weight_decay) if hasattr(model, "param_groups") else None
    if s.optimizer == "sgd":
        return optim.SGD(params or model.parameters(), lr=s.lr, weight_decay=s.weight_decay)
    return optim.AdamW(params or model.parameters(), lr=s.lr, weight_decay=s.weight_decay)


def given_config(args: argparse.Namespace) -> dict[str, Any]:
    return {key: getattr(args, key) for key in CONFIG_FLAGS if getattr(args, key) is not None}


# -- checkpoints ----------------------------------------------------------------------------------


def restore_model(folder: Path, expected_type: str | None):
    """Rebuild the model saved in ``folder`` from its meta and load its weights.

    Returns ``(model, vocab, state, meta)``; a damaged checkpoint, one of another type, or weights
    that do not fit the saved configuration raise :class:`CheckpointError`.
    """
    state, meta = load_checkpoint(folder, expected_type=expected_type)
    try:
        vocab = Vocabulary.from_json(meta["vocab"])
        model = build_model(meta["type"], vocab.size, meta["config"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{folder}: does not describe a usable model ({err})") from err
    restore_training(folder, state, meta, model)
    return model, vocab, state, meta


def resolve_input(text: str) -> Path:
    """A path to a file, or the name of a data set that :mod:`gpt_from_scratch.data` knows."""
    try:
        return data.file_or_dataset(text)
    except data.DataError as err:
        raise UsageError(f"--input {err}") from None


def write_log(path: Path, records: list[dict[str, Any]]) -> None:
    """Rewrite the log, one JSON object a line, atomically."""
    atomic_write(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in records).encode())


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


# -- the run --------------------------------------------------------------------------------------


@dataclasses.dataclass
class Run:
    """Everything a training run needs, checked before anything is written to disk."""

    out: Path
    model_type: str
    config: dict[str, Any]
    vocab: Vocabulary
    settings: RunSettings
    input_path: Path
    input_sha256: str
    splits: dict[str, tuple[np.ndarray, np.ndarray]]
    model: Any
    optimizer: Any
    step: int = 0
    best_dev: float = float("inf")
    best_step: int = 0
    log: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    def meta(self, **extra) -> dict[str, Any]:
        return {
            "type": self.model_type,
            "config": self.config,
            "vocab": self.vocab.to_json(),
            "training": dataclasses.asdict(self.settings),
            "input": {"path": str(self.input_path), "sha256": self.input_sha256},
            "step": self.step,
            "best_dev_loss": self.best_dev,
            "best_step": self.best_step,
            **extra,
        }


def load_splits(input_path: Path, vocab: Vocabulary | None, block_size: int):
    """Words of the input file -> vocabulary and (X, Y) examples of train, dev and test."""
    words = load_words(input_path, vocab)
    vocab = vocab or Vocabulary.from_words(words)
    splits = examples_by_split(words, vocab, block_size, seed=SPLIT_SEED)
    if "train" not in splits or "dev" not in splits:
        raise UsageError(
            f"{input_path}: {len(words)} words are too few to set aside train and dev words "
            "(80% / 10%); give at least 10"
        )
    return vocab, splits


def new_run(args: argparse.Namespace, out: Path) -> Run:
    if (out / "last").exists() or (out / "best").exists():
        raise UsageError(
            f"{out} already holds a run: pass --resume to continue it, or another --out"
        )
    if not args.input:
        raise UsageError("a new run needs --input, a text file with one item per line")
    args.type = args.type or "wavenet"
    config = model_config(args.type, given_config(args))
    settings = run_settings(args, None)
    input_path = resolve_input(args.input)
    block_size = config.get("block_size", 1)
    vocab, splits = load_splits(input_path, None, block_size)
    manual_seed(settings.seed)
    model = build_model(args.type, vocab.size, config)
    return Run(
        out=out,
        model_type=args.type,
        config=config,
        vocab=vocab,
        settings=settings,
        input_path=input_path,
        input_sha256=sha256_file(input_path),
        splits=splits,
        model=model,
        optimizer=make_optimizer(model, settings),
    )


def resumed_run(args: argparse.Namespace, out: Path) -> Run:
    model, vocab, state, meta = restore_model(out / "last", expected_type=args.type)
    args.type = meta["type"]
    clash = {k: v for k, v in given_config(args).items() if meta["config"].get(k) != v}
    if clash:
        raise UsageError(f"{out} holds a model with {meta['config']}; it cannot change to {clash}")
    settings = run_settings(args, meta["training"])
    input_path = resolve_input(args.input or meta["input"]["path"])
    sha = sha256_file(input_path)
    if sha != meta["input"]["sha256"]:
        raise UsageError(
            f"{input_path} is not the file this run trained on (its SHA-256 differs); "
            "the train/dev split would change"
        )
    _, splits = load_splits(input_path, vocab, meta["config"].get("block_size", 1))
    optimizer = make_optimizer(model, settings)
    restore_training(out / "last", state, meta, model, optimizer)
    best_dev, best_step = meta["best_dev_loss"], meta["best_step"]
    log = [r for r in read_log(out / LOG) if r["step"] <= meta["step"] and "final" not in r]
    return Run(
        out=out,
        model_type=meta["type"],
        config=meta["config"],
        vocab=vocab,
        settings=settings,
        input_path=input_path,
        input_sha256=sha,
        splits=splits,
        model=model,
        optimizer=optimizer,
        step=meta["step"],
        best_dev=best_dev,
        best_step=best_step,
        log=log,
    )


def segment_seed(seed: int, start: int) -> int:
    """The minibatch seed of the segment that begins at ``start``: a function of both."""
    return int(np.random.SeedSequence([seed, start]).generate_state(1)[0])


def segment_batches(
    X: np.ndarray, Y: np.ndarray, batch_size: int, seed: int, every: int
) -> Batches:
    """Minibatches whose generator starts afresh, seeded by (seed, step), at the first step
    asked for and at every multiple of ``every``: where segments begin, and runs resume."""
    draw = None

    def batch(step: int) -> tuple[np.ndarray, np.ndarray]:
        nonlocal draw
        if draw is None or step % every == 0:
            draw = minibatches(X, Y, batch_size, segment_seed(seed, step))
        return draw(step)

    return batch


def end_of_segment(run: Run, bar) -> Callback:
    """The callback that closes each segment: evaluate dev, keep the best, save to resume, log."""
    s = run.settings
    started, first_of_segment = time.time(), [0]

    def callback(step: int, history: History) -> None:
        if step % s.eval_every and step != s.steps:
            return
        run.step = step
        dev = evaluate(run.model, *run.splits["dev"])
        losses = history.loss[first_of_segment[0] :]
        first_of_segment[0] = len(history.loss)
        record = {
            "step": step,
            "train_loss": float(np.mean(losses)),
            "dev_loss": dev,
            "lr": history.lr[-1],
            "seconds": round(time.time() - started, 2),
        }
        if dev < run.best_dev:
            run.best_dev, run.best_step = dev, step
            save_training(run.out / "best", run.meta(dev_loss=dev), run.model)
        save_training(run.out / "last", run.meta(dev_loss=dev), run.model, run.optimizer)
        run.log.append(record)
        write_log(run.out / LOG, run.log)
        if bar is not None:
            bar.set_postfix(loss=f"{record['train_loss']:.4f}", dev=f"{dev:.4f}")
            bar.write(f"step {step}: train {record['train_loss']:.4f}, dev {dev:.4f}")

    return callback


def train_run(run: Run, quiet: bool) -> None:
    """Train to ``settings.steps``, evaluating dev at each segment's end."""
    s = run.settings
    X, Y = run.splits["train"]
    bar = None if quiet else progress_bar(s.steps, initial=run.step)
    callbacks = ([] if bar is None else [show_progress(bar)]) + [end_of_segment(run, bar)]
    train(
        run.model,
        run.optimizer,
        segment_batches(X, Y, s.batch_size, s.seed, s.eval_every),
        s.steps,
        lr=s.learning_rates(),
        start=run.step,
        callbacks=callbacks,
    )
    if bar is not None:
        bar.close()


def final_report(run: Run) -> dict[str, Any]:
    """Train and dev loss of the best weights, appended to the log as the run's result."""
    best, _, _, meta = restore_model(run.out / "best", run.model_type)
    record = {
        "final": True,
        "step": meta["step"],
        "train_loss": evaluate(best, *run.splits["train"]),
        "dev_loss": evaluate(best, *run.splits["dev"]),
    }
    write_log(run.out / LOG, [*run.log, record])
    return record


def print_samples(folder: Path, expected_type: str | None, n: int, seed: int, temperature: float):
    model, vocab, _, meta = restore_model(folder, expected_type)
    for word in sample(model, vocab, n, seed=seed, temperature=temperature):
        print(word)
    return meta


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status (0 done, 1 bad input or checkpoint, 130 Ctrl-C)."""
    args = parse_args(argv)
    out = Path(args.out)
    try:
        if args.sample_only:
            print_samples(
                out / "best", args.type, args.num_samples, args.seed or 0, args.temperature
            )
            return 0
        run = resumed_run(args, out) if args.resume else new_run(args, out)
        describe(run)
        if run.step >= run.settings.steps:
            print(
                f"{out}: already trained for {run.step} steps; --steps N trains longer",
                file=sys.stderr,
            )
        else:
            train_run(run, args.quiet)
        result = final_report(run)
        print(
            f"best dev loss {result['dev_loss']:.4f} (train {result['train_loss']:.4f}) "
            f"at step {result['step']}; samples:",
            file=sys.stderr,
        )
        print_samples(
            out / "best", run.model_type, args.num_samples, run.settings.seed, args.temperature
        )
        return 0
    except (UsageError, CheckpointError, ValueError, OSError) as err:
        print(f"makemore: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\nmakemore: interrupted; continue with --out {out} --resume", file=sys.stderr)
        return 130


def describe(run: Run) -> None:
    n_params = run.model.num_parameters()
    sizes = ", ".join(f"{k} {len(v[1])}" for k, v in run.splits.items())
    print(
        f"{run.model_type} {run.config}: {n_params} parameters; vocabulary of {run.vocab.size}; "
        f"examples: {sizes}; step {run.step} of {run.settings.steps}",
        file=sys.stderr,
    )
