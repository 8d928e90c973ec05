"""``python -m gpt_from_scratch.makemore``: train a model on any list of words, resume, sample.

::

    python -m gpt_from_scratch.makemore --input names --out runs/wavenet --type wavenet
    python -m gpt_from_scratch.makemore --out runs/wavenet --resume --steps 300000
    python -m gpt_from_scratch.makemore --out runs/wavenet --sample-only --num-samples 10

The input is a UTF-8 text file with one item per line (or the name of a data set of
:mod:`gpt_from_scratch.data`, such as ``names``). Its words are split 80/10/10 into
train/dev/test with a fixed seed (42), so every run on the same file is judged on the same dev
words. The output folder is a :class:`gpt_from_scratch.runs.RunFolder` (a pointer file, a lock
and one folder of safetensors files per saved step, the last ``--keep`` and the best by dev
loss), plus ``log.jsonl``: one JSON object per evaluation (step, train and dev loss, lr,
seconds).

Training is one run of the book's training loop, cut into segments that end at each evaluation;
segment k draws its minibatches from a generator seeded by (seed, first step of k). Checkpoints
are written at segment ends, so a resumed run continues exactly as the uninterrupted run would
have, bit for bit.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from gpt_from_scratch import data
from gpt_from_scratch.checkpoint import CheckpointError, restore_training
from gpt_from_scratch.commands import cli
from gpt_from_scratch.commands.cli import UsageError
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
from gpt_from_scratch.runs import RunFolder
from gpt_from_scratch.tensor import manual_seed, optim

SPLIT_SEED = 42
LOG = "log.jsonl"
# Command-line flags that set the model's configuration (a model takes some of them), with
# the largest value each may take.
CONFIG_FLAGS = {
    "block_size": 1024,
    "n_embd": 1 << 16,
    "n_hidden": 1 << 16,
    "n_embd2": 1 << 16,
    "n_layer": 1000,
    "n_head": 1 << 12,
    "dropout": 0.99,
}
META_KEYS = ("type", "config", "vocab", "training", "input", "step", "best_dev_loss", "best_step")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    types = "\n".join(f"  {name:12} {entry.about}" for name, entry in MODEL_TYPES.items())
    p = cli.Parser(
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
    p.add_argument("--seed", type=cli.seed, help="seed for initialization and minibatches (0)")
    p.add_argument("--keep", type=cli.integer(1, 1000), default=2, help="recent checkpoints kept")
    g = p.add_argument_group("training (defaults depend on --type; on --resume, the saved run's)")
    g.add_argument("--steps", type=cli.count, help="total optimizer steps")
    g.add_argument("--batch-size", type=cli.integer(1, 1 << 20), help="examples per step")
    g.add_argument("--optimizer", choices=["sgd", "adamw"])
    g.add_argument("--lr", type=cli.real(0.0, 1e3), help="learning rate (the peak, for cosine)")
    g.add_argument("--lr-final", type=cli.real(0.0, 1e3), help="learning rate at the end")
    g.add_argument("--schedule", choices=["step", "cosine", "constant"], help="lr schedule")
    g.add_argument("--decay-at", type=cli.fraction, help="step schedule: fraction of steps at --lr")
    g.add_argument("--warmup-steps", type=cli.integer(0), help="cosine: linear warmup steps")
    g.add_argument("--weight-decay", type=cli.real(0.0, 10.0, low_open=False), help="AdamW's")
    g.add_argument("--eval-every", type=cli.count, help="steps between dev evaluations (5000)")
    m = p.add_argument_group("model size (each type takes some of these)")
    for key, most in CONFIG_FLAGS.items():
        kind = cli.real(0.0, most, low_open=False) if key == "dropout" else cli.integer(1, most)
        metavar = "P" if key == "dropout" else "N"
        m.add_argument("--" + key.replace("_", "-"), type=kind, dest=key, metavar=metavar)
    s = p.add_argument_group("sampling")
    s.add_argument("--num-samples", type=cli.integer(0, 10**6), default=20, help="words (20)")
    s.add_argument("--temperature", type=cli.positive, default=1.0, help="softmax's (1.0)")
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
    rates = {"--lr": s.lr, "--lr-final": s.lr_final}
    if not all(math.isfinite(rate) and rate > 0 for rate in rates.values()):
        raise UsageError(f"learning rates must be finite and positive: {rates}")


def make_optimizer(model, s: Training):
    """SGD or AdamW over the model's parameters; a model may group them (``param_groups``)."""
    params = model.param_groups(s.weight_decay) if hasattr(model, "param_groups") else None
    if s.optimizer == "sgd":
        return optim.SGD(params or model.parameters(), lr=s.lr, weight_decay=s.weight_decay)
    return optim.AdamW(params or model.parameters(), lr=s.lr, weight_decay=s.weight_decay)


