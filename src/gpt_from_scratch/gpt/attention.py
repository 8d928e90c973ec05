"""Fused causal self-attention: one node in the graph, a hand-derived backward, no Python loops.

Written as a chain of engine operations, attention is seven nodes (two transposes, a matmul, a
scale, a mask, a softmax, a matmul), each storing its own copy of a (B, nh, T, T) array. Fused,
it is one node that keeps only the attention weights P and a few numpy calls each way.

Forward, for one head with queries Q, keys K, values V (each T x hs) and s = 1/sqrt(hs):

    S = s Q K^T            (T, T) the scores, -inf above the diagonal (the future)
    P = softmax(S)         (T, T) each row sums to 1
    Y = P V                (T, hs)

Backward, given G = dL/dY:

    dV = P^T G
    dP = G V^T
    dS = P * (dP - rowsum(dP * P))     (the softmax backward, row by row)
    dQ = s dS K,      dK = s dS^T Q

Masked entries have P = 0, so dS is 0 there and the future gets no gradient, as it should.
Every product is batched over (B, nh) by numpy's matmul, and blocks of the batch run on the
engine's threads at once.

>>> import numpy as np
>>> from gpt_from_scratch.tensor import Tensor
>>> q = k = v = Tensor(np.ones((1, 1, 3, 2)), requires_grad=True)
>>> scaled_dot_product_attention(q, k, v).shape
(1, 1, 3, 2)
"""

from __future__ import annotations

import math

import numpy as np

from gpt_from_scratch.tensor import functional as F
from gpt_from_scratch.tensor import speed
from gpt_from_scratch.tensor.engine import Tensor, gelu_backward, gelu_into

_masks: dict[tuple[int, int], np.ndarray] = {}


def causal_mask(t_query: int, t_key: int) -> np.ndarray:
    """True where a query may NOT look: key position after the query's position.

    The queries are the last ``t_query`` of the ``t_key`` positions (the key/value-cache
    convention: new queries attend to everything cached before them).

    >>> causal_mask(3, 3).astype(int).tolist()
    [[0, 1, 1], [0, 0, 1], [0, 0, 0]]
    >>> causal_mask(1, 3).astype(int).tolist()
    [[0, 0, 0]]
    """
    key = (t_query, t_key)
    if key not in _masks:
        offset = t_key - t_query
        _masks[key] = np.triu(np.ones((t_query, t_key), dtype=bool), k=1 + offset)
    return _masks[key]


_biases: dict[tuple[int, int, np.dtype], np.ndarray] = {}


def causal_bias(t_query: int, t_key: int, dtype) -> np.ndarray:
    """The causal mask as numbers to add to the scores: -inf where a query may not look, else 0.

    One addition masks a whole batch of score matrices, a pass several times cheaper than
    writing -inf through a boolean mask.

    >>> causal_bias(2, 2, np.float32).tolist()
    [[0.0, -inf], [0.0, 0.0]]
    """
    key = (t_query, t_key, np.dtype(dtype))
    if key not in _biases:
        _biases[key] = np.where(causal_mask(t_query, t_key), -np.inf, 0.0).astype(dtype)
    return _biases[key]


