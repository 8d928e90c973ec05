"""The training loop every makemore model shares, and the loss it is judged by.

A model is an ``nn.Module`` that maps contexts ``X`` (a numpy int array of shape
(B, block_size)) to logits of shape (B, vocab_size). Training draws random minibatches of
examples, follows a learning-rate schedule, and records a :class:`History` of the loss.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from gpt_from_scratch.tensor import functional as F
from gpt_from_scratch.tensor import no_grad, optim


@dataclass
class History:
    """What a training run recorded: per step the minibatch loss and learning rate, and every
    evaluation as ``evals[name] = [(step, loss), ...]`` (step = how many updates came before)."""

    loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    evals: dict[str, list[tuple[int, float]]] = field(default_factory=dict)


def step_decay(first: float, then: float, at: int) -> Callable[[int], float]:
    """The lecture's schedule: learning rate ``first`` for steps before ``at``, ``then`` after.

    >>> schedule = step_decay(0.1, 0.01, at=100)
    >>> schedule(99), schedule(100)
    (0.1, 0.01)
    """
    return lambda step: first if step < at else then


def evaluate(model, X: np.ndarray, Y: np.ndarray, batch_size: int = 8192) -> float:
    """The mean negative log-likelihood of targets ``Y`` given contexts ``X``.

    Runs in eval mode (batch norm uses its running statistics, dropout is off) without
    building a graph, a chunk of ``batch_size`` examples at a time; restores the model's mode.
    """
    if len(X) != len(Y) or len(Y) == 0:
        raise ValueError(f"need as many contexts as targets, at least one: {len(X)} vs {len(Y)}")
    was_training = model.training
    model.eval()
    total = 0.0
    try:
        with no_grad():
            for start in range(0, len(Y), batch_size):
                x, y = X[start : start + batch_size], Y[start : start + batch_size]
                total += F.cross_entropy(model(x), y).item() * len(y)
    finally:
        model.train(was_training)
    return total / len(Y)


def make_optimizer(optimizer, params, lr: float):
    """``"sgd"`` or ``"adamw"`` by name, or an optimizer that is already built."""
    if optimizer == "sgd":
        return optim.SGD(params, lr=lr)
    if optimizer == "adamw":
        return optim.AdamW(params, lr=lr)
    if isinstance(optimizer, str):
        raise ValueError(f"unknown optimizer {optimizer!r}; use 'sgd', 'adamw' or an instance")
    return optimizer


def train(
    model,
    X: np.ndarray,
    Y: np.ndarray,
    *,
    steps: int,
    batch_size: int | None,
    lr: float | Callable[[int], float],
    optimizer="sgd",
    eval_every: int | None = None,
    eval_sets: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    seed: int = 0,
    progress: bool = False,
    callback: Callable[[int, History], None] | None = None,
) -> History:
    """Minibatch gradient descent on the cross-entropy of ``model`` over examples ``(X, Y)``.

    Each step draws ``batch_size`` examples at random (with a generator seeded by ``seed``;
    ``batch_size=None`` uses every example, full-batch gradient descent), sets the learning rate
    to ``lr(step)`` (or the constant ``lr``), and takes one optimizer step. Every ``eval_every``
    steps, and after the last one, each of ``eval_sets`` is evaluated with :func:`evaluate`.
    ``callback(step, history)``, if given, runs after every step.
    """
    if len(X) != len(Y) or len(Y) == 0:
        raise ValueError(f"need as many contexts as targets, at least one: {len(X)} vs {len(Y)}")
    schedule = lr if callable(lr) else (lambda step: lr)
    opt = make_optimizer(optimizer, model.parameters(), schedule(0))
    rng = np.random.default_rng(seed)
    history = History(evals={name: [] for name in eval_sets or {}})
    model.train()
    bar = _progress_bar(steps) if progress else None
    for step in range(steps):
        if batch_size is None:
            x, y = X, Y
        else:
            ix = rng.integers(0, len(Y), size=batch_size)
            x, y = X[ix], Y[ix]  # (B, block_size), (B,)
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.lr = schedule(step)
        opt.step()
        history.loss.append(loss.item())
        history.lr.append(opt.lr)
        done = step + 1
        if eval_sets and ((eval_every and done % eval_every == 0) or done == steps):
            for name, (X_eval, Y_eval) in eval_sets.items():
                history.evals[name].append((done, evaluate(model, X_eval, Y_eval)))
        if callback is not None:
            callback(step, history)
        if bar is not None:
            bar.update(1)
            if done % 100 == 0 or done == steps:
                bar.set_postfix(loss=f"{np.mean(history.loss[-100:]):.4f}", lr=f"{opt.lr:.3g}")
    if bar is not None:
        bar.close()
    return history


def _progress_bar(steps: int):
    from tqdm import tqdm  # only the command line asks for a progress bar

    return tqdm(total=steps, desc="training", unit="step", mininterval=1.0)