def given_config(args: argparse.Namespace) -> dict[str, Any]:
    return {key: getattr(args, key) for key in CONFIG_FLAGS if getattr(args, key) is not None}


# -- checkpoints ----------------------------------------------------------------------------------


def restore_model(run: RunFolder, which: str, expected_type: str | None):
    """Rebuild the model of the run's ``which`` checkpoint from its meta and load its weights.

    Returns ``(model, vocab, arrays, meta)``; a damaged checkpoint, one of another type, or
    weights that do not fit the saved configuration raise :class:`CheckpointError`.
    """
    arrays, meta = run.load(which, expected_type=expected_type, required=META_KEYS)
    folder = run.folder(which)
    try:
        vocab = Vocabulary.from_json(meta["vocab"])
        model = build_model(meta["type"], vocab.size, meta["config"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{folder}: does not describe a usable model ({err})") from None
    restore_training(folder, arrays, meta, model)
    return model, vocab, arrays, meta


def write_log(path: Path, records: list[dict[str, Any]]) -> None:
    """Rewrite the log, one JSON object a line, atomically."""
    atomic_write(path, "".join(json.dumps(r, sort_keys=True) + "\n" for r in records).encode())


def read_log(path: Path) -> list[dict[str, Any]]:
    """The records of a log, or a :class:`CheckpointError` naming the damaged line."""
    if not path.exists():
        return []
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            record = json.loads(line)
            if not isinstance(record, dict) or not isinstance(record.get("step"), int):
                raise ValueError("not an object with an integer 'step'")
        except ValueError as err:
            raise CheckpointError(f"{path}, line {number}: damaged log record ({err})") from None
        records.append(record)
    return records


# -- the run --------------------------------------------------------------------------------------


@dataclasses.dataclass
class Run:
    """Everything a training run needs, checked before anything is written to disk."""

    out: RunFolder
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


def split_examples(input_path: Path, words: list[str], vocab: Vocabulary, block_size: int):
    """The words of the input file -> (X, Y) examples of train, dev and test."""
    splits = examples_by_split(words, vocab, block_size, seed=SPLIT_SEED)
    if "train" not in splits or "dev" not in splits:
        raise ValueError(
            f"{input_path}: {len(words)} words are too few to set aside train and dev words "
            "(80% / 10%); give at least 10"
        )
    return splits


def examples_bytes(n_characters: int, config: dict[str, Any], vocab_size: int, batch: int):
    """About how many bytes the examples, a training step and an evaluation need: (N,
    block_size) int64 contexts, the parameters four times over (weights, gradients, two
    moments), each layer's activations for a batch, and for all the examples at once (dev and
    train are evaluated whole); an estimate that errs high, to refuse what cannot fit."""
    T, C = config.get("block_size", 1), config.get("n_embd", vocab_size)
    H, L = config.get("n_hidden", config.get("n_embd2", 4 * C)), config.get("n_layer", 1)
    parameters = vocab_size * C + T * C * H + H * vocab_size + L * (12 * C * C + H * H)
    activations = batch * T * (C + H) * L * 8
    evaluation = n_characters * T * (C + H)
    return 8 * 2 * n_characters * T + 4 * (4 * parameters + activations + evaluation)


def new_run(args: argparse.Namespace, out: RunFolder) -> Run:
    if not args.input:
        raise UsageError("a new run needs --input, a text file with one item per line")
    args.type = args.type or "wavenet"
    try:
        config = model_config(args.type, given_config(args))
    except ValueError as err:
        raise UsageError(str(err)) from None
    settings = run_settings(args, None)
    input_path = data.file_or_dataset(args.input)
    block_size = config.get("block_size", 1)
    words = load_words(input_path)
    vocab = Vocabulary.from_words(words)
    n_characters = sum(len(word) + 1 for word in words)
    cli.check_memory(
        examples_bytes(n_characters, config, vocab.size, settings.batch_size),
        f"--type {args.type} with {config} on {n_characters:,} characters",
    )
    splits = split_examples(input_path, words, vocab, block_size)
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


def resumed_run(args: argparse.Namespace, out: RunFolder) -> Run:
    model, vocab, arrays, meta = restore_model(out, "last", expected_type=args.type)
    args.type = meta["type"]
    clash = {k: v for k, v in given_config(args).items() if meta["config"].get(k) != v}
    if clash:
        raise UsageError(
            f"{out.path} holds a model with {meta['config']}; it cannot change to {clash}"
        )
    settings = run_settings(args, meta["training"])
    input_path = data.file_or_dataset(args.input or meta["input"]["path"])
    sha = sha256_file(input_path)
    if sha != meta["input"]["sha256"]:
        raise UsageError(
            f"{input_path} is not the file this run trained on (its SHA-256 differs); "
            "the train/dev split would change"
        )
    words = load_words(input_path, vocab)
    splits = split_examples(input_path, words, vocab, meta["config"].get("block_size", 1))
    optimizer = make_optimizer(model, settings)
    restore_training(out.folder("last"), arrays, meta, model, optimizer)
    best_dev, best_step = meta["best_dev_loss"], meta["best_step"]
    log = [r for r in read_log(out.path / LOG) if r["step"] <= meta["step"] and "final" not in r]
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
        best = dev < run.best_dev
        if best:
            run.best_dev, run.best_step = dev, step
        run.out.save_training(step, run.meta(dev_loss=dev), run.model, run.optimizer, best=best)
        run.log.append(record)
        write_log(run.out.path / LOG, run.log)
        if bar is not None:
            bar.set_postfix(loss=f"{record['train_loss']:.4f}", dev=f"{dev:.4f}")
            bar.write(f"step {step}: train {record['train_loss']:.4f}, dev {dev:.4f}")

    return callback


def train_run(run: Run, quiet: bool) -> None:
    """Train to ``settings.steps``, evaluating dev at each segment's end."""
    s = run.settings
    X, Y = run.splits["train"]
    bar = None if quiet else progress_bar(s.steps, initial=run.step)
    callbacks = [cli.stop_if_diverged(run.out), end_of_segment(run, bar)]
    callbacks += [] if bar is None else [show_progress(bar)]
    try:
        train(
            run.model,
            run.optimizer,
            segment_batches(X, Y, s.batch_size, s.seed, s.eval_every),
            s.steps,
            lr=s.learning_rates(),
            start=run.step,
            callbacks=callbacks,
        )
    except KeyboardInterrupt:
        message = f"interrupted; {cli.kept(run.out)}: continue with --out {run.out.path} --resume"
        raise cli.Interrupted(message) from None
    finally:
        if bar is not None:
            bar.close()


def final_report(run: Run) -> dict[str, Any]:
    """Train, dev and test loss of the best weights, appended to the log as the run's result
    (the test loss once, here, for the weights the dev split chose)."""
    best, _, _, meta = restore_model(run.out, "best", run.model_type)
    record = {"final": True, "step": meta["step"]}
    for split, examples in run.splits.items():
        record[f"{split}_loss"] = evaluate(best, *examples)
    write_log(run.out.path / LOG, [*run.log, record])
    return record


def print_samples(run: RunFolder, expected_type: str | None, n: int, seed: int, temperature):
    model, vocab, _, meta = restore_model(run, "best", expected_type)
    for word in sample(model, vocab, n, seed=seed, temperature=temperature):
        print(word)
    return meta


def train_and_report(args: argparse.Namespace) -> None:
    """The command's body: sample only, or train (new or resumed), report and sample."""
    out = RunFolder(args.out, keep=args.keep)
    if args.sample_only:
        print_samples(out, args.type, args.num_samples, args.seed or 0, args.temperature)
        return
    with out.lock():
        cli.claim(out, args.resume, also=(LOG,))
        run = resumed_run(args, out) if args.resume else new_run(args, out)
        describe(run)
        if run.step >= run.settings.steps:
            print(
                f"{out.path}: already trained for {run.step} steps; --steps N trains longer",
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
    print_samples(out, run.model_type, args.num_samples, run.settings.seed, args.temperature)


def main(argv: list[str] | None = None) -> int:
    """Run the command; the exit status is :mod:`~gpt_from_scratch.commands.cli`'s."""
    return cli.run(train_and_report, parse_args(argv))


def describe(run: Run) -> None:
    n_params = run.model.num_parameters()
    sizes = ", ".join(f"{k} {len(v[1])}" for k, v in run.splits.items())
    print(
        f"{run.model_type} {run.config}: {n_params} parameters; vocabulary of {run.vocab.size}; "
        f"examples: {sizes}; step {run.step} of {run.settings.steps}",
        file=sys.stderr,
    )
