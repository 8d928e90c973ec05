"""The engine's operations: gradients by finite differences, values against PyTorch, errors."""

import warnings

import numpy as np
import pytest

from gpt_from_scratch.tensor import Tensor, cat, gradcheck, no_grad, optim, stack, tensor
from gpt_from_scratch.tensor.engine import _sum_to_shape, topological_order


def rand(*shape, seed=0, low=-1.0, high=1.0):
    return np.random.default_rng(seed).uniform(low, high, size=shape)


# ----- gradcheck on every operation -----

BINARY_SHAPES = [
    ((3, 4), (3, 4)),
    ((3, 4), (4,)),
    ((2, 3, 4), (3, 1)),
    ((1, 4), (5, 1)),
    ((), (2, 2)),
]


@pytest.mark.parametrize("shape_a, shape_b", BINARY_SHAPES)
@pytest.mark.parametrize(
    "op",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a * b,
        lambda a, b: a / b,
        lambda a, b: a**b,
    ],
    ids=["add", "sub", "mul", "div", "pow"],
)
def test_broadcasting_binary_ops_pass_gradcheck(op, shape_a, shape_b):
    # positive inputs away from zero keep / and ** smooth
    a, b = rand(*shape_a, seed=1, low=0.5, high=2.0), rand(*shape_b, seed=2, low=0.5, high=2.0)
    assert gradcheck(op, [a, b])


@pytest.mark.parametrize(
    "op",
    [
        lambda x: -x,
        lambda x: x**3,
        lambda x: x**-0.5,
        lambda x: x.exp(),
        lambda x: x.log(),
        lambda x: x.tanh(),
        lambda x: x.sigmoid(),
        lambda x: x.gelu(),
        lambda x: 2.0 - x,
        lambda x: 1.5 / x,
        lambda x: 2.0**x,
    ],
    ids=["neg", "cube", "rsqrt", "exp", "log", "tanh", "sigmoid", "gelu", "rsub", "rdiv", "rpow"],
)
def test_unary_ops_pass_gradcheck(op):
    assert gradcheck(op, [rand(3, 4, low=0.2, high=2.0)])


def test_relu_passes_gradcheck_away_from_the_kink():
    x = rand(4, 5)
    x[np.abs(x) < 0.05] = 0.3
    assert gradcheck(lambda t: t.relu(), [x])


@pytest.mark.parametrize(
    "shape_a, shape_b",
    [
        ((3, 4), (4, 5)),
        ((2, 3, 4), (4, 5)),
        ((2, 3, 4), (2, 4, 5)),
        ((2, 1, 3, 4), (5, 4, 2)),
        ((4,), (4, 5)),
        ((3, 4), (4,)),
        ((4,), (2, 4, 3)),
        ((2, 3, 4), (4,)),
        ((4,), (4,)),
    ],
)
def test_matmul_with_batch_dimensions_passes_gradcheck(shape_a, shape_b):
    assert gradcheck(lambda a, b: a @ b, [rand(*shape_a, seed=1), rand(*shape_b, seed=2)])


@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2)])
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("reduction", ["sum", "mean", "max", "var"])
def test_reductions_pass_gradcheck(reduction, axis, keepdims):
    x = rand(2, 3, 4)
    assert gradcheck(lambda t: getattr(t, reduction)(axis=axis, keepdims=keepdims), [x])


def test_biased_var_passes_gradcheck():
    assert gradcheck(lambda t: t.var(axis=0, unbiased=False), [rand(5, 3)])