def attention_forward(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, is_causal: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The numpy forward: returns (Y, P). q is (..., Tq, hs), k and v are (..., Tk, hs).

    The first axis, the batch, is split over the engine's threads: its sequences are independent.
    """
    if q.ndim < 3:  # one sequence: give it a batch axis of one
        return tuple(a[0] for a in attention_forward(q[None], k[None], v[None], is_causal))
    y = np.empty(q.shape, dtype=q.dtype)  # (B, ..., Tq, hs)
    probs = np.empty((*q.shape[:-1], k.shape[-2]), dtype=q.dtype)  # (B, ..., Tq, Tk)

    def block(start, stop):
        attention_forward_block(
            q[start:stop], k[start:stop], v[start:stop], is_causal, y[start:stop], probs[start:stop]
        )

    work = q[0].size * k.shape[-2] * 2  # multiply-adds per sequence: Q K^T and P V
    speed.parallel_for(block, len(q), speed.grain(work))
    return y, probs


def attention_forward_block(q, k, v, is_causal, y, probs):
    """Y and P of a block of sequences, written into ``y`` and ``probs``: the
    forward's math."""
    scale = 1.0 / math.sqrt(q.shape[-1])
    scores = np.matmul(q, np.swapaxes(k, -1, -2), out=probs)  # (..., Tq, Tk)
    scores *= scale
    if is_causal:  # -inf on the future
        scores += causal_bias(q.shape[-2], k.shape[-2], scores.dtype)
    scores -= scores.max(axis=-1, keepdims=True)
    np.exp(scores, out=scores)  # in place: the scores become the probabilities
    scores /= scores.sum(axis=-1, keepdims=True)
    np.matmul(probs, v, out=y)  # (..., Tq, hs)


def attention_backward(
    grad: np.ndarray,
    q: np.ndarray,
    k: np.ndarray,
    v: np.ndarray,
    probs: np.ndarray,
    out: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The numpy backward: (dQ, dK, dV) from dL/dY and the forward's P, split over the batch.

    They are new arrays, or written into the three arrays of ``out`` (views are fine).
    """
    if q.ndim < 3:  # one sequence: give it a batch axis of one
        outs = None if out is None else tuple(a[None] for a in out)
        batched = (a[None] for a in (grad, q, k, v, probs))
        grads = attention_backward(*batched, out=outs)
        return out if out is not None else tuple(a[0] for a in grads)
    dq, dk, dv = out if out is not None else (np.empty_like(q), np.empty_like(k), np.empty_like(v))

    def block(start, stop):
        rows = slice(start, stop)
        attention_backward_block(
            grad[rows], q[rows], k[rows], v[rows], probs[rows], dq[rows], dk[rows], dv[rows]
        )

    work = q[0].size * k.shape[-2] * 4  # multiply-adds per sequence: four products
    speed.parallel_for(block, len(q), speed.grain(work))
    return dq, dk, dv


def attention_backward_block(grad, q, k, v, probs, dq, dk, dv):
    """dQ, dK, dV of a block of sequences, written into ``dq``, ``dk``, ``dv``: the
    backward's math."""
    scale = 1.0 / math.sqrt(q.shape[-1])
    np.matmul(np.swapaxes(probs, -1, -2), grad, out=dv)  # (..., Tk, hs)
    dp = np.matmul(grad, np.swapaxes(v, -1, -2))  # (..., Tq, Tk)
    dp -= (dp * probs).sum(axis=-1, keepdims=True)
    dp *= probs  # now dS / scale
    np.matmul(dp, k, out=dq)  # (..., Tq, hs)
    dq *= scale
    np.matmul(np.swapaxes(dp, -1, -2), q, out=dk)  # (..., Tk, hs)
    dk *= scale


def scaled_dot_product_attention(q: Tensor, k: Tensor, v: Tensor, is_causal=True):
    """softmax(Q K^T / sqrt(hs)) V on (B, nh, T, hs) Tensors, as one fused graph node.

    With ``is_causal`` each position attends only to itself and the positions before
    it. If there are fewer queries than keys, the queries are the last positions.
    """
    _check_shapes(q, k, v)
    y, probs = attention_forward(q.data, k.data, v.data, is_causal)
    out = Tensor._op_result(y, (q, k, v), "attention")

    def _backward(grad):
        dq, dk, dv = attention_backward(grad, q.data, k.data, v.data, probs)
        for tensor, g in ((q, dq), (k, dk), (v, dv)):
            if tensor.requires_grad:
                tensor._accumulate(g)

    out._backward = _backward
    return out


def causal_self_attention(qkv: Tensor, n_head: int) -> Tensor:
    """Fused multi-head causal self-attention straight from the packed projection.

    ``qkv`` is (B, T, 3C): queries, keys and values side by side, as one linear layer
    makes them. Returns (B, T, C), the heads' outputs side by side. The heads are
    numpy views of ``qkv`` (no split, no copy), and the backward writes dQ, dK, dV
    straight into one (B, T, 3C) array.

    >>> from gpt_from_scratch.tensor import Tensor
    >>> causal_self_attention(Tensor(np.zeros((2, 5, 12))), n_head=2).shape
    (2, 5, 4)
    """
    _check_packed(qkv, n_head)
    B, T, C3 = qkv.shape
    C, hs = C3 // 3, C3 // 3 // n_head
    heads = qkv.data.reshape(B, T, 3, n_head, hs).transpose(2, 0, 3, 1, 4)
    q, k, v = heads  # each (B, nh, T, hs), views into qkv
    y, probs = attention_forward(q, k, v, is_causal=True)  # (B, nh, T, hs)
    y = y.transpose(0, 2, 1, 3).reshape(B, T, C)  # (B, T, C)
    out = Tensor._op_result(y, (qkv,), "self_attention")

    def _backward(grad):
        grad_heads = grad.reshape(B, T, n_head, hs).transpose(0, 2, 1, 3)
        dqkv = np.empty((B, T, 3, n_head, hs), dtype=qkv.dtype)
        d_heads = dqkv.transpose(2, 0, 3, 1, 4)  # (3, B, nh, T, hs), views of dqkv
        attention_backward(grad_heads, q, k, v, probs, out=tuple(d_heads))
        qkv._accumulate(dqkv.reshape(B, T, C3))

    out._backward = _backward
    return out


def cached_self_attention(qkv: np.ndarray, n_head: int, cache: dict) -> np.ndarray:
    """Attention of new positions to themselves and every cached one, for sampling
    (no graph).

    ``qkv`` (B, T, 3C) belongs to the T newest positions. Their keys and values are
    appended to ``cache["k"]`` and ``cache["v"]`` (B, nh, T_cached, hs), so the next
    call attends to them too without recomputing them: one new token costs one row
    of attention, not T rows. Returns (B, T, C).
    """
    B, T, C3 = qkv.shape
    C = C3 // 3
    q, k, v = qkv.reshape(B, T, 3, n_head, C // n_head).transpose(2, 0, 3, 1, 4)
    if "k" in cache:
        k = np.concatenate([cache["k"], k], axis=2)  # (B, nh, T_cached + T, hs)
        v = np.concatenate([cache["v"], v], axis=2)
    cache["k"], cache["v"] = np.ascontiguousarray(k), np.ascontiguousarray(v)
    y, _ = attention_forward(q, cache["k"], cache["v"], is_causal=True)
    return y.transpose(0, 2, 1, 3).reshape(B, T, C)  # (B, T, C)


def _check_packed(qkv: Tensor, n_head: int) -> None:
    if qkv.ndim != 3 or qkv.shape[-1] % (3 * n_head):
        raise ValueError(
            f"causal_self_attention: expected qkv of shape (B, T, 3 * C) with C divisible by "
            f"n_head={n_head}, got {qkv.shape}"
        )


def _check_shapes(q: Tensor, k: Tensor, v: Tensor) -> None:
    if q.ndim != 4 or k.ndim != 4 or v.ndim != 4:
        raise ValueError(
            "scaled_dot_product_attention: q, k, v must be (B, nh, T, hs), got shapes "
            f"{q.shape}, {k.shape}, {v.shape}"
        )
    if k.shape != v.shape or q.shape[:2] != k.shape[:2] or q.shape[-1] != k.shape[-1]:
        raise ValueError(
            "scaled_dot_product_attention: q, k, v must agree in batch, heads and head size, "
            f"and k, v in length; got {q.shape}, {k.shape}, {v.shape}"
        )
    if q.shape[-2] > k.shape[-2]:
        raise ValueError(
            f"scaled_dot_product_attention: {q.shape[-2]} queries but only {k.shape[-2]} keys"
        )


def linear_gelu(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """GELU(x W + b) as one node: the first half of the Transformer's feed-forward layer.

    GELU is GPT-2's tanh form, the engine's ``Tensor.gelu``: GELU(u) = u s with the gate
    s = sigmoid(2 c (u + 0.044715 u^3)). Fusing it with the linear layer before it saves a node
    and most temporaries of a (B, T, 4C) array, the largest activation of the model: the
    arithmetic runs in place, and the backward reuses the gate s.

    Backward, with G = dL/dy: dL/du = G dGELU/du (``gelu_backward``), then the linear layer's
    rules (``functional.linear_backward``).

    >>> x = Tensor(np.zeros((2, 3)))
    >>> w, b = Tensor(np.ones((3, 4))), Tensor(np.ones(4))
    >>> [round(float(v), 4) for v in linear_gelu(x, w, b).data[0]]  # GELU(1) = 0.8412
    [0.8412, 0.8412, 0.8412, 0.8412]
    """
    F.check_linear_shapes(x, weight)
    shape = (x.data.size // x.shape[-1], weight.shape[1])  # (N, C_out)
    dtype = np.result_type(x.data, weight.data)
    y, s = np.empty(shape, dtype), np.empty(shape, dtype)  # the output and the gate

    def gelu_rows(u, start, stop):  # on the thread that just computed these rows of u
        gelu_into(u[start:stop], y[start:stop], s[start:stop])

    rows = x.data.reshape(-1, x.shape[-1])  # (N, C_in)
    b = None if bias is None else bias.data
    u = speed.linear(rows, weight.data, b, then=gelu_rows)  # (N, C_out)
    parents = (x, weight) if bias is None else (x, weight, bias)
    out = Tensor._op_result(y.reshape(*x.shape[:-1], -1), parents, "linear_gelu")

    def _backward(grad):
        du = gelu_backward(u, s, grad.reshape(u.shape))  # (N, C_out), dL/du
        F.linear_backward(du, x, weight, bias)

    out._backward = _backward
    return out
