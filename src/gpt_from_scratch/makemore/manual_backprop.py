"""Backpropagation by hand through the two-layer MLP with batch normalization.

The forward pass (:func:`forward`) is cut into atomic steps, each a line of numpy whose
result is kept in a cache; :func:`backward` walks the steps in reverse and computes the
gradient of the loss with respect to every one of them with the chain rule, by hand.
:func:`backward_fused` does the same with two shortcuts derived on paper, the fused
backward of cross-entropy (:func:`cross_entropy_backward`) and of batch normalization
(:func:`batchnorm_backward`), the formulas of the engine's ``F.cross_entropy`` and
``F.batch_norm``. :func:`engine_forward` builds the same steps with the tensor engine,
so that autograd can check every hand-written gradient (:func:`compare_gradients`,
:func:`report`), and :func:`train_manual` trains the network with no autograd at all.
The chapter's exercises start from the blanks of
:mod:`gpt_from_scratch.makemore.backprop_exercises`.

>>> params = init_params(vocab_size=5, n_embd=2, n_hidden=4, seed=0)
>>> X = np.array([[0, 1, 2], [3, 4, 0], [1, 1, 1]]); Y = np.array([1, 0, 4])
>>> loss, cache = forward(params, X, Y)
>>> grads = backward(params, cache, X, Y)
>>> sorted(grads)[:4]
['C', 'W1', 'W2', 'b1']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from gpt_from_scratch.makemore.activations import kaiming_std
from gpt_from_scratch.makemore.train import minibatches
from gpt_from_scratch.tensor import Tensor, optim
from gpt_from_scratch.tensor import functional as F

EPS = 1e-5
"""Added to the batch variance before the square root, as in ``nn.BatchNorm1d``."""

PARAM_NAMES = ("C", "W1", "b1", "bngain", "bnbias", "W2", "b2")

Arrays = dict[str, np.ndarray]


def init_params(
    vocab_size: int,
    block_size: int = 3,
    n_embd: int = 10,
    n_hidden: int = 64,
    seed: int = 0,
) -> Arrays:
    """The network's parameters, float64, drawn with a generator seeded by ``seed``.

    Biases, the batch-norm gain and its bias start as small random numbers rather than
    exact zeros and ones: a wrong gradient formula cannot hide behind a zero.
    """
    gen = np.random.default_rng(seed)
    fan_in = block_size * n_embd
    return {
        "C": gen.standard_normal((vocab_size, n_embd)),
        "W1": gen.standard_normal((fan_in, n_hidden)) * kaiming_std(fan_in),
        "b1": gen.standard_normal(n_hidden) * 0.1,  # useless before batch norm
        "bngain": 1.0 + gen.standard_normal(n_hidden) * 0.1,
        "bnbias": gen.standard_normal(n_hidden) * 0.1,
        "W2": gen.standard_normal((n_hidden, vocab_size)) * 0.1,
        "b2": gen.standard_normal(vocab_size) * 0.1,
    }


def forward(params: Arrays, X: np.ndarray, Y: np.ndarray) -> tuple[float, Arrays]:
    """The loss of the batch ``(X, Y)`` and a cache holding every intermediate step.

    Batch normalization uses the batch's own statistics (training mode); its variance is
    the biased one, the mean of squared deviations, as in the engine's ``F.batch_norm``.
    """
    C, W1, b1 = params["C"], params["W1"], params["b1"]
    bngain, bnbias = params["bngain"], params["bnbias"]
    W2, b2 = params["W2"], params["b2"]
    n = len(Y)
    s = {}
    s["emb"] = C[X]  # (n, T, E) one embedding per context character
    s["embcat"] = s["emb"].reshape(n, -1)  # (n, T*E)
    s["hprebn"] = s["embcat"] @ W1 + b1  # (n, H)
    s["bnmean"] = s["hprebn"].sum(0, keepdims=True) / n  # (1, H)
    s["bndiff"] = s["hprebn"] - s["bnmean"]  # (n, H)
    s["bndiff2"] = s["bndiff"] ** 2  # (n, H)
    s["bnvar"] = s["bndiff2"].sum(0, keepdims=True) / n  # (1, H)
    s["bnvar_inv"] = (s["bnvar"] + EPS) ** -0.5  # (1, H)
    s["bnraw"] = s["bndiff"] * s["bnvar_inv"]  # (n, H) zero mean, unit variance
    s["hpreact"] = bngain * s["bnraw"] + bnbias  # (n, H)
    s["h"] = np.tanh(s["hpreact"])  # (n, H)
    s["logits"] = s["h"] @ W2 + b2  # (n, V)
    s["logit_maxes"] = s["logits"].max(1, keepdims=True)  # (n, 1)
    s["norm_logits"] = s["logits"] - s["logit_maxes"]  # (n, V) exp cannot overflow
    s["counts"] = np.exp(s["norm_logits"])  # (n, V)
    s["counts_sum"] = s["counts"].sum(1, keepdims=True)  # (n, 1)
    s["counts_sum_inv"] = s["counts_sum"] ** -1  # (n, 1)
    s["probs"] = s["counts"] * s["counts_sum_inv"]  # (n, V)
    s["logprobs"] = np.log(s["probs"])  # (n, V)
    loss = -s["logprobs"][np.arange(n), Y].mean()
    return float(loss), s


def backward(params: Arrays, s: Arrays, X: np.ndarray, Y: np.ndarray) -> Arrays:
    """d loss / d(everything): every cached step of :func:`forward`, every parameter.

    Each line is one use of the chain rule, the steps of the forward pass in reverse.
    Where a step broadcast a value (a (1, H) row over n rows), its gradient sums over
    the copies; where a value fed two steps, its two contributions add up.
    """
    n = len(Y)
    d = {}
    d["logprobs"] = np.zeros_like(s["logprobs"])  # (n, V)
    d["logprobs"][np.arange(n), Y] = -1.0 / n  # loss = -mean of the picked entries
    d["probs"] = d["logprobs"] / s["probs"]  # d log p = dp / p
    d["counts_sum_inv"] = (s["counts"] * d["probs"]).sum(1, keepdims=True)  # (n, 1)
    d["counts_sum"] = -(s["counts_sum"] ** -2) * d["counts_sum_inv"]  # d(1/x) = -1/x^2
    d["counts"] = s["counts_sum_inv"] * d["probs"] + d["counts_sum"]  # two uses add
    d["norm_logits"] = s["counts"] * d["counts"]  # d exp(x) = exp(x)
    d["logit_maxes"] = -d["norm_logits"].sum(1, keepdims=True)  # (n, 1) about 0
    winners = s["logits"] == s["logit_maxes"]  # (n, V) where each row's maximum is
    d["logits"] = d["norm_logits"] + winners * d["logit_maxes"]
    d["h"] = d["logits"] @ params["W2"].T  # (n, H)
    d["W2"] = s["h"].T @ d["logits"]  # (H, V)
    d["b2"] = d["logits"].sum(0)  # (V,)
    d["hpreact"] = (1.0 - s["h"] ** 2) * d["h"]  # d tanh(x) = 1 - tanh(x)^2
    d["bngain"] = (s["bnraw"] * d["hpreact"]).sum(0)  # (H,)
    d["bnbias"] = d["hpreact"].sum(0)  # (H,)
    d["bnraw"] = params["bngain"] * d["hpreact"]  # (n, H)
    d["bnvar_inv"] = (s["bndiff"] * d["bnraw"]).sum(0, keepdims=True)  # (1, H)
    d["bnvar"] = -0.5 * (s["bnvar"] + EPS) ** -1.5 * d["bnvar_inv"]  # (1, H)
    d["bndiff2"] = np.ones_like(s["bndiff2"]) / n * d["bnvar"]  # (n, H)
    d["bndiff"] = s["bnvar_inv"] * d["bnraw"] + 2.0 * s["bndiff"] * d["bndiff2"]
    d["bnmean"] = -d["bndiff"].sum(0, keepdims=True)  # (1, H)
    d["hprebn"] = d["bndiff"] + np.ones_like(s["hprebn"]) / n * d["bnmean"]  # (n, H)
    d["embcat"] = d["hprebn"] @ params["W1"].T  # (n, T*E)
    d["W1"] = s["embcat"].T @ d["hprebn"]  # (T*E, H)
    d["b1"] = d["hprebn"].sum(0)  # (H,)
    d["emb"] = d["embcat"].reshape(s["emb"].shape)  # (n, T, E)
    d["C"] = embedding_backward(d["emb"], X, params["C"].shape)  # (V, E)
    return d


def embedding_backward(demb: np.ndarray, X: np.ndarray, table_shape) -> np.ndarray:
    """The gradient of a lookup ``C[X]``: each row of ``demb`` added into its row of C.

    A character that appears k times in the batch receives the sum of its k gradients.

    >>> embedding_backward(np.ones((2, 1, 3)), np.array([[1], [1]]), (3, 3)).tolist()
    [[0.0, 0.0, 0.0], [2.0, 2.0, 2.0], [0.0, 0.0, 0.0]]
    """
    dC = np.zeros(table_shape, dtype=demb.dtype)  # (V, E)
    np.add.at(dC, X, demb)  # not dC[X] += demb: repeated indices must accumulate
    return dC


def cross_entropy_backward(logits: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """d loss / d logits for the mean cross-entropy: (softmax(logits) - one_hot(Y)) / n.

    >>> dlogits = cross_entropy_backward(np.zeros((1, 4)), np.array([2]))
    >>> dlogits.tolist()
    [[0.25, 0.25, -0.75, 0.25]]
    """
    n = len(Y)
    exps = np.exp(logits - logits.max(1, keepdims=True))  # (n, V)
    dlogits = exps / exps.sum(1, keepdims=True)  # (n, V) the probabilities
    dlogits[np.arange(n), Y] -= 1.0
    return dlogits / n


def batchnorm_backward(
    dhpreact: np.ndarray, bnraw: np.ndarray, bnvar_inv: np.ndarray, bngain: np.ndarray
) -> np.ndarray:
    """d loss / d(batch-norm input) in one formula, given the gradient of its output.

    With g = gain * dhpreact (the gradient reaching the normalized values xhat =
    ``bnraw``), r = ``bnvar_inv`` and means over the n examples of the batch:
    dx = r * (g - mean(g) - xhat * mean(g * xhat)).
    """
    g = bngain * dhpreact  # (n, H)
    g_mean = g.mean(0, keepdims=True)  # (1, H)
    g_xhat_mean = (g * bnraw).mean(0, keepdims=True)  # (1, H)
    return bnvar_inv * (g - g_mean - bnraw * g_xhat_mean)  # (n, H)


def backward_fused(params: Arrays, s: Arrays, X: np.ndarray, Y: np.ndarray) -> Arrays:
    """The parameters' gradients (and the main intermediates'), with the fused formulas:
    :func:`cross_entropy_backward` and :func:`batchnorm_backward`."""
    d = {}
    d["logits"] = cross_entropy_backward(s["logits"], Y)  # (n, V)
    d["h"] = d["logits"] @ params["W2"].T  # (n, H)
    d["W2"] = s["h"].T @ d["logits"]  # (H, V)
    d["b2"] = d["logits"].sum(0)  # (V,)
    d["hpreact"] = (1.0 - s["h"] ** 2) * d["h"]  # (n, H)
    d["bngain"] = (s["bnraw"] * d["hpreact"]).sum(0)  # (H,)
    d["bnbias"] = d["hpreact"].sum(0)  # (H,)
    d["hprebn"] = batchnorm_backward(
        d["hpreact"], s["bnraw"], s["bnvar_inv"], params["bngain"]
    )  # (n, H)
    d["embcat"] = d["hprebn"] @ params["W1"].T  # (n, T*E)
    d["W1"] = s["embcat"].T @ d["hprebn"]  # (T*E, H)
    d["b1"] = d["hprebn"].sum(0)  # (H,)
    demb = d["embcat"].reshape(s["emb"].shape)  # (n, T, E)
    d["C"] = embedding_backward(demb, X, params["C"].shape)  # (V, E)
    return d


def engine_forward(params: Arrays, X: np.ndarray, Y: np.ndarray, fused: bool = False):
    """The forward pass built with the tensor engine, for autograd to differentiate.

    Returns ``(loss, tensors)``: the loss Tensor and a dict of Tensors, the parameters
    (which require gradients) and, unless ``fused``, every step of :func:`forward` under
    its name. After ``loss.backward()`` each one's ``.grad`` is autograd's answer. With
    ``fused`` the forward pass calls the engine's ``F.batch_norm`` and
    ``F.cross_entropy``.
    """
    t = {
        name: Tensor(params[name], requires_grad=True, dtype=np.float64)
        for name in PARAM_NAMES
    }
    n = len(Y)
    t["emb"] = t["C"][X]  # (n, T, E)
    t["embcat"] = t["emb"].reshape(n, -1)  # (n, T*E)
    t["hprebn"] = t["embcat"] @ t["W1"] + t["b1"]  # (n, H)
    if fused:
        mean, var = np.zeros(t["b1"].shape), np.ones(t["b1"].shape)  # (H,) unused here
        t["hpreact"] = F.batch_norm(
            t["hprebn"], t["bngain"], t["bnbias"], mean, var, True, 0.1, EPS
        )  # (n, H)
        t["h"] = t["hpreact"].tanh()  # (n, H)
        t["logits"] = t["h"] @ t["W2"] + t["b2"]  # (n, V)
        return F.cross_entropy(t["logits"], Y), t
    t["bnmean"] = t["hprebn"].sum(0, keepdims=True) / n  # (1, H)
    t["bndiff"] = t["hprebn"] - t["bnmean"]  # (n, H)
    t["bndiff2"] = t["bndiff"] ** 2  # (n, H)
    t["bnvar"] = t["bndiff2"].sum(0, keepdims=True) / n  # (1, H)
    t["bnvar_inv"] = (t["bnvar"] + EPS) ** -0.5  # (1, H)
    t["bnraw"] = t["bndiff"] * t["bnvar_inv"]  # (n, H)
    t["hpreact"] = t["bngain"] * t["bnraw"] + t["bnbias"]  # (n, H)
    t["h"] = t["hpreact"].tanh()  # (n, H)
    t["logits"] = t["h"] @ t["W2"] + t["b2"]  # (n, V)
    t["logit_maxes"] = t["logits"].max(1, keepdims=True)  # (n, 1)
    t["norm_logits"] = t["logits"] - t["logit_maxes"]  # (n, V)
    t["counts"] = t["norm_logits"].exp()  # (n, V)
    t["counts_sum"] = t["counts"].sum(1, keepdims=True)  # (n, 1)
    t["counts_sum_inv"] = t["counts_sum"] ** -1  # (n, 1)
    t["probs"] = t["counts"] * t["counts_sum_inv"]  # (n, V)
    t["logprobs"] = t["probs"].log()  # (n, V)
    loss = -t["logprobs"][np.arange(n), Y].mean()
    return loss, t


def autograd_gradients(
    params: Arrays, X: np.ndarray, Y: np.ndarray, fused: bool = False
) -> Arrays:
    """Autograd's gradient of every tensor of :func:`engine_forward`, under its name."""
    loss, tensors = engine_forward(params, X, Y, fused=fused)
    loss.backward()
    return {name: tensor.grad for name, tensor in tensors.items()}


