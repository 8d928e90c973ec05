"""The fused causal attention op against an unfused engine reference, PyTorch, and finite
differences; the packed and cached variants against the plain one; two threads against one."""

import doctest
import math

import numpy as np
import pytest

from gpt_from_scratch.gpt import attention
from gpt_from_scratch.gpt.attention import (
    attention_backward,
    attention_forward,
    cached_self_attention,
    causal_mask,
    causal_self_attention,
    linear_gelu,
    scaled_dot_product_attention,
)
from gpt_from_scratch.tensor import Tensor, gradcheck


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


def test_docstring_examples():
    result = doctest.testmod(attention)
    assert result.attempted > 0 and result.failed == 0


# ----- two threads give what one gives -----


def random(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def forward_and_backward(function, *inputs):
    """function(*inputs) and the inputs' gradients, for a fixed random output gradient."""
    tensors = [Tensor(a, requires_grad=True) for a in inputs]
    y = function(*tensors)
    y.backward(random(*y.shape, seed=99))
    return [y.data] + [t.grad for t in tensors]


def cached_one_token_at_a_time():
    qkv, cache = random(3, 6, 24), {}
    first = cached_self_attention(qkv[:, :2], 2, cache)  # a two-token prompt
    rest = [cached_self_attention(qkv[:, t : t + 1], 2, cache) for t in range(2, 6)]
    return [first, *rest, cache["k"], cache["v"]]


PARALLEL_OPERATIONS = {
    "attention": lambda: forward_and_backward(
        scaled_dot_product_attention, random(3, 2, 7, 4), random(3, 2, 7, 4), random(3, 2, 7, 4)
    ),
    "attention, fewer queries than keys": lambda: forward_and_backward(
        scaled_dot_product_attention, random(3, 2, 2, 4), random(3, 2, 7, 4), random(3, 2, 7, 4)
    ),
    "packed self-attention": lambda: forward_and_backward(
        lambda qkv: causal_self_attention(qkv, n_head=2), random(3, 10, 24)
    ),
    "cached self-attention": cached_one_token_at_a_time,
    "linear_gelu with bias": lambda: forward_and_backward(
        linear_gelu, random(3, 10, 8), random(8, 16), random(16)
    ),
    "linear_gelu without bias": lambda: forward_and_backward(
        lambda x, w: linear_gelu(x, w, None), random(30, 8), random(8, 16)
    ),
}


@pytest.mark.parametrize("operation", list(PARALLEL_OPERATIONS))
def test_two_threads_give_what_one_thread_gives(same_on_two_threads, operation):
    same_on_two_threads(PARALLEL_OPERATIONS[operation])


def test_attention_backward_writes_into_given_arrays(thread_count, split_everything):
    thread_count(2)
    rng = np.random.default_rng(4)
    q, k, v, g = (rng.standard_normal((4, 2, 5, 3)) for _ in range(4))
    _, probs = attention_forward(q, k, v)
    expected = attention_backward(g, q, k, v, probs)
    packed = np.zeros((3, 2, 4, 5, 3)).transpose(0, 2, 1, 3, 4)  # strided views, as in use
    outs = tuple(packed)
    returned = attention_backward(g, q, k, v, probs, out=outs)
    for got, into, want in zip(returned, outs, expected, strict=True):
        assert got is into
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_attention_on_one_sequence_equals_a_batch_of_one(thread_count, split_everything):
    thread_count(2)
    rng = np.random.default_rng(5)
    q, k, v, g = (rng.standard_normal((6, 4)) for _ in range(4))
    y, probs = attention_forward(q, k, v)
    y_batched, probs_batched = attention_forward(q[None], k[None], v[None])
    np.testing.assert_array_equal(y, y_batched[0])
    np.testing.assert_array_equal(probs, probs_batched[0])
    outs = tuple(np.empty((6, 4)) for _ in range(3))
    grads = attention_backward(g, q, k, v, probs, out=outs)
    batched = attention_backward(g[None], q[None], k[None], v[None], probs[None])
    for got, into, want in zip(grads, outs, batched, strict=True):
        assert got is into
        np.testing.assert_array_equal(got, want[0])
