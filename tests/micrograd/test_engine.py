"""The scalar engine: every op's gradient against finite differences and against PyTorch."""

import math
import sys
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from gpt_from_scratch.micrograd.engine import Value, derivative, topological_order
from gpt_from_scratch.micrograd.train import hinge_loss

# name -> (an expression that works on a Value and on a float, a point to test at)
UNARY_OPS = {
    "neg": (lambda x: -x, 0.7),
    "add_const": (lambda x: x + 2.5, 0.7),
    "radd": (lambda x: 2.5 + x, 0.7),
    "sub_const": (lambda x: x - 2.5, 0.7),
    "rsub": (lambda x: 2.5 - x, 0.7),
    "mul_const": (lambda x: x * -1.5, 0.7),
    "rmul": (lambda x: -1.5 * x, 0.7),
    "div_const": (lambda x: x / 4.0, 0.7),
    "rtruediv": (lambda x: 4.0 / x, 0.7),
    "pow_int": (lambda x: x**3, 0.7),
    "pow_float": (lambda x: x**2.5, 0.7),
    "pow_negative": (lambda x: x**-2, 0.7),
    "square_by_self": (lambda x: x * x, 0.7),
    "add_self": (lambda x: x + x, 0.7),
}

# name -> (method on a Value, the same function on a float, points to test at)
FUNCTIONS = {
    "exp": (lambda v: v.exp(), math.exp, [-1.3, 0.0, 0.8]),
    "log": (lambda v: v.log(), math.log, [0.2, 1.0, 3.5]),
    "tanh": (lambda v: v.tanh(), math.tanh, [-1.3, 0.0, 0.8]),
    "relu": (lambda v: v.relu(), lambda x: max(x, 0.0), [-1.3, 0.8]),
    "sigmoid": (lambda v: v.sigmoid(), lambda x: 1 / (1 + math.exp(-x)), [-1.3, 0.0, 0.8]),
}


def grad_of(f, x):
    """(f(x).data, d f / d x) computed by the engine."""
    v = Value(x)
    out = f(v)
    out.backward()
    return out.data, v.grad


@pytest.mark.parametrize("name", UNARY_OPS)
def test_arithmetic_gradient_matches_finite_differences(name):
    f, x = UNARY_OPS[name]
    value, grad = grad_of(f, x)
    assert value == pytest.approx(f(x), rel=1e-12)
    assert grad == pytest.approx(derivative(f, x), rel=1e-6)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_gradient_matches_finite_differences(name):
    method, reference, points = FUNCTIONS[name]
    for x in points:
        value, grad = grad_of(method, x)
        assert value == pytest.approx(reference(x), rel=1e-12)
        assert grad == pytest.approx(derivative(reference, x), rel=1e-6, abs=1e-9)


def test_binary_gradients_match_finite_differences():
    a, b = 1.3, -0.6
    cases = {
        "add": lambda x, y: x + y,
        "sub": lambda x, y: x - y,
        "mul": lambda x, y: x * y,
        "div": lambda x, y: x / y,
    }
    for name, f in cases.items():
        va, vb = Value(a), Value(b)
        f(va, vb).backward()
        assert va.grad == pytest.approx(derivative(lambda x, f=f: f(x, b), a), rel=1e-6), name
        assert vb.grad == pytest.approx(derivative(lambda y, f=f: f(a, y), b), rel=1e-6), name


def test_sigmoid_is_stable_for_large_inputs():
    assert Value(1000.0).sigmoid().data == 1.0
    assert Value(-1000.0).sigmoid().data == 0.0


def test_gradients_accumulate_when_a_value_is_reused():
    a = Value(3.0)
    b = a + a  # db/da = 2: one path through each operand slot
    b.backward()
    assert a.grad == 2.0
    x = Value(-2.0)
    y = x * x * x + x  # dy/dx = 3x^2 + 1
    y.backward()
    assert x.grad == 13.0


def test_tanh_as_one_op_equals_tanh_composed_from_exp():
    x1, x2 = Value(0.8813735870195432), Value(0.8813735870195432)
    one_op = x1.tanh()
    e = (2 * x2).exp()
    composed = (e - 1) / (e + 1)
    one_op.backward()
    composed.backward()
    assert composed.data == pytest.approx(one_op.data, rel=1e-12)
    assert x2.grad == pytest.approx(x1.grad, rel=1e-12)