def autograd_backward(
    params: Arrays, s: Arrays, X: np.ndarray, Y: np.ndarray
) -> Arrays:
    """:func:`backward_fused`'s gradients taken from autograd instead (``s`` unused: the
    engine runs its own forward pass, with its fused operations)."""
    return autograd_gradients(params, X, Y, fused=True)


@dataclass
class GradientCheck:
    """How one hand-written gradient compares with autograd's.

    ``todo`` marks a gradient still left as the starter's blank, ``...``.
    """

    name: str
    exact: bool = False  # every entry bit-for-bit equal
    close: bool = False  # np.allclose with the given tolerances
    max_abs_diff: float = float("nan")
    todo: bool = False

    def __str__(self) -> str:
        if self.todo:
            return f"{self.name:15} TODO"
        return (
            f"{self.name:15} exact: {self.exact!s:5}  approximate: {self.close!s:5}"
            f"  max diff: {self.max_abs_diff:.1e}"
        )


def compare(name: str, mine, autograd: Arrays, atol=1e-8, rtol=1e-5) -> GradientCheck:
    """``mine``, a hand-written gradient of ``name``, against ``autograd[name]``."""
    if mine is ...:
        return GradientCheck(name, todo=True)
    mine, theirs = comparable(name, mine, autograd)
    exact = bool(np.array_equal(mine, theirs))
    close = bool(np.allclose(mine, theirs, atol=atol, rtol=rtol))
    max_abs_diff = float(np.max(np.abs(mine - theirs), initial=0.0))
    return GradientCheck(name, exact, close, max_abs_diff)


