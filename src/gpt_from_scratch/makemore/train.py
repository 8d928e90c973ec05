"""The one training loop of every language model in the book, and the loss it is judged by.

Every model, from the bigram to the GPT, keeps one contract (makemore's): ``model(idx, targets)``
returns ``(logits, loss)``, with ``loss`` None when there are no targets. So one loop, one
evaluator and one sampler (:mod:`.sample`) serve them all.

The loop is told where its batches come from by a function ``batches(step) -> (x, y)``, and what
to do after a step by callbacks ``callback(step, history)``: evaluations, checkpoints, progress
bars. It does nothing else.

>>> from gpt_from_scratch.makemore.mlp import MLP
>>> from gpt_from_scratch.tensor import optim
>>> X, Y = np.zeros((8, 3), dtype=np.int64), np.ones(8, dtype=np.int64)
>>> model = MLP(vocab_size=5, block_size=3, n_embd=2, n_hidden=8)
>>> history = train(model, optim.SGD(model.parameters(), lr=0.5), minibatches(X, Y, 4), 20)
>>> len(history.loss), history.loss[-1] < history.loss[0]
(20, True)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field

import numpy as np

from gpt_from_scratch.tensor import no_grad, optim

Batches = Callable[[int], tuple[np.ndarray, np.ndarray]]
Callback = Callable[[int, "History"], None]


@dataclass
class History:
    """What a training run recorded: per step the minibatch loss and learning rate, every
    evaluation as ``evals[name] = [(step, loss), ...]`` (step = how many updates came before),
    and the seconds spent training."""

    loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    evals: dict[str, list[tuple[int, float]]] = field(default_factory=dict)
    seconds: float = 0.0

    def best(self, name: str) -> float:
        """The lowest loss evaluated on ``name`` so far (inf before the first)."""
        return min((loss for _, loss in self.evals.get(name, [])), default=float("inf"))

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, obj: dict) -> History:
        evals = {name: [tuple(e) for e in runs] for name, runs in obj["evals"].items()}
        return cls(list(obj["loss"]), list(obj["lr"]), evals, float(obj["seconds"]))


def gradient_descent(model, optimizer, batches: Batches, steps: int, lr=None) -> list:
    """The training loop with nothing but the math; returns the loss of every step.

    :func:`train` is this loop plus gradient clipping, resuming, timing and callbacks.
    """
    losses = []
    for step in range(steps):
        x, y = batches(step)  # (B, block_size), (B,)
        if lr is not None:
            optimizer.lr = lr(step)
        _, loss = model(x, y)  # forward: the mean NLL of the batch
        optimizer.zero_grad()  # forget the last step's gradients
        loss.backward()  # d loss / d parameter, for every parameter
        optimizer.step()  # parameter -= lr * gradient (SGD)
        losses.append(loss.item())
    return losses


def train_step(model, optimizer, x, y, grad_clip: float | None) -> float:
    """One step: the loss on the batch (x, y), its gradients (clipped to the global
    norm ``grad_clip`` if given), and the optimizer's update. Returns the loss."""
    _, loss = model(x, y)
    optimizer.zero_grad()
    loss.backward()
    if grad_clip is not None:
        optim.clip_grad_norm_(optimizer.parameters(), grad_clip)
    optimizer.step()
    return loss.item()


def train(
    model,
    optimizer,
    batches: Batches,
    steps: int,
    *,
    lr: Callable[[int], float] | None = None,
    grad_clip: float | None = None,
    start: int = 0,
    history: History | None = None,
    callbacks: Iterable[Callback] = (),
) -> History:
    """Train ``model`` from step ``start`` up to ``steps``; returns the History.

    Step k takes the batch ``batches(k)``, sets the learning rate to ``lr(k)`` (or
    leaves the optimizer's), and calls each callback with (k + 1, history): the
    number of updates done. A resumed run passes the ``start`` and ``history`` it
    saved.
    """
    history = history if history is not None else History()
    callbacks = list(callbacks)
    model.train()
    began, seconds_before = time.perf_counter(), history.seconds
    for step in range(start, steps):
        x, y = batches(step)
        if lr is not None:
            optimizer.lr = lr(step)
        history.loss.append(train_step(model, optimizer, x, y, grad_clip))
        history.lr.append(optimizer.lr)
        history.seconds = seconds_before + time.perf_counter() - began
        for callback in callbacks:
            callback(step + 1, history)
    return history


def minibatches(X, Y, batch_size: int | None, seed: int = 0) -> Batches:
    """Random minibatches of ``batch_size`` examples of (X, Y), drawn with
    replacement from a generator seeded by ``seed``, one batch per call;
    ``batch_size=None`` gives every example (full-batch gradient descent)."""
    check_examples(X, Y)
    rng = np.random.default_rng(seed)

    def batch(step: int) -> tuple[np.ndarray, np.ndarray]:
        if batch_size is None:
            return X, Y
        ix = rng.integers(0, len(Y), size=batch_size)
        return X[ix], Y[ix]  # (B, block_size), (B,)

    return batch


def check_examples(X: np.ndarray, Y: np.ndarray) -> None:
    """A clear error unless there are as many contexts as targets, and some."""
    if len(X) != len(Y) or len(Y) == 0:
        raise ValueError(f"need as many contexts as targets, and some: {len(X)}, {len(Y)}")


@no_grad()
def evaluate(model, X, Y, batch_size: int = 8192) -> float:
    """The mean loss of targets ``Y`` given contexts ``X``, over every example.

    Runs in eval mode (batch norm uses its running statistics, dropout is off)
    without building a graph, ``batch_size`` examples at a time.
    """
    check_examples(X, Y)
    total = 0.0
    with model.mode(training=False):
        for first in range(0, len(Y), batch_size):
            y = Y[first : first + batch_size]
            _, loss = model(X[first : first + batch_size], y)
            total += loss.item() * y.size
    return total / Y.size


def evaluate_every(
    model,
    every: int,
    last: int,
    sets: dict[str, tuple[np.ndarray, np.ndarray]],
    batch_size: int = 8192,
) -> Callback:
    """A callback that evaluates ``model`` on each of ``sets`` every ``every`` steps
    and after step ``last``, appending (step, loss) to ``history.evals[name]``."""

    def callback(step: int, history: History) -> None:
        if step % every == 0 or step == last:
            for name, (X, Y) in sets.items():
                loss = evaluate(model, X, Y, batch_size)
                history.evals.setdefault(name, []).append((step, loss))

    return callback
