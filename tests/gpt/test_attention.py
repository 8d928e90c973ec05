"""The fused causal attention op against an unfused engine reference, PyTorch, and finite
differences; the packed and cached variants against the plain one."""

import math

import numpy as np
import pytest

from gpt_from_scratch.tensor import Tensor, gradcheck
from gpt_from_scratch.tensor.attention import (
    cached_self_attention,
    causal_mask,
    causal_self_attention,
    linear_gelu,
    scaled_dot_product_attention,
)


def random_qkv(shape=(2, 3, 5, 4), seed=0):
    rng = np.random.default_rng(seed)
    return [Tensor(rng.standard_normal(shape), requires_grad=True, dtype=np.float64) for _ in "qkv"]


def unfused_attention(q, k, v):
    """Attention as a chain of ordinary engine operations."""
    T = q.shape[-2]
    scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))  # (B, nh, T, T)
    scores = scores.masked_fill(np.triu(np.ones((T, T), dtype=bool), 1), -np.inf)
    return scores.softmax(axis=-1) @ v  # (B, nh, T, hs)


def test_fused_equals_unfused_output_and_gradients():
    q, k, v = random_qkv()
    grad = np.random.default_rng(1).standard_normal(q.shape)
    scaled_dot_product_attention(q, k, v).backward(grad)
    fused = [q.grad, k.grad, v.grad]
    y = scaled_dot_product_attention(q, k, v).data
    q2, k2, v2 = (Tensor(t.data, requires_grad=True, dtype=np.float64) for t in (q, k, v))
    reference = unfused_attention(q2, k2, v2)
    reference.backward(grad)
    np.testing.assert_allclose(y, reference.data, atol=1e-12)
    for ours, theirs in zip(fused, (q2.grad, k2.grad, v2.grad), strict=True):
        np.testing.assert_allclose(ours, theirs, atol=1e-12)


@pytest.mark.oracle
def test_matches_pytorch(torch):
    q, k, v = random_qkv((3, 2, 7, 8), seed=2)
    grad = np.random.default_rng(3).standard_normal(q.shape)
    y = scaled_dot_product_attention(q, k, v)
    y.backward(grad)
    tq, tk, tv = (torch.tensor(t.data, requires_grad=True) for t in (q, k, v))
    ty = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=True)
    ty.backward(torch.tensor(grad))
    np.testing.assert_allclose(y.data, ty.detach().numpy(), atol=1e-12)
    for ours, theirs in ((q, tq), (k, tk), (v, tv)):
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), atol=1e-12)


@pytest.mark.oracle
def test_float32_matches_pytorch(torch):
    rng = np.random.default_rng(4)
    q, k, v = (rng.standard_normal((2, 4, 16, 8)).astype(np.float32) for _ in "qkv")
    ours = scaled_dot_product_attention(Tensor(q), Tensor(k), Tensor(v)).data
    theirs = torch.nn.functional.scaled_dot_product_attention(
        *(torch.tensor(a) for a in (q, k, v)), is_causal=True
    )
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, theirs.numpy(), atol=1e-5)


def test_gradcheck():
    q, k, v = random_qkv((1, 2, 4, 3), seed=5)
    gradcheck(lambda a, b, c: scaled_dot_product_attention(a, b, c).sum(), [q, k, v])


def test_future_gets_no_attention():
    """The first position's output is its own value, whatever comes after it."""
    q, k, v = random_qkv()
    y = scaled_dot_product_attention(q, k, v).data
    np.testing.assert_allclose(y[:, :, 0], v.data[:, :, 0])


def test_not_causal_attends_everywhere():
    q, k, v = random_qkv()
    y = scaled_dot_product_attention(q, k, v, is_causal=False).data
    scores = q.data @ np.swapaxes(k.data, -1, -2) / 2.0
    weights = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    np.testing.assert_allclose(y, weights @ v.data, atol=1e-12)