def comparable(name: str, mine, autograd: Arrays) -> tuple[np.ndarray, np.ndarray]:
    """Both gradients of ``name`` as arrays; one missing, or of another shape, is a
    ``ValueError`` naming it."""
    if autograd.get(name) is None:
        raise ValueError(f"no autograd gradient to compare with for {name!r}")
    mine, theirs = np.asarray(mine), np.asarray(autograd[name])
    if mine.shape != theirs.shape:
        raise ValueError(
            f"{name}: your shape {mine.shape} vs autograd's {theirs.shape}"
        )
    return mine, theirs


def compare_gradients(
    manual: dict, autograd: Arrays, **tolerances
) -> list[GradientCheck]:
    """One :func:`compare` per name in ``manual``, each against ``autograd[name]``."""
    return [
        compare(name, mine, autograd, **tolerances) for name, mine in manual.items()
    ]


def report(checks: list[GradientCheck], every: bool = True) -> str:
    """The checks one per line (unless not ``every``), then how many match autograd.

    >>> checks = [GradientCheck("w", True, True, 0.0), GradientCheck("b", todo=True)]
    >>> print(report(checks))
    w               exact: True   approximate: True   max diff: 0.0e+00
    b               TODO
    1 of 2 gradients match autograd; 1 still TODO
    """
    done = [check for check in checks if not check.todo]
    wrong = [check.name for check in done if not check.close]
    verdict = f"{len(done) - len(wrong)} of {len(checks)} gradients match autograd"
    if wrong:
        verdict += "; wrong: " + ", ".join(wrong)
    if len(done) < len(checks):
        verdict += f"; {len(checks) - len(done)} still TODO"
    lines = [str(check) for check in checks] if every else []
    return "\n".join([*lines, verdict])


