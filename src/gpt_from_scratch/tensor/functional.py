"""Functions on Tensors, PyTorch's `torch.nn.functional` names, including the fused operations.

A fused operation computes its result in a few numpy passes and has one hand-derived backward,
instead of a chain of small operations each with its own node: cross-entropy, layer norm and
batch norm below.

>>> from gpt_from_scratch.tensor import Tensor
>>> logits = Tensor([[2.0, 0.0, 0.0]], requires_grad=True)
>>> loss = cross_entropy(logits, [0])
>>> round(loss.item(), 4)  # -log(e^2 / (e^2 + 2))
0.2395
"""

import numpy as np

from gpt_from_scratch.tensor import speed
from gpt_from_scratch.tensor.engine import Tensor, rng


def softmax(x, axis=-1):
    return x.softmax(axis)


def log_softmax(x, axis=-1):
    return x.log_softmax(axis)


def tanh(x):
    return x.tanh()


def relu(x):
    return x.relu()


def gelu(x):
    return x.gelu()


def sigmoid(x):
    return x.sigmoid()


def linear(x, weight, bias=None):
    """x @ weight + bias as one node; weight is (fan_in, fan_out), x is (..., fan_in).

    >>> x = Tensor(np.ones((2, 3)))
    >>> linear(x, Tensor(np.ones((3, 4))), Tensor(np.arange(4.0))).tolist()[0]
    [3.0, 4.0, 5.0, 6.0]
    """
    check_linear_shapes(x, weight)
    rows = x.data.reshape(-1, x.shape[-1])  # (N, fan_in)
    b = None if bias is None else bias.data
    y = speed.linear(rows, weight.data, b)  # (N, fan_out)
    parents = (x, weight) if bias is None else (x, weight, bias)
    out = Tensor._op_result(y.reshape(*x.shape[:-1], -1), parents, "linear")

    def _backward(grad):
        linear_backward(grad.reshape(y.shape), x, weight, bias)

    out._backward = _backward
    return out


def check_linear_shapes(x, weight):
    """A clear error when x (..., fan_in) does not fit a weight of shape (fan_in, fan_out)."""
    if x.ndim == 0 or weight.ndim != 2 or x.shape[-1] != weight.shape[0]:
        raise ValueError(
            f"linear: input of shape {x.shape} does not fit a weight of shape {weight.shape} "
            "(the input's last dimension must equal the weight's first)"
        )


def linear_backward(grad_rows, x, weight, bias):
    """Push G = dL/dy, (N, fan_out), of y = x W + b back into x, W and b:

    dL/dx = G W^T,   dL/dW = x^T G,   dL/db = G^T 1 (the sum of G's rows).
    """
    rows = x.data.reshape(-1, x.shape[-1])  # (N, fan_in)
    wanted = []  # (tensor, a, b): the tensor's gradient is a @ b
    if x.requires_grad:
        wanted.append((x, grad_rows, weight.data.T))
    if weight.requires_grad:
        wanted.append((weight, rows.T, grad_rows))
    if bias is not None and bias.requires_grad:
        wanted.append((bias, grad_rows.T, np.ones((len(rows), 1), grad_rows.dtype)))
    grads = speed.matmuls(*[(a, b) for _, a, b in wanted])  # all in one parallel region
    for (tensor, _, _), grad in zip(wanted, grads, strict=True):
        tensor._accumulate(grad.reshape(tensor.shape))


def _targets_array(targets, n, num_classes, ignore_index):
    targets = np.asarray(targets.data if isinstance(targets, Tensor) else targets)
    if targets.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: targets must be integers, got dtype {targets.dtype}")
    targets = targets.reshape(-1)
    if targets.size != n:
        raise ValueError(
            f"cross_entropy: {n} rows of logits but {targets.size} targets; they must match"
        )
    valid = targets != ignore_index if ignore_index is not None else np.ones(n, dtype=bool)
    bad = valid & ((targets < 0) | (targets >= num_classes))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise IndexError(
            f"cross_entropy: target {int(targets[row])} in row {row} is outside the "
            f"{num_classes} classes [0, {num_classes - 1}]"
        )
    return np.where(valid, targets, 0), valid


