"""The recurrences of :mod:`.recurrent` fused: a whole context read by one graph node.

Unrolled, a GRU over a context of T characters is T copies of its cell, a dozen graph
nodes each, and each node costs Python more than its numpy work on a (B, H) array.
Fused, the context is one node: the forward pass is a loop of numpy calls over the time
steps, and the backward pass is backpropagation through time, written out by hand
below. The tests hold both equal to the unrolled cells of :mod:`.recurrent`.

Notation: x_t (B, E) is the t-th character's embedding, h_t (B, H) the hidden state
after it, h_0 the learned start. A layer on [x, h] has a weight W of shape (E + H, H):
its first E rows W^x act on x, its last H rows W^h on h. No input term depends on h, so
the input terms of every step are one product, (T B, E) @ (E, ...), before the loop; so
are the weights' gradients after the backward loop, sums over the steps of x_t^T d_t.

RNN, forward:    h_t = tanh(a_t),   a_t = x_t W^x + h_{t-1} W^h + b.
RNN, backward, from g_T = dL/dh_T, for t = T, ..., 1:

    da_t    = g_t * (1 - h_t^2)
    g_{t-1} = da_t W^h^T

then dW^x = sum_t x_t^T da_t, dW^h = sum_t h_{t-1}^T da_t, db = sum_t da_t (over its
rows), dx_t = da_t W^x^T, and dh_0 = g_0.

GRU, forward, in makemore's formulation (r acts on h before the product):

    r_t    = sigmoid(x_t W_r^x + h_{t-1} W_r^h + b_r)            the reset gate
    z_t    = sigmoid(x_t W_z^x + h_{t-1} W_z^h + b_z)            the update gate
    hbar_t = tanh(x_t W_c^x + (r_t * h_{t-1}) W_c^h + b_c)       the candidate
    h_t    = (1 - z_t) * h_{t-1} + z_t * hbar_t

(c for the candidate hbar). GRU, backward, from g_t = dL/dh_t, the d's the gradients of
the pre-activations:

    d_c     = g_t * z_t * (1 - hbar_t^2)
    d_z     = g_t * (hbar_t - h_{t-1}) * z_t (1 - z_t)
    d_rh    = d_c W_c^h^T                          the gradient reaching r_t * h_{t-1}
    d_r     = d_rh * h_{t-1} * r_t (1 - r_t)
    g_{t-1} = g_t * (1 - z_t) + d_rh * r_t + d_r W_r^h^T + d_z W_z^h^T

and the weights' gradients as the RNN's, with r_t * h_{t-1} in place of h_{t-1} for
W_c^h.

>>> x, h0 = Tensor(np.ones((2, 3, 4))), Tensor(np.zeros((1, 5)))
>>> fused_rnn(x, h0, Tensor(np.zeros((9, 5))), Tensor(np.zeros(5))).shape
(2, 5)
"""

from __future__ import annotations

import numpy as np

from gpt_from_scratch.tensor import Tensor, speed


def rows(a: np.ndarray) -> np.ndarray:
    """(..., N) -> (M, N): every axis but the last folded into the rows."""
    return a.reshape(-1, a.shape[-1])


def sigmoid_(a: np.ndarray) -> np.ndarray:
    """sigmoid(a) = (tanh(a / 2) + 1) / 2 in place: no exp, so no overflow."""
    a *= 0.5
    np.tanh(a, out=a)
    a += 1.0
    a *= 0.5
    return a


