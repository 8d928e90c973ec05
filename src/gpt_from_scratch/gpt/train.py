"""Training a GPT: random batches, AdamW, warmup and cosine decay, clipping, evaluation,
checkpoints of the best model, and resuming.

>>> from gpt_from_scratch.gpt.config import GPTConfig
>>> from gpt_from_scratch.gpt.model import GPT
>>> data = np.arange(200) % 5
>>> model = GPT(GPTConfig(vocab_size=5, block_size=8, n_layer=1, n_head=1, n_embd=8))
>>> history = train(model, data, data, TrainConfig(max_iters=5, batch_size=4, eval_interval=5,
...                                                eval_iters=1))
>>> len(history.loss), history.evals[-1][0]
(5, 5)
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from gpt_from_scratch.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from gpt_from_scratch.gpt.config import GPTConfig
from gpt_from_scratch.gpt.data import CharVocab, get_batch
from gpt_from_scratch.gpt.model import GPT
from gpt_from_scratch.tensor import manual_seed, no_grad, optim

CHECKPOINT_TYPE = "gpt"


@dataclass(frozen=True)
class TrainConfig:
    """How to train. The defaults are nanoGPT's Tiny Shakespeare settings, CPU-sized, except
    the peak learning rate: 3e-3 instead of nanoGPT's 1e-3. A 2000-step run stops long before
    this small model converges, and the larger steps get further in that time."""

    max_iters: int = 2000
    batch_size: int = 12
    lr: float = 3e-3
    min_lr: float = 3e-4  # the cosine decay ends here, lr / 10
    warmup_iters: int = 100
    lr_decay_iters: int | None = None  # where the cosine ends; None: at max_iters
    weight_decay: float = 0.1
    beta2: float = 0.99  # a little below Adam's 0.999: few tokens per batch, noisy gradients
    grad_clip: float = 1.0
    eval_interval: int = 250
    eval_iters: int = 20  # batches per loss estimate
    seed: int = 1337

    def __post_init__(self):
        for name in ("max_iters", "batch_size", "eval_interval", "eval_iters"):
            if getattr(self, name) < 1:
                raise ValueError(
                    f"TrainConfig.{name} must be at least 1, got {getattr(self, name)}"
                )

    def lr_at(self, step: int) -> float:
        decay_end = self.lr_decay_iters or self.max_iters
        return optim.cosine_lr(step, self.lr, self.warmup_iters, decay_end, self.min_lr)


@dataclass
class History:
    """What a run recorded: the training loss of every step, and (step, train, val) estimates."""

    loss: list[float] = field(default_factory=list)
    evals: list[tuple[int, float, float]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def best_val(self) -> float:
        return min((v for _, _, v in self.evals), default=float("inf"))


def batch_rng(seed: int, step: int) -> np.random.Generator:
    """The generator of step ``step``'s batch: a function of (seed, step) only, so that a resumed
    run draws exactly the batches the uninterrupted run would have drawn."""
    return np.random.default_rng([seed, step])


@no_grad()
def estimate_loss(model, data: np.ndarray, batch_size: int, iters: int, seed: int) -> float:
    """Mean loss over ``iters`` random batches, in evaluation mode (no dropout)."""
    was_training = model.training
    model.eval()
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(iters):
        x, y = get_batch(data, model.block_size, batch_size, rng)
        losses.append(model(x, y)[1].item())
    model.train(was_training)
    return float(np.mean(losses))


def train_step(model, optimizer, x: np.ndarray, y: np.ndarray, grad_clip: float) -> float:
    """One step: the loss on the batch (x, y), its gradients clipped to norm ``grad_clip``, and
    the optimizer's update. Returns the loss."""
    _, loss = model(x, y)
    optimizer.zero_grad()
    loss.backward()
    optim.clip_grad_norm_(optimizer.parameters(), grad_clip)
    optimizer.step()
    return loss.item()


