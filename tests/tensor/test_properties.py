"""Random shapes drawn by hypothesis: forward and backward against PyTorch, in float64."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

from gpt_from_scratch.tensor import Tensor, manual_seed, nn
from gpt_from_scratch.tensor import functional as F

pytestmark = pytest.mark.oracle
# The torch fixture only sets the default dtype, so sharing it between examples is safe.
FEW = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def leaf(array):
    return Tensor(array, requires_grad=True, dtype=np.float64)


def check_against_torch(torch, ours_fn, torch_fn, *arrays):
    """Same inputs, same random output weights: values and every input's gradient must match."""
    ours_in = [leaf(a) for a in arrays]
    theirs_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    ours, theirs = ours_fn(*ours_in), torch_fn(*theirs_in)
    assert ours.shape == tuple(theirs.shape)
    weights = np.random.default_rng(0).standard_normal(ours.shape)
    (ours * weights).sum().backward()
    (theirs * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-9, atol=1e-12)
    for o, t in zip(ours_in, theirs_in, strict=True):
        np.testing.assert_allclose(o.grad, t.grad.numpy(), rtol=1e-8, atol=1e-10)


def values(shape, seed, positive=False):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.5, 2.0, shape) if positive else rng.standard_normal(shape)


@FEW
@given(
    shapes=mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4),
    op=st.sampled_from(["+", "-", "*", "/", "**"]),
)
def test_broadcasting_arithmetic_matches_pytorch(torch, shapes, op):
    a, b = values(shapes.input_shapes[0], 1, True), values(shapes.input_shapes[1], 2, True)
    apply = {
        "+": lambda x, y: x + y,
        "-": lambda x, y: x - y,
        "*": lambda x, y: x * y,
        "/": lambda x, y: x / y,
        "**": lambda x, y: x**y,
    }[op]
    check_against_torch(torch, apply, apply, a, b)


@FEW
@given(
    batch=array_shapes(min_dims=0, max_dims=2, max_side=3),
    m=st.integers(1, 4),
    k=st.integers(1, 4),
    n=st.integers(1, 4),
    weight_is_matrix=st.booleans(),
)
def test_batched_matmul_matches_pytorch(torch, batch, m, k, n, weight_is_matrix):
    a = values(batch + (m, k), 1)
    b = values((k, n) if weight_is_matrix else batch + (k, n), 2)
    check_against_torch(torch, lambda x, y: x @ y, lambda x, y: x @ y, a, b)


@FEW
@given(
    shape=array_shapes(min_dims=1, max_dims=4, min_side=2, max_side=4),
    data=st.data(),
    keepdims=st.booleans(),
    reduction=st.sampled_from(["sum", "mean", "max", "var"]),
)
def test_reductions_match_pytorch(torch, shape, data, keepdims, reduction):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    ours = {
        "sum": lambda x: x.sum(axis=axis, keepdims=keepdims),
        "mean": lambda x: x.mean(axis=axis, keepdims=keepdims),
        "max": lambda x: x.max(axis=axis, keepdims=keepdims),
        "var": lambda x: x.var(axis=axis, keepdims=keepdims),
    }[reduction]
    theirs = {
        "sum": lambda x: x.sum(dim=axis, keepdim=keepdims),
        "mean": lambda x: x.mean(dim=axis, keepdim=keepdims),
        "max": lambda x: x.amax(dim=axis, keepdim=keepdims),
        "var": lambda x: x.var(dim=axis, keepdim=keepdims),
    }[reduction]
    check_against_torch(torch, ours, theirs, values(shape, 3))


@FEW
@given(shape=array_shapes(min_dims=1, max_dims=3, max_side=5), data=st.data())
def test_softmax_family_and_activations_match_pytorch(torch, shape, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    tf = torch.nn.functional

    def ours(x):
        return x.softmax(axis) + x.log_softmax(axis) + x.gelu() + x.sigmoid() + x.tanh() * x.exp()

    def theirs(x):
        gelu = tf.gelu(x, approximate="tanh")
        smax, lsmax = torch.softmax(x, axis), torch.log_softmax(x, axis)
        return smax + lsmax + gelu + torch.sigmoid(x) + torch.tanh(x) * torch.exp(x)

    check_against_torch(torch, ours, theirs, 3 * values(shape, 4))


@FEW
@given(
    rows=st.integers(1, 12),
    classes=st.integers(2, 7),
    use_ignore=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_cross_entropy_matches_pytorch(torch, rows, classes, use_ignore, seed):
    rng = np.random.default_rng(seed)
    targets = rng.integers(0, classes, rows)
    if use_ignore:
        targets[rng.random(rows) < 0.3] = -100
        targets[0] = 0  # at least one row counts
    ignore = -100 if use_ignore else None
    check_against_torch(
        torch,
        lambda z: F.cross_entropy(z, targets, ignore_index=ignore),
        lambda z: torch.nn.functional.cross_entropy(z, torch.tensor(targets), ignore_index=-100),
        10 * rng.standard_normal((rows, classes)),
    )


@FEW
@given(vocab=st.integers(1, 6), ids_shape=array_shapes(min_dims=1, max_dims=3, max_side=5))
def test_embedding_lookup_matches_pytorch(torch, vocab, ids_shape):
    ids = np.random.default_rng(0).integers(0, vocab, ids_shape)  # many repeats
    check_against_torch(
        torch,
        lambda table: table[ids],
        lambda table: torch.nn.functional.embedding(torch.tensor(ids), table),
        values((vocab, 3), 5),
    )


@FEW
@given(shape=array_shapes(min_dims=2, max_dims=4, max_side=4), data=st.data())
def test_permute_reshape_and_masked_fill_match_pytorch(torch, shape, data):
    axes = data.draw(st.permutations(range(len(shape))))
    mask = np.random.default_rng(1).random(shape[-1:]) < 0.5

    def ours(x):
        return x.permute(*axes).reshape(-1).reshape(shape[::-1]).T.masked_fill(mask, 0.25) * x

    def theirs(x):
        y = x.permute(*axes).reshape(-1).reshape(shape[::-1]).permute(*reversed(range(len(shape))))
        return y.masked_fill(torch.tensor(mask), 0.25) * x

    check_against_torch(torch, ours, theirs, values(shape, 6))


@FEW
@given(batch=st.integers(2, 6), length=st.integers(1, 4), dim=st.integers(1, 5))
def test_linear_layernorm_batchnorm_stack_matches_pytorch(torch, batch, length, dim):
    manual_seed(0)
    ours_model = nn.Sequential(nn.Linear(dim, 4), nn.LayerNorm(4), nn.BatchNorm1d(4), nn.Tanh())
    ours_model.to(np.float64)
    linear = torch.nn.Linear(dim, 4)
    with torch.no_grad():  # our weight is (fan_in, fan_out), PyTorch's its transpose
        linear.weight.copy_(torch.tensor(ours_model[0].weight.data.T))
        linear.bias.copy_(torch.tensor(ours_model[0].bias.data))
    norm, batchnorm = torch.nn.LayerNorm(4), torch.nn.BatchNorm1d(4)

    def theirs(x):
        h = norm(linear(x))
        h = batchnorm(h.transpose(1, 2)).transpose(1, 2)  # PyTorch's channels are axis 1
        return torch.tanh(h)

    x = values((batch, length, dim), 7)
    check_against_torch(torch, ours_model, theirs, x)