def test_a_chain_of_100000_operations_backpropagates():
    assert sys.getrecursionlimit() < 100_000  # so recursion anywhere would fail here
    x = Value(0.5)
    y = x
    for _ in range(50_000):
        y = (y * 1.0) + 0.0  # two operations per round
    y.backward()
    assert x.grad == 1.0
    assert len(topological_order(y)) == 1 + 4 * 50_000  # x, then per round 2 constants + 2 ops
    assert repr(y) == "Value(data=0.5, grad=1.0)"


def test_topological_order_puts_inputs_first():
    a = Value(1.0)
    b = a * 2.0
    c = b + a
    order = topological_order(c)
    position = {id(v): i for i, v in enumerate(order)}
    assert order[-1] is c
    for v in order:
        for child in v._prev:
            assert position[id(child)] < position[id(v)]


def test_value_exponent_raises_type_error():
    with pytest.raises(TypeError, match=r"Value \*\* Value: the exponent must be an int or float"):
        Value(2.0) ** Value(3.0)
    with pytest.raises(TypeError, match=r"float \*\* Value"):
        2.0 ** Value(3.0)


@pytest.mark.parametrize("x", [0.0, -1.5])
def test_log_of_non_positive_raises_value_error(x):
    with pytest.raises(ValueError, match=r"log of a non-positive Value: data="):
        Value(x).log()


def test_derivative_by_central_differences():
    assert derivative(lambda x: 3 * x**2 - 4 * x + 5, 3.0) == pytest.approx(14.0, rel=1e-8)


def relu_polynomial(x):
    """A small expression mixing reuse, constants on both sides and relu (works on both engines)."""
    u = 3 * x - 1 + x
    v = (u * x).relu() + u * u
    w = (2 - v).relu() + v * x - u
    return w + w * u + (x - 5) ** 2


@pytest.mark.oracle
def test_relu_polynomial_against_pytorch(torch):
    for start in (-2.5, 0.4, 1.5):
        x = Value(start)
        y = relu_polynomial(x)
        y.backward()
        xt = torch.tensor(start, requires_grad=True)
        yt = relu_polynomial(xt)
        yt.backward()
        assert y.data == pytest.approx(yt.item(), rel=1e-12)
        assert x.grad == pytest.approx(xt.grad.item(), rel=1e-12)


def rational_expression(a, b):
    """Two inputs through +, -, *, / and powers, each intermediate used more than once."""
    s = a * b + b**2 - a / 3
    t = (s + a) * (s - b) + (a - b).relu()
    r = t / (1 + s**2) - 4 / (t * t + 2)
    return r * r + r * a


@pytest.mark.oracle
def test_rational_expression_against_pytorch(torch):
    a, b = Value(-1.2), Value(0.7)
    out = rational_expression(a, b)
    out.backward()
    at = torch.tensor(-1.2, requires_grad=True)
    bt = torch.tensor(0.7, requires_grad=True)
    outt = rational_expression(at, bt)
    outt.backward()
    assert out.data == pytest.approx(outt.item(), rel=1e-12)
    assert a.grad == pytest.approx(at.grad.item(), rel=1e-12)
    assert b.grad == pytest.approx(bt.grad.item(), rel=1e-12)


@pytest.mark.oracle
def test_transcendental_ops_against_pytorch(torch):
    x, w = Value(0.3), Value(-1.7)
    y = (x * w).tanh() + (x + 2).log() * w.exp() - (w * x).sigmoid() / (1 + x**2)
    y.backward()

    xt = torch.tensor(0.3, requires_grad=True)
    wt = torch.tensor(-1.7, requires_grad=True)
    yt = (xt * wt).tanh() + (xt + 2).log() * wt.exp() - (wt * xt).sigmoid() / (1 + xt**2)
    yt.backward()

    assert y.data == pytest.approx(yt.item(), rel=1e-12)
    assert x.grad == pytest.approx(xt.grad.item(), rel=1e-12)
    assert w.grad == pytest.approx(wt.grad.item(), rel=1e-12)