@dataclass
class RunningStats:
    """Batch norm's running mean and variance, moved towards each batch's by momentum.

    The same rule as the engine's ``nn.BatchNorm1d``: the running variance follows the
    unbiased batch variance (n / (n - 1) times the biased one used for normalizing).
    """

    mean: np.ndarray
    var: np.ndarray
    momentum: float = 0.1

    @classmethod
    def start(cls, n_hidden: int, momentum: float = 0.1) -> RunningStats:
        return cls(np.zeros((1, n_hidden)), np.ones((1, n_hidden)), momentum)

    def update(self, bnmean: np.ndarray, bnvar: np.ndarray, n: int) -> None:
        m = self.momentum
        self.mean = (1.0 - m) * self.mean + m * bnmean
        self.var = (1.0 - m) * self.var + m * bnvar * (n / (n - 1))


def eval_logits(params: Arrays, stats: RunningStats, X: np.ndarray) -> np.ndarray:
    """Logits in evaluation mode: batch norm uses the running statistics, so one example
    at a time gives the same answer as a whole batch."""
    embcat = params["C"][X].reshape(len(X), -1)  # (n, T*E)
    hprebn = embcat @ params["W1"] + params["b1"]  # (n, H)
    bnraw = (hprebn - stats.mean) * (stats.var + EPS) ** -0.5  # (n, H)
    h = np.tanh(params["bngain"] * bnraw + params["bnbias"])  # (n, H)
    return h @ params["W2"] + params["b2"]  # (n, V)