def cross_entropy(logits, targets, ignore_index=None):
    """Mean over rows of -log softmax(logits)[target], fused and numerically stable.

    `logits` is (N, C) (or (..., C), flattened to rows) and `targets` (N,) integer
    classes; rows whose target equals `ignore_index` count for nothing, and the mean is
    over the others.

    Forward, with each row shifted by its maximum m so that no exp overflows:
    loss_i = log(sum_j exp(z_ij - m_i)) - (z_i,t_i - m_i).
    Backward: dloss/dz_ij = (softmax(z_i)_j - [j == t_i]) / n_counted.
    """
    num_classes = logits.shape[-1]
    z = logits.data.reshape(-1, num_classes)  # (N, C)
    n = z.shape[0]
    targets, valid = _targets_array(targets, n, num_classes, ignore_index)
    rows = np.arange(n)
    shifted = z - z.max(axis=1, keepdims=True)  # (N, C), every entry <= 0
    exps = np.exp(shifted)  # (N, C), no overflow
    sums = exps.sum(axis=1, keepdims=True)  # (N, 1), >= 1
    losses = np.log(sums[:, 0]) - shifted[rows, targets]  # (N,)
    count = int(valid.sum())
    # every row ignored: nan, as in PyTorch
    mean = losses[valid].sum() / count if count else np.nan
    loss = np.asarray(mean, dtype=z.dtype)
    out = Tensor._op_result(loss, (logits,), "cross_entropy")

    def _backward(grad):
        dlogits = exps / sums  # (N, C) the softmax probabilities
        dlogits[rows, targets] -= 1.0
        scale = grad * (1.0 / count) if count else 0.0
        dlogits *= (valid * scale)[:, None].astype(dlogits.dtype, copy=False)
        logits._accumulate(dlogits.reshape(logits.shape))

    out._backward = _backward
    return out


def layer_norm(x, weight, bias, eps=1e-5):
    """Normalise each row (the last axis) to mean 0 and variance 1, then scale and shift.

    Forward, over the C entries of a row: mu = mean(x), var = mean((x - mu)^2),
    r = 1 / sqrt(var + eps), xhat = (x - mu) r, y = weight * xhat + bias.

    Backward, with g = dL/dy and gh = g * weight (the gradient reaching xhat):
    dL/dx = r * (gh - mean(gh) - xhat * mean(gh * xhat))   (means along the row),
    dL/dweight = sum over rows of g * xhat,   dL/dbias = sum over rows of g.
    The three terms: gh moves each entry directly; mean(gh) undoes what moving mu does to all
    of them; xhat * mean(gh * xhat) undoes what moving var does.
    """
    _check_last_axis("layer_norm", x, weight, bias)
    rows = x.data.reshape(-1, x.shape[-1])  # (N, C)
    row_mean = np.full(rows.shape[1], 1.0 / rows.shape[1], dtype=rows.dtype)  # (C,) of 1/C
    mu = rows @ row_mean  # (N,), a matrix-vector product: several times faster than .mean(-1)
    xhat = rows - mu[:, None]  # (N, C), centred now, scaled in place below
    var = (xhat * xhat) @ row_mean  # (N,)
    rstd = 1.0 / np.sqrt(var + eps)[:, None]  # (N, 1)
    xhat *= rstd  # (N, C)
    y = xhat * weight.data  # (N, C)
    y += bias.data
    out = Tensor._op_result(y.reshape(x.shape), (x, weight, bias), "layer_norm")

    def _backward(g):  # (..., C)
        g = g.reshape(rows.shape)  # (N, C)
        if x.requires_grad:
            gh = g * weight.data  # (N, C)
            mean_gh = gh @ row_mean  # (N,)
            mean_gh_xhat = (gh * xhat) @ row_mean  # (N,)
            gh -= mean_gh[:, None]
            gh -= xhat * mean_gh_xhat[:, None]
            gh *= rstd
            x._accumulate(gh.reshape(x.shape))
        ones = np.ones(len(g), dtype=g.dtype)  # sums the N rows by a matrix-vector product
        if weight.requires_grad:
            weight._accumulate(ones @ (g * xhat))
        if bias.requires_grad:
            bias._accumulate(ones @ g)

    out._backward = _backward
    return out