@pytest.mark.oracle
@pytest.mark.parametrize("name", list(UNARY_OPS) + list(FUNCTIONS))
def test_every_op_against_pytorch(torch, name):
    """The same expression on a Value and on a torch tensor: same output, same gradient."""
    if name in UNARY_OPS:
        f, x = UNARY_OPS[name]
        points = [x]
    else:
        f, _, points = FUNCTIONS[name]
    for x in points:
        value, grad = grad_of(f, x)
        xt = torch.tensor(x, requires_grad=True)
        f(xt).backward()
        assert value == pytest.approx(f(torch.tensor(x)).item(), rel=1e-12)
        assert grad == pytest.approx(xt.grad.item(), rel=1e-12, abs=1e-15)


# -- bad inputs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "shown"),
    [
        ("2.0", "got str '2.0'"),
        (None, "got NoneType None"),
        (1 + 2j, r"got complex \(1\+2j\)"),
        ([1.0, 2.0], r"got list \[1.0, 2.0\]"),
        (True, "got bool True; write 1.0 or 0.0"),
        (np.bool_(False), "got bool "),
        (Decimal("1.5"), r"got Decimal Decimal\('1.5'\)"),
        (np.array([1.0]), r"got ndarray array\(\[1.\]\)"),
    ],
)
def test_value_takes_real_numbers_only(data, shown):
    with pytest.raises(TypeError, match=rf"Value takes a real number .*{shown}"):
        Value(data)


@pytest.mark.parametrize(
    ("op", "message"),
    [
        (lambda v: v + "1", "Value takes a real number .*got str '1'"),
        (lambda v: "1" + v, "Value takes a real number .*got str '1'"),
        (lambda v: v * None, "Value takes a real number .*got NoneType None"),
        (lambda v: [2.0] * v, r"Value takes a real number .*got list \[2.0\]"),
        (lambda v: v - 1j, r"Value takes a real number .*got complex \(-0-1j\)"),
        (lambda v: v / "2", r"unsupported operand type\(s\) for \*\* or pow\(\): 'str'"),
    ],
)
def test_an_operand_that_is_not_a_real_number_is_a_type_error(op, message):
    with pytest.raises(TypeError, match=message):
        op(Value(1.0))


@pytest.mark.parametrize(
    "data", [3, np.float32(0.5), np.float64(0.25), np.int64(-2), Fraction(1, 4), math.inf]
)
def test_every_real_number_becomes_a_float(data):
    v = Value(data)
    assert type(v.data) is float and v.data == float(data)


NAN_OPS = {
    "relu": lambda v: v.relu(),
    "tanh": lambda v: v.tanh(),
    "exp": lambda v: v.exp(),
    "log": lambda v: v.log(),
    "sigmoid": lambda v: v.sigmoid(),
    "square": lambda v: v**2,
    "sqrt": lambda v: v**0.5,
    "reciprocal": lambda v: v**-1,
    "neg": lambda v: -v,
    "add": lambda v: v + 1,
    "mul": lambda v: 2 * v,
    "div": lambda v: 1 / v,
    "sub": lambda v: 1 - v,
}


@pytest.mark.parametrize("name", NAN_OPS)
def test_every_op_keeps_nan(name):
    assert math.isnan(NAN_OPS[name](Value(math.nan)).data)


def test_relu_of_nan_passes_the_gradient_like_pytorch():
    # PyTorch's relu backward zeroes the gradient where the output is <= 0; NaN is not
    assert grad_of(lambda v: v.relu(), math.nan)[1] == 1.0
    assert grad_of(lambda v: v.relu(), -0.5)[1] == 0.0


def test_a_nan_score_gives_a_nan_hinge_loss_not_0():
    assert math.isnan(hinge_loss([Value(math.nan), Value(2.0)], [1.0, 1.0]).data)


@pytest.mark.parametrize(
    ("power", "error", "message"),
    [
        (lambda: Value(-1.0) ** 0.5, ValueError, r"Value\(-1.0\) \*\* 0.5: a negative number"),
        (lambda: Value(2.0) ** True, TypeError, r"Value \*\* bool: the exponent must be"),
        (lambda: Value(2.0) ** "2", TypeError, r"Value \*\* str: the exponent must be"),
    ],
)
def test_a_power_that_is_not_real_is_refused(power, error, message):
    with pytest.raises(error, match=message):
        power()


def test_a_negative_number_to_an_integer_power_is_fine():
    assert (Value(-2.0) ** 3).data == -8.0 and (Value(-2.0) ** 2.0).data == 4.0
    assert (Value(-2.0) ** math.inf).data == math.inf
