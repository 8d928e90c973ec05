"""A scalar autograd engine: a `Value` remembers how it was made and can backpropagate.

Each operation builds its output `Value`, then defines right beneath it the local
`_backward` that pushes the output's gradient to its inputs by the chain rule:
``self.grad += local_derivative * out.grad``.

`_backward` receives `out` as an argument instead of capturing it. A captured `out`
would make a reference cycle (out -> _backward -> out), and a graph full of cycles can
only be freed by Python's cycle collector, which then dominates the run time of a
training step. Without cycles, reference counting frees a graph as soon as it is unused.

A Value holds a real number, kept as a float: an int or a numpy real scalar is
converted, and anything else (a string, None, a complex number, a list, a bool) is a
TypeError that says what it was given. A bool is refused although Python counts it as
an int: a truth value where a number belongs is far more often a bug than a 0 or a 1.
NaN is a float, and every operation keeps it (IEEE arithmetic's one exception: x ** 0
is 1), so a computation that goes wrong anywhere ends in NaN, never in a plausible
number such as a loss of 0.

>>> a, b = Value(2.0), Value(-3.0)
>>> c = a * b + a
>>> c.backward()
>>> c.data, a.grad, b.grad
(-4.0, -2.0, 2.0)
"""

import math
import numbers
import reprlib


def derivative(f, x, h=1e-6):
    """The slope of `f` at `x` by central finite differences, its error of order h**2.

    >>> round(derivative(lambda x: 3 * x**2 - 4 * x + 5, 3.0), 6)
    14.0
    """
    return (f(x + h) - f(x - h)) / (2 * h)


def _no_backward(out):
    """The `_backward` of a leaf: it has no inputs to pass a gradient to."""


class Value:
    """One scalar in an expression graph, with the gradient of the final output by it.

    `data` is the number, `grad` is d(output)/d(self) once `backward()` has run on the
    output, `_prev` are the Values it was computed from and `_op` the operation's
    symbol.
    """

    # No per-instance __dict__: smaller objects, faster attribute access.
    __slots__ = ("data", "grad", "_backward", "_prev", "_op", "label")

    def __init__(self, data, _children=(), _op="", label=""):
        self.data = data if type(data) is float else _real(data)
        self.grad = 0.0
        self._backward = _no_backward
        self._prev = _children
        self._op = _op
        self.label = label

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward(out):
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward(out):
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, exponent):
        _check_power(self.data, exponent)
        out = Value(self.data**exponent, (self,), f"**{exponent}")

        def _backward(out):
            self.grad += exponent * self.data ** (exponent - 1) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward(out):
            self.grad += out.data * out.grad

        out._backward = _backward
        return out

    def log(self):
        _check_log(self.data)
        out = Value(math.log(self.data), (self,), "log")

        def _backward(out):
            self.grad += (1.0 / self.data) * out.grad

        out._backward = _backward
        return out

    def tanh(self):
        t = math.tanh(self.data)
        out = Value(t, (self,), "tanh")

        def _backward(out):
            self.grad += (1.0 - t * t) * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = Value(0.0 if self.data < 0 else self.data, (self,), "relu")  # keeps NaN

        def _backward(out):
            self.grad += (0.0 if out.data <= 0 else 1.0) * out.grad

        out._backward = _backward
        return out

    def sigmoid(self):
        s = _sigmoid(self.data)
        out = Value(s, (self,), "sigmoid")

        def _backward(out):
            self.grad += s * (1.0 - s) * out.grad

        out._backward = _backward
        return out

    def backward(self):
        """Fill `grad` of every Value this one depends on with d(self)/d(that Value)."""
        self.grad = 1.0
        for node in reversed(topological_order(self)):
            node._backward(node)

    # The remaining operations are built from the ones above.
    def __neg__(self):  # -self
        return self * -1

    def __radd__(self, other):  # other + self
        return self + other

    def __sub__(self, other):  # self - other
        return self + (-other)

    def __rsub__(self, other):  # other - self
        return other + (-self)

    def __rmul__(self, other):  # other * self
        return self * other

    def __truediv__(self, other):  # self / other
        return self * other**-1

    def __rtruediv__(self, other):  # other / self
        return other * self**-1

    def __rpow__(self, base):  # number ** self
        raise TypeError(
            f"{type(base).__name__} ** Value: a Value exponent is not supported; "
            "write (self * math.log(base)).exp() instead"
        )

    def __repr__(self):
        return f"Value(data={self.data}, grad={self.grad})"


def _real(data):
    """`data` as a float, if it is a real number (an int, a float, a numpy real scalar)
    and not a bool; otherwise a TypeError that says what it is.

    >>> _real(3), _real(float("nan"))
    (3.0, nan)
    """
    if isinstance(data, numbers.Real) and not isinstance(data, bool):
        return float(data)
    hint = "; write 1.0 or 0.0 for a number" if isinstance(data, bool) else ""
    raise TypeError(
        f"Value takes a real number (an int, a float or a numpy real scalar), "
        f"got {type(data).__name__} {reprlib.repr(data)}{hint}"
    )


def _check_power(base, exponent):
    """Refuse an exponent that is not a real constant, and a power that is not real."""
    if isinstance(exponent, bool) or not isinstance(exponent, numbers.Real):
        raise TypeError(
            f"Value ** {type(exponent).__name__}: the exponent must be an int or float "
            "constant; for a Value exponent write (exponent * base.log()).exp()"
        )
    if base < 0 and math.isfinite(exponent) and not float(exponent).is_integer():
        raise ValueError(
            f"Value({base!r}) ** {exponent!r}: a negative number to a fractional power "
            "is not a real number"
        )


def _check_log(x):
    """Refuse the log of a number that has none; NaN passes, and its log is NaN."""
    if x <= 0:
        raise ValueError(
            f"log of a non-positive Value: data={x!r}; the natural log is defined only for data > 0"
        )


def _sigmoid(x):
    """1 / (1 + e^-x), written so that neither branch overflows for large |x|."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def topological_order(root):
    """Every Value `root` depends on, each after all of its inputs, ending with `root`.

    A depth-first search with an explicit stack instead of recursion, so a graph of any
    depth (a chain of 100,000 operations) is fine. The stack holds the current path from
    `root`; a node leaves it, into `order`, once all its inputs are in `order`.

    >>> a = Value(1.0, label="a"); b = a * 2; c = b + a
    >>> [v.label or v._op for v in topological_order(c)]
    ['a', '', '*', '+']
    """
    order, visited, stack = [], {root}, [root]
    while stack:
        node = stack[-1]
        for child in node._prev:
            if child not in visited:
                visited.add(child)
                stack.append(child)
                break
        else:  # every input is already placed
            order.append(stack.pop())
    return order