def batch_norm(x, weight, bias, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    """Batch normalisation with channels last: statistics over every axis but the last.

    In training, each channel is normalised by the batch's own mean and (biased) variance, and the
    running statistics move towards them: running = (1 - momentum) running + momentum batch
    (the running variance uses the unbiased batch variance, as PyTorch does). In evaluation the
    running statistics are used instead, and the layer is a fixed affine map.

    Training forward, over the n = x.size / C values of a channel: mu = mean(x),
    var = mean((x - mu)^2), r = 1 / sqrt(var + eps), xhat = (x - mu) r, y = weight * xhat + bias.

    Training backward, with g = dL/dy and gh = g * weight, means over the n values of a channel:
    dL/dx = r * (gh - mean(gh) - xhat * mean(gh * xhat)),
    dL/dweight = sum(g * xhat),   dL/dbias = sum(g).
    The same formula as layer norm's, along the other axis: here the n examples of the batch
    share mu and var, so each example's gradient depends on the whole batch.

    `running_mean` and `running_var` are numpy arrays of shape (C,), updated in place.
    """
    _check_last_axis("batch_norm", x, weight, bias)
    num_channels = x.shape[-1]
    rows = x.data.reshape(-1, num_channels)  # (N, C) with N = every axis but the last
    n = rows.shape[0]
    if training:
        if n < 2:
            raise ValueError(
                f"batch_norm in training needs more than one value per channel, got input shape "
                f"{x.shape}"
            )
        mu = rows.mean(axis=0)  # (C,)
        centered = rows - mu  # (N, C)
        var = (centered * centered).mean(axis=0)  # (C,)
        running_mean *= 1.0 - momentum
        running_mean += momentum * mu
        running_var *= 1.0 - momentum
        running_var += (momentum * n / (n - 1)) * var
    else:
        mu, var = running_mean, running_var
        centered = rows - mu
    rstd = (1.0 / np.sqrt(var + eps)).astype(rows.dtype, copy=False)  # (C,)
    xhat = centered * rstd  # (N, C)
    y = xhat * weight.data + bias.data  # (N, C)
    out = Tensor._op_result(y.reshape(x.shape), (x, weight, bias), "batch_norm")

    def _backward(grad):
        g = grad.reshape(-1, num_channels)  # (N, C)
        if x.requires_grad:
            gh = g * weight.data  # (N, C)
            if training:
                gx = rstd * (gh - gh.mean(axis=0) - xhat * (gh * xhat).mean(axis=0))
            else:
                gx = gh * rstd
            x._accumulate(gx.reshape(x.shape))
        if weight.requires_grad:
            weight._accumulate((g * xhat).sum(axis=0))
        if bias.requires_grad:
            bias._accumulate(g.sum(axis=0))

    out._backward = _backward
    return out


def _check_last_axis(name, x, weight, bias):
    channels = x.shape[-1] if x.ndim else None
    if weight.shape != (channels,) or bias.shape != (channels,):
        raise ValueError(
            f"{name}: input of shape {x.shape} normalises over its last axis of size {channels}, "
            f"but weight has shape {weight.shape} and bias {bias.shape}"
        )


def dropout(x, p=0.5, training=True):
    """Zero each entry with probability p and scale the rest by 1 / (1 - p) (so the mean stays).

    The identity when not training or p == 0. The mask comes from the engine's generator.
    """
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout probability must be in [0, 1), got {p}")
    if not training or p == 0.0:
        return x
    keep = rng().random(x.shape, dtype=np.float32) >= p
    scale = np.asarray(1.0 / (1.0 - p), dtype=x.dtype)
    mask = keep * scale  # (same shape as x), 0 or 1/(1-p)
    out = Tensor._op_result(x.data * mask, (x,), "dropout")

    def _backward(grad):
        x._accumulate(grad * mask)

    out._backward = _backward
    return out


def embedding(ids, table):
    """Rows of `table` (V, D) picked by integer `ids` (any shape) -> (*ids.shape, D)."""
    ids = np.asarray(ids.data if isinstance(ids, Tensor) else ids)
    if ids.dtype.kind not in "iu":
        raise TypeError(f"embedding: ids must be integers, got dtype {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= table.shape[0]):
        raise IndexError(
            f"embedding: ids range over [{ids.min()}, {ids.max()}] but the table has only "
            f"{table.shape[0]} rows"
        )
    return table[ids]
