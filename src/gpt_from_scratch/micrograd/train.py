"""Losses and the training loop for the scalar networks of `nn`.

These functions only use `+`, `-`, `*`, `**`, `relu()`, `backward()`, `parameters()` and
`zero_grad()`, so they run unchanged on any micrograd-style engine (the benchmark feeds
them the `micrograd` package from PyPI).
"""


def mse_loss(predictions, targets):
    """Sum of squared errors, sum_i (prediction_i - target_i)^2."""
    return sum((p - t) ** 2 for p, t in zip(predictions, targets, strict=True))


def hinge_loss(scores, labels):
    """Mean max-margin (SVM) loss, mean_i max(0, 1 - y_i s_i), for labels y_i = -1 or 1.

    It is zero for a point on the right side of the boundary by a margin of at least 1,
    so points already classified with confidence stop pulling on the weights.

    >>> from gpt_from_scratch.micrograd.engine import Value
    >>> hinge_loss([Value(2.0), Value(0.5)], [1.0, -1.0]).data  # (0 + 1.5) / 2
    0.75
    """
    margins = [(1 - y * s).relu() for s, y in zip(scores, labels, strict=True)]
    return sum(margins) * (1.0 / len(margins))


def accuracy(scores, labels):
    """Fraction of points whose score has the sign of their label."""
    hits = sum((s.data > 0) == (y > 0) for s, y in zip(scores, labels, strict=True))
    return hits / len(labels)


def sgd_update(parameters, learning_rate):
    """One step of gradient descent: move every parameter against its gradient."""
    for p in parameters:
        p.data -= learning_rate * p.grad


def training_step(model, xs, ys, learning_rate, loss_fn):
    """Forward over the whole batch, loss, zero_grad, backward, update.

    Returns (loss, scores).

    `xs` is a list of input lists of Python floats and `ys` a list of targets.
    """
    scores = [model(x) for x in xs]
    loss = loss_fn(scores, ys)
    model.zero_grad()
    loss.backward()
    sgd_update(model.parameters(), learning_rate)
    return loss.data, scores


def fit(model, xs, ys, steps, learning_rate, loss_fn, decay=0.0, callback=None):
    """`steps` training steps; the learning rate falls linearly to (1 - decay) of its
    start.

    Returns the history: a dict of lists "loss" and "accuracy", one entry per step, both
    measured on the batch before that step's update. `callback(step, history)`, if
    given, runs after every step (the command moves a progress bar with it).
    """
    history = {"loss": [], "accuracy": []}
    for step in range(steps):
        rate = learning_rate * (1.0 - decay * step / steps)
        loss, scores = training_step(model, xs, ys, rate, loss_fn)
        history["loss"].append(loss)
        history["accuracy"].append(accuracy(scores, ys))
        if callback is not None:
            callback(step + 1, history)
    return history