def test_max_shares_the_gradient_between_ties():
    x = Tensor([[1.0, 3.0, 3.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    assert x.grad.tolist() == [[0.0, 0.5, 0.5]]


@pytest.mark.parametrize(
    "op",
    [
        lambda x: x.reshape(4, 6),
        lambda x: x.view(-1),
        lambda x: x.transpose(0, 2),
        lambda x: x.permute(1, 2, 0),
        lambda x: x.T,
        lambda x: x[1],
        lambda x: x[:, 1:3, ::2],
        lambda x: x[..., -1],
        lambda x: x[np.array([0, 1, 1, 0])],
        lambda x: x[np.array([1, 1]), np.array([0, 2])],
        lambda x: x[:, np.array([[2, 2], [0, 2]])],
        lambda x: x.masked_fill(np.arange(4) % 2 == 0, -5.0),
        lambda x: x.softmax(axis=-1),
        lambda x: x.softmax(axis=0),
        lambda x: x.log_softmax(axis=1),
    ],
    ids=[
        "reshape",
        "view",
        "transpose",
        "permute",
        "T",
        "int",
        "slices",
        "ellipsis",
        "rows",
        "pairs",
        "gather",
        "masked_fill",
        "softmax",
        "softmax0",
        "log_softmax",
    ],
)
def test_shape_and_index_ops_pass_gradcheck(op):
    assert gradcheck(op, [rand(2, 3, 4)])


def test_repeated_indices_accumulate():
    table = Tensor(np.zeros((4, 2)), requires_grad=True)
    ids = np.array([[3, 1], [3, 3]])
    table[ids].sum().backward()
    assert table.grad.tolist() == [[0, 0], [1, 1], [0, 0], [3, 3]]


def test_embedding_lookup_with_repeats_passes_gradcheck():
    ids = np.array([[0, 2, 2], [4, 0, 2]])
    assert gradcheck(lambda table: table[ids], [rand(5, 3)])


def test_indexing_by_integer_tensor():
    x = Tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    x[tensor([2, 2])].sum().backward()
    assert x.grad.tolist() == [[0, 0], [0, 0], [2, 2]]


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_cat_and_stack_pass_gradcheck(axis):
    a, b = rand(2, 3, seed=1), rand(2, 3, seed=2)
    c = rand(2, 3, seed=3)
    assert gradcheck(lambda x, y, z: cat([x, y, z], axis=axis), [a, b, c])
    assert gradcheck(lambda x, y, z: stack([x, y, z], axis=axis), [a, b, c])


def test_cat_of_different_widths():
    assert gradcheck(lambda x, y: cat([x, y], axis=1), [rand(2, 3), rand(2, 5)])


def test_a_tensor_used_twice_gets_both_gradients():
    x = Tensor([2.0], requires_grad=True)
    y = x * x + x  # dy/dx = 2x + 1
    y.backward()
    assert x.grad.tolist() == [5.0]


def test_a_gradient_handed_to_two_tensors_is_never_written_in_place():
    a = Tensor(rand(3), requires_grad=True)
    b = Tensor(rand(3), requires_grad=True)
    (a + b).sum().backward()  # both receive the same (read-only, broadcast) gradient array
    a.grad *= 10.0  # a user scaling one leaf's gradient
    assert a.grad.tolist() == [10.0] * 3 and b.grad.tolist() == [1.0] * 3
    a.zero_grad()
    h = a * 2.0
    (h + h).sum().backward()  # h receives that shared array twice: the sum must be a new array
    assert h.grad.tolist() == [2.0] * 3 and a.grad.tolist() == [4.0] * 3


def test_a_leaf_added_to_itself_gets_both_gradients():
    a = Tensor(rand(2, 3), requires_grad=True)
    weights = rand(2, 3, seed=4)
    ((a + a) * Tensor(weights)).sum().backward()
    np.testing.assert_allclose(a.grad, 2.0 * weights, rtol=1e-6)
    assert a.grad.flags.writeable
    assert gradcheck(lambda x: (x + x) * Tensor(weights), [rand(2, 3, seed=5)])


@pytest.mark.parametrize("seeded", [False, True], ids=["loss", "grad-argument"])
def test_clipping_one_leaf_leaves_the_other_leafs_gradient_alone(seeded):
    a, b = Tensor(rand(3, seed=1), requires_grad=True), Tensor(rand(3, seed=2), requires_grad=True)
    weights = np.array([3.0, -4.0, 12.0], dtype=np.float32)
    y = (a + b) * Tensor(weights)  # a and b receive one and the same gradient array
    if seeded:
        y.backward(np.ones(3, dtype=np.float32))
    else:
        y.sum().backward()
    norm = optim.clip_grad_norm_([a], 1.0)
    assert norm == pytest.approx(13.0)
    np.testing.assert_allclose(a.grad, weights / 13.0, rtol=1e-5)
    np.testing.assert_allclose(b.grad, weights)
    assert a.grad.flags.writeable and b.grad.flags.writeable


def test_backward_keeps_the_callers_gradient_array_unchanged_and_unshared():
    x = Tensor(rand(2, 3), requires_grad=True)
    seed = np.ones((3, 2), dtype=np.float32)
    x.reshape(3, 2).backward(seed)
    seed[0, 0] = 7.0
    assert x.grad.tolist() == [[1.0] * 3] * 2
    x.grad = x.grad * 0.5  # what clipping does, and backward accumulates onto it
    x.reshape(3, 2).backward(seed)
    assert x.grad.tolist() == [[7.5, 1.5, 1.5], [1.5, 1.5, 1.5]]
    assert seed[0].tolist() == [7.0, 1.0]


def test_backward_on_a_long_chain_does_not_recurse():
    x = Tensor([1.0], requires_grad=True)
    y = x
    for _ in range(5000):
        y = y + 0.0
    y.backward()
    assert x.grad.tolist() == [1.0]


def test_topological_order_puts_parents_first():
    a = Tensor(1.0, requires_grad=True)
    b = a * 2.0
    c = b + a
    order = topological_order(c)
    assert order.index(a) < order.index(b) < order.index(c)


def test_sum_to_shape_rule():
    grad = np.arange(6.0).reshape(2, 3)
    assert _sum_to_shape(grad, (3,)).tolist() == [3.0, 5.0, 7.0]
    assert _sum_to_shape(grad, (2, 1)).tolist() == [[3.0], [12.0]]
    assert _sum_to_shape(grad, ()).tolist() == 15.0


# ----- dtypes, no_grad, detach -----


def test_float32_by_default_float64_on_request():
    assert Tensor([1.0, 2.0]).dtype == np.float32
    assert Tensor(np.zeros(2)).dtype == np.float32
    assert Tensor([1.0], dtype=np.float64).dtype == np.float64
    assert Tensor([1, 2]).dtype.kind == "i"


def test_python_and_float64_constants_do_not_upcast():
    x = Tensor(np.ones(3), requires_grad=True)
    y = (x * 0.1 + np.float64(2.0)) / 3.0 - np.ones(3)
    y = y.gelu().sigmoid().exp().log().tanh() ** 2
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32


def test_no_grad_builds_no_graph():
    w = Tensor([1.0, 2.0], requires_grad=True)
    with no_grad():
        y = (w * 3.0).sum()
    assert not y.requires_grad and y._parents == ()
    with no_grad():
        w.data *= 0.5  # the documented way to rescale a parameter in place
    assert w.data.tolist() == [0.5, 1.0]


def test_no_grad_as_a_decorator():
    @no_grad()
    def double(t):
        return t * 2.0

    assert not double(Tensor([1.0], requires_grad=True)).requires_grad


def test_detach_stops_the_gradient():
    x = Tensor([3.0], requires_grad=True)
    y = x * x.detach()  # gradient flows only through the first factor
    y.backward()
    assert x.grad.tolist() == [3.0]


def test_gradients_accumulate_across_backward_calls_until_zeroed():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    (x * x).sum().backward()
    assert x.grad.tolist() == [4.0, 8.0]
    x.zero_grad()
    assert x.grad is None


# ----- errors -----


def test_mismatched_shapes_name_both_shapes():
    a, b = Tensor(np.ones((3, 4)), requires_grad=True), Tensor(np.ones((5,)))
    with pytest.raises(ValueError, match=r"\(3, 4\) and \(5,\)"):
        a + b
    with pytest.raises(ValueError, match=r"\(3, 4\) and \(5,\)"):
        a * b
    with pytest.raises(ValueError, match=r"\(3, 4\) and \(3, 4\)"):
        a @ Tensor(np.ones((3, 4)))
    assert a.grad is None


def test_backward_from_a_non_scalar_needs_a_gradient():
    x = Tensor(np.ones((2, 3)), requires_grad=True)
    y = x * 2.0
    with pytest.raises(RuntimeError, match=r"shape \(2, 3\)"):
        y.backward()
    assert x.grad is None and y.grad is None
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 3\)"):
        y.backward(np.ones(3))
    assert x.grad is None


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(TypeError, match="int64"):
        Tensor(np.array([1, 2]), requires_grad=True)
    t = Tensor([1, 2])
    with pytest.raises(TypeError, match="floating-point"):
        t.requires_grad_()
    assert not t.requires_grad


def test_backward_without_any_grad_input_is_an_error():
    with pytest.raises(RuntimeError, match="does not require a gradient"):
        (Tensor([1.0]) * 2.0).backward()


def test_bad_reshape_and_axis_errors():
    x = Tensor(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"shape \(2, 3\).*\(4, 2\)"):
        x.reshape(4, 2)
    with pytest.raises(ValueError, match="axis 2 is out of range"):
        x.sum(axis=2)
    with pytest.raises(IndexError, match="float"):
        x[np.array([0.5])]


# ----- against PyTorch -----


@pytest.mark.oracle
def test_ops_match_pytorch(torch):
    rng = np.random.default_rng(0)
    a_np, b_np = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 5))
    ids = np.array([2, 0, 2, 1])

    def ours_and_theirs(module, a, b):
        h = (a @ b).tanh() * 2.0 + (a @ b).sigmoid()  # (2, 3, 5)
        h = h - h.max(axis=-1, keepdims=True) if module == "ours" else h - h.amax(-1, True)
        sm = h.softmax(-1) if module == "ours" else torch.softmax(h, -1)
        g = a.gelu() if module == "ours" else torch.nn.functional.gelu(a, approximate="tanh")
        var = g.var(axis=1) if module == "ours" else g.var(dim=1)
        picked = g.reshape(8, 3)[ids] if module == "ours" else g.reshape(8, 3)[ids]
        return (sm**2).sum() + var.mean() + (picked.exp() / 3.0).sum()

    a, b = Tensor(a_np, requires_grad=True, dtype=np.float64), Tensor(b_np, True, np.float64)
    ta, tb = torch.tensor(a_np, requires_grad=True), torch.tensor(b_np, requires_grad=True)
    ours, theirs = ours_and_theirs("ours", a, b), ours_and_theirs("torch", ta, tb)
    ours.backward()
    theirs.backward()
    np.testing.assert_allclose(ours.item(), theirs.item(), rtol=1e-10)
    np.testing.assert_allclose(a.grad, ta.grad.numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(b.grad, tb.grad.numpy(), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("limit", [0, 10**9], ids=["sorted-segments", "one-hot"])
def test_both_embedding_backward_paths_accumulate_repeats(monkeypatch, limit):
    monkeypatch.setattr("gpt_from_scratch.tensor.speed.kernels.ONE_HOT_LIMIT", limit)
    ids = np.array([[0, 2, 2], [4, 0, -1]])  # -1 is the last row, as in numpy
    assert gradcheck(lambda table: table[ids], [rand(5, 3)])


def test_sigmoid_and_softmax_are_stable_at_extremes():
    x = Tensor([-1000.0, 0.0, 1000.0], requires_grad=True)
    y = x.sigmoid()
    assert y.tolist() == [0.0, 0.5, 1.0]
    scores = Tensor([[0.0, 1000.0, -np.inf]], requires_grad=True)
    probs = scores.softmax(axis=-1)
    assert probs.tolist() == [[0.0, 1.0, 0.0]]
    (y.sum() + (probs * Tensor([[1.0, 2.0, 3.0]])).sum()).backward()
    assert np.all(np.isfinite(x.grad)) and np.all(np.isfinite(scores.grad))


def test_gelu_is_finite_and_silent_at_extremes():
    x = Tensor([-1000.0, -20.0, 0.0, 20.0, 1000.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the gate's exp overflows to inf on purpose
        y = x.gelu()
        y.sum().backward()
    assert y.tolist() == [0.0, 0.0, 0.0, 20.0, 1000.0]
    assert x.grad.tolist() == [0.0, 0.0, 0.5, 1.0, 1.0]


def test_causal_mask_with_masked_fill_and_softmax():
    scores = Tensor(np.zeros((3, 3)), requires_grad=True)
    future = np.triu(np.ones((3, 3), dtype=bool), k=1)
    weights = scores.masked_fill(future, -np.inf).softmax(axis=-1)
    np.testing.assert_allclose(weights.data[2], [1 / 3, 1 / 3, 1 / 3], rtol=1e-6)
    assert weights.data[0].tolist() == [1.0, 0.0, 0.0]
    (weights * Tensor(np.arange(9.0).reshape(3, 3))).sum().backward()
    assert np.all(scores.grad[future] == 0)


def test_cat_stack_and_masked_fill_errors_name_the_shapes():
    a, b = Tensor(np.ones((2, 3))), Tensor(np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"\(2, 3\), \(3, 2\)"):
        cat([a, b], axis=0)
    with pytest.raises(ValueError, match=r"\(2, 3\), \(3, 2\)"):
        stack([a, b])
    with pytest.raises(ValueError, match=r"mask of shape \(4,\).*\(2, 3\)"):
        a.masked_fill(np.ones(4, dtype=bool), 0.0)
    with pytest.raises(ValueError, match=r"mask of shape \(5, 1, 3\).*\(2, 3\)"):
        a.masked_fill(np.ones((5, 1, 3), dtype=bool), 0.0)


def test_matmul_of_vectors_and_errors():
    v = Tensor([1.0, 2.0], requires_grad=True)
    (v @ v).backward()
    assert v.grad.tolist() == [2.0, 4.0]
    with pytest.raises(ValueError, match="at least 1-D"):
        Tensor(1.0) @ v


def test_a_tensor_built_from_a_tensor_keeps_its_dtype_and_shares_no_graph():
    x = Tensor([1.5], requires_grad=True, dtype=np.float64)
    y = Tensor(x)
    assert y.dtype == np.float64 and not y.requires_grad
    assert float(y) == 1.5


def test_backward_twice_through_the_same_graph_adds_the_same_gradient_twice():
    x = Tensor([1.0, 2.0], requires_grad=True)
    hidden = x * x  # an intermediate tensor whose grad must not carry over
    loss = (hidden * 3.0).sum()
    loss.backward()
    loss.backward()
    assert x.grad.tolist() == [12.0, 24.0]  # 2 * (6x)
    assert hidden.grad.tolist() == [3.0, 3.0]


def test_a_graph_holds_no_reference_cycles(nodes_left_after_dropping):
    x = Tensor(rand(4, 3), requires_grad=True)
    w = Tensor(rand(3, 5, seed=1), requires_grad=True)

    def build():
        h = (x @ w).tanh().gelu().relu() * 2.0 - 1.0
        h = (h / (h.exp() + 1.0)).sigmoid().log_softmax(axis=-1) + h.softmax(axis=-1)
        h = cat([h, h.max(axis=0, keepdims=True)], axis=0).reshape(-1).var(keepdims=True)
        return (stack([h, h.mean(keepdims=True)]) ** 2 + x[0, :1].masked_fill([True], 0.0)).sum()

    assert nodes_left_after_dropping(build) == 0