def mean_nll(logits: np.ndarray, Y: np.ndarray) -> float:
    """Mean negative log-likelihood of the targets ``Y`` under ``logits``."""
    shifted = logits - logits.max(1, keepdims=True)  # (n, V)
    logprobs = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))  # (n, V)
    return float(-logprobs[np.arange(len(Y)), Y].mean())


@dataclass
class ManualRun:
    """What :func:`train_manual` returns: each step's loss, the running statistics."""

    loss: list[float] = field(default_factory=list)
    stats: RunningStats | None = None


Backward = Callable[[Arrays, Arrays, np.ndarray, np.ndarray], Arrays]


def train_manual(
    params: Arrays,
    X: np.ndarray,
    Y: np.ndarray,
    *,
    steps: int,
    batch_size: int = 32,
    lr: float | Callable[[int], float] = 0.1,
    seed: int = 0,
    backward: Backward = backward_fused,
    callback: Callable[[int, ManualRun], None] | None = None,
) -> ManualRun:
    """Minibatch SGD on ``params`` (updated in place), no autograd anywhere.

    :func:`forward` for the loss, ``backward(params, cache, Xb, Yb)`` for the gradients
    (the hand-written :func:`backward_fused`, yours, or :func:`autograd_backward` to
    compare), ``p -= lr * grad`` for the update, and batch norm's running statistics for
    evaluation with :func:`eval_logits`. ``callback(step, run)`` runs after every step.
    """
    check_training(X, Y, batch_size)
    schedule = lr if callable(lr) else optim.constant(lr)
    batches = minibatches(X, Y, batch_size, seed)
    run = ManualRun(stats=RunningStats.start(params["b1"].shape[0]))
    for step in range(steps):
        Xb, Yb = batches(step)  # (B, T), (B,)
        loss, cache = forward(params, Xb, Yb)
        grads = backward(params, cache, Xb, Yb)
        for name in PARAM_NAMES:
            params[name] -= schedule(step) * grads[name]
        run.stats.update(cache["bnmean"], cache["bnvar"], batch_size)
        run.loss.append(loss)
        if callback is not None:
            callback(step + 1, run)
    return run


def check_training(X: np.ndarray, Y: np.ndarray, batch_size: int) -> None:
    """ValueError unless X and Y pair up and a batch holds two examples or more."""
    if len(X) != len(Y) or len(Y) < 2:
        raise ValueError(
            f"need as many contexts as targets, at least two: {len(X)} vs {len(Y)}"
        )
    if batch_size < 2:
        raise ValueError(
            f"batch norm needs two or more examples per batch, got {batch_size}"
        )
