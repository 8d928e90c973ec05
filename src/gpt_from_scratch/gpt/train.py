"""Training a GPT: nanoGPT's recipe on the book's one training loop.

Random windows of the text as batches, AdamW with weight decay on the matrices only, warmup
then cosine decay of the learning rate, gradient clipping, and estimates of the train and
validation loss every ``eval_interval`` steps. The loop itself is makemore's
(:func:`gpt_from_scratch.makemore.train.train`); checkpoints and progress bars are callbacks
that the command adds (:mod:`gpt_from_scratch.commands.gpt`).

>>> from gpt_from_scratch.gpt.config import GPTConfig
>>> from gpt_from_scratch.gpt.model import GPT
>>> data = np.arange(200) % 5
>>> model = GPT(GPTConfig(vocab_size=5, block_size=8, n_layer=1, n_head=1, n_embd=8))
>>> history = fit(model, data, data, TrainConfig(max_iters=5, batch_size=4, eval_interval=5,
...                                              eval_iters=1))
>>> len(history.loss), history.evals["val"][-1][0]
(5, 5)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from gpt_from_scratch.gpt.data import get_batch
from gpt_from_scratch.makemore.train import Batches, Callback, History, evaluate, train
from gpt_from_scratch.tensor import optim


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

    def schedule(self):
        """The learning rate of each step: warmup, then cosine decay to ``min_lr``."""
        decay_end = self.lr_decay_iters or self.max_iters
        return optim.warmup_cosine(self.lr, self.warmup_iters, decay_end, self.min_lr)


def random_windows(data: np.ndarray, block_size: int, batch_size: int, seed: int) -> Batches:
    """The batches of training: step k's windows are drawn with a generator seeded by (seed, k)
    alone, so a resumed run draws exactly the batches the uninterrupted run would have."""
    return lambda step: get_batch(data, block_size, batch_size, np.random.default_rng([seed, step]))


def estimate_loss(model, data: np.ndarray, batch_size: int, iters: int, seed: int) -> float:
    """The mean loss over ``iters`` random batches of ``data``, in evaluation mode."""
    rng = np.random.default_rng(seed)
    windows = [get_batch(data, model.block_size, batch_size, rng) for _ in range(iters)]
    X, Y = (np.concatenate(part) for part in zip(*windows, strict=True))  # (iters * B, T)
    return evaluate(model, X, Y, batch_size=batch_size)


def estimate_every(model, train_data, val_data, config: TrainConfig) -> Callback:
    """A callback: the train and val losses estimated every ``eval_interval`` steps and after
    the last, into ``history.evals["train"]`` and ``["val"]``."""

    def callback(step: int, history: History) -> None:
        if step % config.eval_interval == 0 or step == config.max_iters:
            for name, data in (("train", train_data), ("val", val_data)):
                loss = estimate_loss(
                    model, data, config.batch_size, config.eval_iters, config.seed + step
                )
                history.evals.setdefault(name, []).append((step, loss))

    return callback


def make_optimizer(model, config: TrainConfig):
    """The model's AdamW (decay on matrices only) with the recipe's settings."""
    return model.configure_optimizer(config.lr, config.weight_decay, (0.9, config.beta2))


def fit(
    model,
    train_data: np.ndarray,
    val_data: np.ndarray,
    config: TrainConfig,
    *,
    optimizer=None,
    start: int = 0,
    history: History | None = None,
    callbacks: Iterable[Callback] = (),
) -> History:
    """Train ``model`` for ``config.max_iters`` steps with the recipe: the History.

    A resumed run passes the ``optimizer``, ``start`` step and ``history`` it restored.
    """
    optimizer = optimizer if optimizer is not None else make_optimizer(model, config)
    block, batch = model.block_size, config.batch_size
    estimates = estimate_every(model, train_data, val_data, config)
    return train(
        model,
        optimizer,
        random_windows(train_data, block, batch, config.seed),
        config.max_iters,
        lr=config.schedule(),
        grad_clip=config.grad_clip,
        start=start,
        history=history,
        callbacks=[estimates, *callbacks],
    )