def split_heads(qkv, n_head):
    B, T, C3 = qkv.shape
    heads = qkv.reshape(B, T, 3, n_head, C3 // (3 * n_head)).permute(2, 0, 3, 1, 4)
    return heads[0], heads[1], heads[2]


def test_packed_equals_split_heads():
    rng = np.random.default_rng(6)
    qkv = Tensor(rng.standard_normal((2, 5, 3 * 8)), requires_grad=True, dtype=np.float64)
    grad = rng.standard_normal((2, 5, 8))
    causal_self_attention(qkv, n_head=2).backward(grad)
    packed = (causal_self_attention(qkv, n_head=2).data, qkv.grad)
    qkv2 = Tensor(qkv.data, requires_grad=True, dtype=np.float64)
    y = scaled_dot_product_attention(*split_heads(qkv2, 2))  # (B, nh, T, hs)
    merged = y.transpose(1, 2).reshape(2, 5, 8)
    merged.backward(grad)
    np.testing.assert_allclose(packed[0], merged.data, atol=1e-12)
    np.testing.assert_allclose(packed[1], qkv2.grad, atol=1e-12)


def test_cache_one_token_at_a_time_equals_all_at_once():
    rng = np.random.default_rng(7)
    qkv = rng.standard_normal((2, 6, 3 * 8))
    full = causal_self_attention(Tensor(qkv, dtype=np.float64), n_head=2).data
    cache = {}
    first = cached_self_attention(qkv[:, :2], 2, cache)  # a two-token prompt
    rest = [cached_self_attention(qkv[:, t : t + 1], 2, cache) for t in range(2, 6)]
    np.testing.assert_allclose(np.concatenate([first, *rest], axis=1), full, atol=1e-12)
    assert cache["k"].shape == (2, 2, 6, 4)


def test_mask_for_fewer_queries_than_keys():
    assert causal_mask(2, 4).astype(int).tolist() == [[0, 0, 0, 1], [0, 0, 0, 0]]


@pytest.mark.parametrize(
    "shapes, message",
    [
        (((2, 5, 4), (2, 5, 4), (2, 5, 4)), "must be \\(B, nh, T, hs\\)"),
        (((1, 2, 5, 4), (1, 2, 5, 3), (1, 2, 5, 3)), "must agree"),
        (((1, 2, 6, 4), (1, 2, 5, 4), (1, 2, 5, 4)), "6 queries but only 5 keys"),
    ],
)
def test_bad_shapes_are_clear_errors(shapes, message):
    q, k, v = (Tensor(np.zeros(s)) for s in shapes)
    with pytest.raises(ValueError, match=message):
        scaled_dot_product_attention(q, k, v)


def test_packed_bad_shape():
    with pytest.raises(ValueError, match="divisible by n_head=4"):
        causal_self_attention(Tensor(np.zeros((1, 3, 18))), n_head=4)


def test_linear_gelu_equals_the_engine_chain():
    rng = np.random.default_rng(8)
    x, w, b = (
        Tensor(rng.standard_normal(s), requires_grad=True, dtype=np.float64)
        for s in ((2, 3, 4), (4, 5), (5,))
    )
    grad = rng.standard_normal((2, 3, 5))
    fused = linear_gelu(x, w, b)
    fused.backward(grad)
    fused_grads = [t.grad for t in (x, w, b)]
    x2, w2, b2 = (Tensor(t.data, requires_grad=True, dtype=np.float64) for t in (x, w, b))
    chain = (x2 @ w2 + b2).gelu()
    chain.backward(grad)
    np.testing.assert_allclose(fused.data, chain.data, atol=1e-12)
    for ours, theirs in zip(fused_grads, (x2.grad, w2.grad, b2.grad), strict=True):
        np.testing.assert_allclose(ours, theirs, atol=1e-12)
    gradcheck(lambda a, c, d: linear_gelu(a, c, d).sum(), [x, w, b])