def train(
    model,
    train_data: np.ndarray,
    val_data: np.ndarray,
    config: TrainConfig,
    *,
    out_dir: str | Path | None = None,
    vocab: CharVocab | None = None,
    resume: bool = False,
    progress: bool = False,
) -> History:
    """Train ``model`` for ``config.max_iters`` steps; returns the :class:`History`.

    Every ``eval_interval`` steps (and at the end) the train and val losses are estimated; with
    ``out_dir`` the model is saved there whenever the val loss is the best so far. With
    ``resume``, training continues from the checkpoint in ``out_dir`` (weights, optimizer state,
    step, history), which must hold a model of the same configuration.
    """
    optimizer = model.configure_optimizer(config.lr, config.weight_decay, (0.9, config.beta2))
    history, start = History(), 0
    if resume:
        if out_dir is None:
            raise ValueError("resume needs the out_dir of the run to continue")
        start, history = load_training_state(out_dir, model, optimizer, vocab)
    steps = range(start, config.max_iters)
    if progress:
        from tqdm import tqdm

        steps = tqdm(steps, initial=start, total=config.max_iters, desc="train", unit="it")
    model.train()
    began = time.perf_counter()
    for step in steps:
        x, y = get_batch(
            train_data, model.block_size, config.batch_size, batch_rng(config.seed, step)
        )
        optimizer.lr = config.lr_at(step)
        history.loss.append(train_step(model, optimizer, x, y, config.grad_clip))
        done = step + 1
        if done % config.eval_interval == 0 or done == config.max_iters:
            train_loss, val_loss = (
                estimate_loss(model, d, config.batch_size, config.eval_iters, config.seed + done)
                for d in (train_data, val_data)
            )
            improved = val_loss < history.best_val
            history.evals.append((done, train_loss, val_loss))
            if progress:
                steps.set_postfix(train=f"{train_loss:.4f}", val=f"{val_loss:.4f}")
            if out_dir is not None and improved:
                save_training_state(out_dir, model, optimizer, done, history, config, vocab)
    history.seconds += time.perf_counter() - began
    return history


def save_training_state(out_dir, model, optimizer, step, history, config, vocab) -> None:
    """The model, AdamW's moments and the run's history, as one checkpoint."""
    state = {f"model.{name}": array for name, array in model.state_dict().items()}
    names = {id(p): name for name, p in model.named_parameters()}
    for p in optimizer.parameters():
        if id(p) in optimizer.m:
            state[f"adam_m.{names[id(p)]}"] = optimizer.m[id(p)]
            state[f"adam_v.{names[id(p)]}"] = optimizer.v[id(p)]
    meta = {
        "type": CHECKPOINT_TYPE,
        "config": model.config.to_json(),
        "train_config": asdict(config),
        "vocab": vocab.to_json() if vocab is not None else None,
        "step": step,
        "adam_t": optimizer.t,
        "history": {"loss": history.loss, "evals": history.evals, "seconds": history.seconds},
    }
    save_checkpoint(out_dir, state, meta)


def load_training_state(out_dir, model, optimizer, vocab=None) -> tuple[int, History]:
    """Restore a checkpoint written by :func:`save_training_state`; returns (step, history)."""
    state, meta = load_checkpoint(out_dir, expected_type=CHECKPOINT_TYPE)
    check_config(meta, model.config, out_dir)
    if vocab is not None and meta.get("vocab") != vocab.to_json():
        raise CheckpointError(
            f"{out_dir}: the checkpoint was trained on another text (its vocabulary differs)"
        )
    load_weights(model, state, out_dir)
    names = {id(p): name for name, p in model.named_parameters()}
    for p in optimizer.parameters():
        key = names[id(p)]
        if f"adam_m.{key}" in state:
            optimizer.m[id(p)] = state[f"adam_m.{key}"].astype(p.data.dtype)
            optimizer.v[id(p)] = state[f"adam_v.{key}"].astype(p.data.dtype)
    optimizer.t = int(meta["adam_t"])
    saved = meta["history"]
    history = History(saved["loss"], [tuple(e) for e in saved["evals"]], saved["seconds"])
    return int(meta["step"]), history


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


def load_weights(model, state: dict, where) -> None:
    weights = {k.removeprefix("model."): v for k, v in state.items() if k.startswith("model.")}
    try:
        model.load_state_dict(weights)
    except KeyError as err:
        raise CheckpointError(f"{where}: the weights do not fit the model: {err.args[0]}") from None


def load_model(out_dir) -> tuple[GPT, CharVocab, dict]:
    """The GPT and vocabulary saved in ``out_dir``, ready to sample from; and the metadata."""
    state, meta = load_checkpoint(out_dir, expected_type=CHECKPOINT_TYPE)
    try:
        config = GPTConfig.from_json(meta["config"])
        vocab = CharVocab.from_json(meta["vocab"])
    except (KeyError, TypeError, ValueError) as err:
        raise CheckpointError(f"{out_dir}: the checkpoint's metadata is damaged ({err})") from None
    if vocab.size != config.vocab_size:
        raise CheckpointError(
            f"{out_dir}: the vocabulary has {vocab.size} characters but the model "
            f"{config.vocab_size} tokens"
        )
    manual_seed(0)
    model = GPT(config)
    load_weights(model, state, out_dir)
    model.eval()
    return model, vocab, meta