def column_sums(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(d^T, ones): their product sums d's rows into (N, 1), a bias's gradient."""
    return rows(d).T, np.ones((len(rows(d)), 1), dtype=d.dtype)


# ----- RNN ----------------------------------------------------------------------------


def rnn_forward(x: np.ndarray, h0: np.ndarray, w: np.ndarray, b: np.ndarray):
    """The states h_0, ..., h_T (T + 1, B, H) of the tanh RNN over x (T, B, E), from
    h0 (1 or B, H)."""
    T, B, E = x.shape
    wh = w[E:]  # (H, H)
    hs = np.empty((T + 1, B, w.shape[1]), dtype=np.result_type(x, w))
    hs[0] = h0
    pre = speed.matmul(x, w[:E])  # (T, B, H): x_t W^x of every step at once
    pre += b
    for t in range(T):
        a = np.matmul(hs[t], wh, out=hs[t + 1])  # (B, H): h_{t-1} W^h
        a += pre[t]
        np.tanh(a, out=a)  # h_t
    return hs


def rnn_backward(g: np.ndarray, x: np.ndarray, hs: np.ndarray, w: np.ndarray):
    """(dx, dh_0, dW, db) from g = dL/dh_T (B, H), through every step back to h_0."""
    E = x.shape[2]
    wh = w[E:]  # (H, H)
    da = 1.0 - hs[1:] * hs[1:]  # (T, B, H): tanh' = 1 - h_t^2, becoming dL/da_t
    for t in reversed(range(len(x))):
        da[t] *= g
        g = da[t] @ wh.T  # (B, H): dL/dh_{t-1}
    dx, dwx, dwh, db = speed.matmuls(
        (da, w[:E].T),  # (T, B, E)
        (rows(x).T, rows(da)),  # (E, H)
        (rows(hs[:-1]).T, rows(da)),  # (H, H)
        column_sums(da),  # (H, 1)
    )
    return dx, g, np.concatenate([dwx, dwh]), db[:, 0]


def fused_rnn(x: Tensor, h0: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """h_T (B, H) of the tanh RNN over x (B, T, E) from h0 ((1, H) or (B, H)), as one
    node.

    ``weight`` (E + H, H) and ``bias`` (H,) are the cell's layer on [x, h].
    """
    check_recurrence(x, h0, weight, bias)
    xs = np.ascontiguousarray(x.data.transpose(1, 0, 2))  # (T, B, E): time first
    hs = rnn_forward(xs, h0.data, weight.data, bias.data)  # (T + 1, B, H)
    out = Tensor._op_result(hs[-1], (x, h0, weight, bias), "rnn")

    def _backward(grad):
        dxs, dh0, dw, db = rnn_backward(grad, xs, hs, weight.data)
        accumulate((x, dxs.transpose(1, 0, 2)), (h0, dh0), (weight, dw), (bias, db))

    out._backward = _backward
    return out


# ----- GRU ----------------------------------------------------------------------------


def gru_weights(E: int, w_r, b_r, w_z, b_z, w_hbar, b_hbar):
    """The three layers' arrays regrouped for the loop: (W^x of all three (E, 3H), their
    biases (3H,), W_r^h and W_z^h side by side (H, 2H), W_c^h (H, H))."""
    wx = np.concatenate([w_r[:E], w_z[:E], w_hbar[:E]], axis=1)  # (E, 3H): [r, z, hbar]
    w_rz = np.concatenate([w_r[E:], w_z[E:]], axis=1)  # (H, 2H)
    return wx, np.concatenate([b_r, b_z, b_hbar]), w_rz, w_hbar[E:]


def gru_forward(x: np.ndarray, h0: np.ndarray, weights):
    """The GRU over x (T, B, E) from h_0, with ``weights`` from :func:`gru_weights`.

    Returns what the backward needs: h_0, ..., h_T (T + 1, B, H), the gates [r_t, z_t]
    (T, B, 2H), r_t * h_{t-1} (T, B, H) and the candidates hbar_t (T, B, H).
    """
    wx, bx, w_rz, w_ch = weights
    T, B, _ = x.shape
    H = w_ch.shape[0]
    dtype = np.result_type(x, wx)
    hs = np.empty((T + 1, B, H), dtype=dtype)
    gates, rh, hbar = (np.empty((T, B, n), dtype=dtype) for n in (2 * H, H, H))
    hs[0] = h0
    pre = speed.matmul(x, wx)  # (T, B, 3H): the input terms of every step at once
    pre += bx
    for t in range(T):
        h = hs[t]
        rz = np.matmul(h, w_rz, out=gates[t])  # (B, 2H)
        rz += pre[t, :, : 2 * H]
        sigmoid_(rz)  # [r_t, z_t]
        r, z = rz[:, :H], rz[:, H:]
        np.multiply(r, h, out=rh[t])
        c = np.matmul(rh[t], w_ch, out=hbar[t])  # (B, H)
        c += pre[t, :, 2 * H :]
        np.tanh(c, out=c)  # hbar_t
        new = np.subtract(c, h, out=hs[t + 1])  # h_t = h_{t-1} + z_t (hbar_t - h_{t-1})
        new *= z
        new += h
    return hs, gates, rh, hbar


def gru_backward(g: np.ndarray, x: np.ndarray, saved, weights):
    """(dh_0, dx, dW^x (E, 3H), db (3H,), dW_rz^h (H, 2H), dW_c^h (H, H)) from
    g = dL/dh_T, with ``saved`` what :func:`gru_forward` returned."""
    hs, gates, rh, hbar = saved
    wx, _, w_rz, w_ch = weights
    H = w_ch.shape[0]
    d = np.empty(gates.shape[:2] + (3 * H,), hs.dtype)  # (T, B, 3H): [d_r, d_z, d_c]
    gate_slopes = gates * (1.0 - gates)  # (T, B, 2H): sigmoid' = s (1 - s), every step
    tanh_slopes = 1.0 - hbar * hbar  # (T, B, H): tanh' = 1 - hbar^2, every step
    for t in reversed(range(len(x))):
        h, c, r, z = hs[t], hbar[t], gates[t, :, :H], gates[t, :, H:]
        gz = g * z  # (B, H)
        d_c = np.multiply(gz, tanh_slopes[t], out=d[t, :, 2 * H :])
        d_rh = d_c @ w_ch.T  # (B, H)
        d_z = np.subtract(c, h, out=d[t, :, H : 2 * H])
        d_z *= g
        d_z *= gate_slopes[t, :, H:]
        d_r = np.multiply(d_rh, h, out=d[t, :, :H])
        d_r *= gate_slopes[t, :, :H]
        g_prev = d[t, :, : 2 * H] @ w_rz.T  # (B, H): dL/dh_{t-1}, through the gates
        g_prev += d_rh * r  # through r * h
        g_prev += g  # and through (1 - z) h: g - g z
        g_prev -= gz
        g = g_prev
    return (g, *gru_weight_grads(x, hs, rh, d, wx))


def gru_weight_grads(x, hs, rh, d, wx):
    """dx, dW^x, db, dW_rz^h, dW_c^h: sums over every step, in one parallel region."""
    H = rh.shape[2]
    dx, dwx, db, dw_rz, dw_ch = speed.matmuls(
        (d, wx.T),  # (T, B, E)
        (rows(x).T, rows(d)),  # (E, 3H)
        column_sums(d),  # (3H, 1)
        (rows(hs[:-1]).T, rows(d[:, :, : 2 * H])),  # (H, 2H)
        (rows(rh).T, rows(d[:, :, 2 * H :])),  # (H, H)
    )
    return dx, dwx, db[:, 0], dw_rz, dw_ch


def fused_gru(x, h0, w_r, b_r, w_z, b_z, w_hbar, b_hbar) -> Tensor:
    """h_T (B, H) of makemore's GRU over x (B, T, E) from h0 ((1, H) or (B, H)), as
    one node.

    Each gate's layer on [x, h] is a weight (E + H, H) and a bias (H,): reset (r),
    update (z) and candidate (hbar).
    """
    layers = ((w_r, b_r), (w_z, b_z), (w_hbar, b_hbar))
    for weight, bias in layers:
        check_recurrence(x, h0, weight, bias)
    E, H = x.shape[2], h0.shape[-1]
    xs = np.ascontiguousarray(x.data.transpose(1, 0, 2))  # (T, B, E): time first
    parents = (x, h0, w_r, b_r, w_z, b_z, w_hbar, b_hbar)
    weights = gru_weights(E, *(p.data for p in parents[2:]))
    saved = gru_forward(xs, h0.data, weights)
    out = Tensor._op_result(saved[0][-1], parents, "gru")

    def _backward(grad):
        dh0, dxs, dwx, db, dw_rz, dw_ch = gru_backward(grad, xs, saved, weights)
        dws = (dw_rz[:, :H], dw_rz[:, H:], dw_ch)  # the h rows of r, z, hbar
        grads = [(x, dxs.transpose(1, 0, 2)), (h0, dh0)]
        for k, (weight, bias) in enumerate(layers):
            dw = np.concatenate([dwx[:, k * H : (k + 1) * H], dws[k]])  # (E + H, H)
            grads += [(weight, dw), (bias, db[k * H : (k + 1) * H])]
        accumulate(*grads)

    out._backward = _backward
    return out


# ----- shared -------------------------------------------------------------------------


def accumulate(*pairs: tuple[Tensor, np.ndarray]) -> None:
    """Each gradient into its tensor, if it wants one (a broadcast start's summed)."""
    for tensor, grad in pairs:
        if tensor.requires_grad:
            tensor._accumulate(grad)


def check_recurrence(x: Tensor, h0: Tensor, weight: Tensor, bias: Tensor) -> None:
    """A ``ValueError`` unless x is (B, T, E) with T >= 1, h0 is (H,), (1, H) or (B, H),
    the weight (E + H, H) and the bias (H,)."""
    fits = (
        x.ndim == 3
        and x.shape[1] >= 1
        and h0.ndim in (1, 2)
        and h0.shape[:-1] in ((), (1,), (x.shape[0],))
        and weight.shape == (x.shape[2] + h0.shape[-1], h0.shape[-1])
        and bias.shape == (h0.shape[-1],)
    )
    if not fits:
        raise ValueError(
            f"recurrence: inputs (B, T, E) {x.shape}, start (1 or B, H) {h0.shape}, "
            f"weight (E + H, H) {weight.shape} and bias (H,) {bias.shape} do not fit"
        )
