"""A tensor autograd engine: micrograd's idea, one numpy array per node instead of one number.

A `Tensor` holds a numpy array (`data`), the gradient of the final output with respect to it
(`grad`, same shape) and, if it was computed, the tensors it came from and a `_backward` closure
that pushes its gradient to them. Every operation below builds its output, then defines its
`_backward` right beneath it, so the forward formula and its derivative can be read side by side.
The large computations (matrix products, GELU's passes, the embedding backward) are handed to
the speed layer (`speed`), which shares them between the cores: the rules here are the math.

>>> a = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> b = Tensor([10.0, 20.0], requires_grad=True)
>>> loss = (a * b).sum()
>>> loss.backward()
>>> a.grad.tolist(), b.grad.tolist()
([[10.0, 20.0], [10.0, 20.0]], [4.0, 6.0])

`b` was broadcast over the two rows of `a`, so its gradient is the column sums of `a`: the
"sum back to the input's shape" rule of `_sum_to_shape`.
"""

import math

import numpy as np

from gpt_from_scratch.tensor import speed

DEFAULT_DTYPE = np.float32

_grad_enabled = True
_rng = np.random.default_rng(0)


def manual_seed(seed):
    """Reseed the generator that parameter initialisation and dropout draw from."""
    global _rng
    _rng = np.random.default_rng(seed)


def rng():
    """The module-level numpy Generator (reseeded by `manual_seed`)."""
    return _rng


def is_grad_enabled():
    return _grad_enabled


class no_grad:
    """Context manager (and decorator) inside which operations build no graph.

    >>> w = Tensor([1.0], requires_grad=True)
    >>> with no_grad():
    ...     y = w * 2
    >>> y.requires_grad
    False
    """

    def __enter__(self):
        global _grad_enabled
        self._previous = _grad_enabled
        _grad_enabled = False

    def __exit__(self, *exc):
        global _grad_enabled
        _grad_enabled = self._previous

    def __call__(self, function):
        def wrapper(*args, **kwargs):
            with no_grad():
                return function(*args, **kwargs)

        wrapper.__name__ = function.__name__
        wrapper.__doc__ = function.__doc__
        return wrapper


def _sum_to_shape(grad, shape):
    """Sum a broadcast gradient back to the shape of the input that was broadcast.

    Broadcasting copies an input along the axes it lacks (leading axes) or has with
    size 1; every copy contributes to the output, so the input's gradient is the sum
    over the copies.

    >>> _sum_to_shape(np.ones((2, 3)), (3,)).tolist()
    [2.0, 2.0, 2.0]
    >>> _sum_to_shape(np.ones((2, 3)), (2, 1)).tolist()
    [[3.0], [3.0]]
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    stretched = tuple(
        i + extra for i, n in enumerate(shape) if n == 1 and grad.shape[i + extra] != 1
    )
    return grad.sum(axis=tuple(range(extra)) + stretched, keepdims=True).reshape(shape)


def _normalize_axes(axis, ndim):
    """`axis` (None, int or tuple, negatives allowed) as a sorted tuple of non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    normalized = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"axis {a} is out of range for a tensor with {ndim} dimensions")
        normalized.append(a % ndim)
    return tuple(sorted(normalized))


def _as_array(data, dtype):
    """`data` (number, list, numpy array) as a numpy array; floats become float32 by default."""
    array = np.asarray(data)
    if dtype is not None:
        return array.astype(dtype, copy=False)
    if array.dtype.kind == "f":
        return array.astype(DEFAULT_DTYPE, copy=False)
    return array


class Tensor:
    """A numpy array that remembers how it was computed and can backpropagate into its inputs.

    `data` is a plain numpy array (float32 unless asked otherwise; integer arrays are allowed for
    indices but cannot require a gradient), `grad` is None until `backward()` reaches it.
    """

    __slots__ = (
        "data",
        "grad",
        "requires_grad",
        "_parents",
        "_backward",
        "_op",
        "__weakref__",
    )

    # numpy must call our reflected operators (array * tensor -> Tensor.__rmul__).
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False, dtype=None):
        if isinstance(data, Tensor):  # a copy of a tensor keeps its dtype unless told otherwise
            data, dtype = data.data, dtype or data.data.dtype
        array = _as_array(data, dtype)
        if requires_grad and array.dtype.kind != "f":
            raise TypeError(
                f"only floating-point tensors can require a gradient, got dtype {array.dtype}"
            )
        self.data = array
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._parents = ()
        self._backward = None
        self._op = ""

    @staticmethod
    def _op_result(data, parents=(), op=""):
        """The output tensor of an operation on `parents`.

        It joins the graph (remembers its parents) only if gradients are enabled and
        some parent requires a gradient; otherwise it is a constant and its `_backward`
        is never called.
        """
        out = Tensor.__new__(Tensor)
        out.data = data
        out.grad = None
        out._backward = None
        out._op = op
        if _grad_enabled and any(p.requires_grad for p in parents):
            out.requires_grad = True
            out._parents = parents
        else:
            out.requires_grad = False
            out._parents = ()
        return out

    def _accumulate(self, grad):
        """Add `grad` (the output's shape or broadcastable to ours) into `self.grad`.

        The first contribution becomes our gradient as it is, and a later one is
        added into a new array. No gradient is ever written in place, so an array
        that two nodes hold (an addition hands its gradient to both inputs) is safe.
        A leaf's gradient is always writable: a read-only view (from `sum`) is copied.
        """
        grad = _sum_to_shape(grad, self.data.shape)
        if grad.dtype != self.data.dtype:
            grad = grad.astype(self.data.dtype)
        if self.grad is not None:
            self.grad = self.grad + grad
        elif self._parents or grad.flags.writeable:
            self.grad = grad
        else:
            self.grad = grad.copy()

    # ----- basic properties -----

    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    def numel(self):
        return self.data.size

    def __len__(self):
        return len(self.data)

    def item(self):
        return self.data.item()

    def __float__(self):
        return float(self.data.item())

    def numpy(self):
        return self.data

    def tolist(self):
        return self.data.tolist()

    def detach(self):
        """The same data as a constant: no gradient flows back through it."""
        return Tensor._op_result(self.data, (), "detach")

    def zero_grad(self):
        self.grad = None

    def requires_grad_(self, requires_grad=True):
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(
                f"only floating-point tensors can require a gradient, got dtype {self.data.dtype}"
            )
        self.requires_grad = requires_grad
        return self

    def __repr__(self):
        grad = ", requires_grad=True" if self.requires_grad else ""
        body = np.array2string(self.data, precision=4, separator=", ", prefix="tensor(")
        return f"tensor({body}{grad})"

    # ----- backpropagation -----

    def backward(self, grad=None):
        """Fill `.grad` of every tensor this one depends on with d(self)/d(tensor).

        Without `grad`, self must hold a single number (a loss); otherwise `grad` is the
        gradient of some scalar with respect to self, of self's shape.
        """
        seed = self._backward_seed(grad)
        order = topological_order(self)
        for node in order:
            if node._parents:  # computed tensors start from zero; leaves accumulate
                node.grad = None
        self._accumulate(seed)
        for node in reversed(order):
            if node._backward is not None and node.grad is not None:
                node._backward(node.grad)

    def _backward_seed(self, grad):
        """The gradient `backward(grad)` starts from, checked: ones for a loss, else `grad`."""
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require a gradient: none of its inputs "
                "has requires_grad=True (or it was computed under no_grad())"
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient needs a tensor with one element, but this "
                    f"one has shape {self.data.shape}; pass grad= of that shape, or reduce it "
                    "(e.g. .sum()) first"
                )
            return np.ones_like(self.data)
        # copied: the caller's array stays the caller's, whatever the graph does
        seed = np.array(grad.data if isinstance(grad, Tensor) else grad)
        if seed.shape != self.data.shape:
            raise ValueError(
                f"backward(grad): grad has shape {seed.shape} but the tensor has shape "
                f"{self.data.shape}"
            )
        return seed

    # ----- elementwise arithmetic with broadcasting -----

    def _coerce(self, other):
        """`other` as a Tensor; numbers and float arrays take our dtype (no silent float64)."""
        if isinstance(other, Tensor):
            return other
        array = np.asarray(other)
        if self.data.dtype.kind == "f" and array.dtype.kind in "fiub":
            array = array.astype(self.data.dtype, copy=False)
        return Tensor(array, dtype=array.dtype)

    def _broadcast(self, op, other, symbol):
        try:
            return op(self.data, other.data)
        except ValueError:
            raise ValueError(
                f"{symbol}: shapes {self.data.shape} and {other.data.shape} cannot be broadcast "
                "together (trailing dimensions must be equal or 1)"
            ) from None

    def __add__(self, other):
        other = self._coerce(other)
        out = Tensor._op_result(self._broadcast(np.add, other, "+"), (self, other), "+")

        def _backward(grad):
            if self.requires_grad:
                self._accumulate(grad)
            if other.requires_grad:
                other._accumulate(grad)

        out._backward = _backward
        return out

    def __sub__(self, other):
        other = self._coerce(other)
        out = Tensor._op_result(self._broadcast(np.subtract, other, "-"), (self, other), "-")

        def _backward(grad):
            if self.requires_grad:
                self._accumulate(grad)
            if other.requires_grad:
                other._accumulate(-grad)

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = self._coerce(other)
        product = self._broadcast(np.multiply, other, "*")
        out = Tensor._op_result(product, (self, other), "*")

        def _backward(grad):
            if self.requires_grad:
                self._accumulate(grad * other.data)
            if other.requires_grad:
                other._accumulate(grad * self.data)

        out._backward = _backward
        return out

    def __truediv__(self, other):
        other = self._coerce(other)
        quotient = self._broadcast(np.divide, other, "/")
        out = Tensor._op_result(quotient, (self, other), "/")

        def _backward(grad):
            if self.requires_grad:
                self._accumulate(grad / other.data)
            if other.requires_grad:
                # d(a/b)/db = -a/b**2 = -out/b
                other._accumulate(-grad * quotient / other.data)

        out._backward = _backward
        return out

    def __pow__(self, exponent):
        if isinstance(exponent, Tensor):
            # a ** b = exp(b * log a), for a > 0
            return (exponent * self.log()).exp()
        exponent = float(exponent)
        out = Tensor._op_result(self.data**exponent, (self,), f"**{exponent:g}")

        def _backward(grad):
            self._accumulate(grad * (exponent * self.data ** (exponent - 1.0)))

        out._backward = _backward
        return out

    def __neg__(self):
        out = Tensor._op_result(-self.data, (self,), "neg")

        def _backward(grad):
            self._accumulate(-grad)

        out._backward = _backward
        return out

    def __radd__(self, other):
        return self + other

    def __rsub__(self, other):
        return self._coerce(other) - self

    def __rmul__(self, other):
        return self * other

    def __rtruediv__(self, other):
        return self._coerce(other) / self

    def __rpow__(self, base):
        return self._coerce(base) ** self

    # ----- matrix multiplication -----

    def __matmul__(self, other):
        other = self._coerce(other)
        _check_matmul(self.shape, other.shape)
        if other.ndim == 1:  # a vector on the right is a (K, 1) column, removed after
            out = self @ other.reshape(-1, 1)  # (..., 1)
            return out.reshape(out.shape[:-1])
        if self.ndim == 1:  # a vector on the left is a (1, K) row, removed afterwards
            out = self.reshape(1, -1) @ other  # (..., 1, N)
            return out.reshape(out.shape[:-2] + out.shape[-1:])
        out = Tensor._op_result(speed.matmul(self.data, other.data), (self, other), "@")

        def _backward(grad):
            if self.requires_grad:  # dL/dA = dL/dC @ B^T, summed over broadcast axes
                self._accumulate(speed.matmul(grad, np.swapaxes(other.data, -1, -2)))
            if other.requires_grad:  # dL/dB = A^T @ dL/dC
                if other.ndim == 2:
                    # Fold every batch axis into the rows: one (K, M) @ (M, N) product.
                    a = self.data.reshape(-1, self.shape[-1])  # (M, K)
                    g = grad.reshape(-1, grad.shape[-1])  # (M, N)
                    other._accumulate(speed.matmul(a.T, g))
                else:
                    a_t = np.swapaxes(self.data, -1, -2)  # (..., K, M)
                    other._accumulate(speed.matmul(a_t, grad))

        out._backward = _backward
        return out

    def __rmatmul__(self, other):
        return self._coerce(other) @ self

    # ----- elementwise functions -----

    def exp(self):
        y = np.exp(self.data)
        out = Tensor._op_result(y, (self,), "exp")

        def _backward(grad):
            self._accumulate(grad * y)

        out._backward = _backward
        return out

    def log(self):
        out = Tensor._op_result(np.log(self.data), (self,), "log")

        def _backward(grad):
            self._accumulate(grad / self.data)

        out._backward = _backward
        return out

    def tanh(self):
        t = np.tanh(self.data)
        out = Tensor._op_result(t, (self,), "tanh")

        def _backward(grad):
            self._accumulate(grad * (1.0 - t * t))

        out._backward = _backward
        return out

    def relu(self):
        out = Tensor._op_result(np.maximum(self.data, 0), (self,), "relu")

        def _backward(grad):
            self._accumulate(grad * (self.data > 0))

        out._backward = _backward
        return out

    def sigmoid(self):
        # 1 / (1 + e^-x), written with tanh so that large |x| never overflows.
        s = 0.5 * (np.tanh(0.5 * self.data) + 1.0)
        out = Tensor._op_result(s, (self,), "sigmoid")

        def _backward(grad):
            self._accumulate(grad * s * (1.0 - s))

        out._backward = _backward
        return out

    def gelu(self):
        """GPT-2's GELU, the tanh approximation: 0.5 x (1 + tanh(z)), z = c (x + 0.044715 x^3).

        Since 0.5 (1 + tanh(z)) = sigmoid(2z), this is x s with the gate s = sigmoid(2z), which
        numpy computes with one exp, twice as fast as its tanh. See `gelu_gate`.
        """
        y, s = gelu_forward(self.data)
        out = Tensor._op_result(y, (self,), "gelu")

        def _backward(grad):
            self._accumulate(gelu_backward(self.data, s, grad))

        out._backward = _backward
        return out

    # ----- reductions -----

    def _expand_reduced(self, grad, axes, keepdims):
        """A gradient of a reduced shape, broadcast back over the reduced `axes`."""
        if not keepdims:
            grad = np.expand_dims(grad, axes)
        return np.broadcast_to(grad, self.data.shape)

    def sum(self, axis=None, keepdims=False):
        axes = _normalize_axes(axis, self.ndim)
        out = Tensor._op_result(self.data.sum(axis=axes, keepdims=keepdims), (self,), "sum")

        def _backward(grad):
            self._accumulate(self._expand_reduced(grad, axes, keepdims))

        out._backward = _backward
        return out

    def mean(self, axis=None, keepdims=False):
        axes = _normalize_axes(axis, self.ndim)
        count = math.prod(self.shape[a] for a in axes)
        out = Tensor._op_result(self.data.mean(axis=axes, keepdims=keepdims), (self,), "mean")

        def _backward(grad):
            self._accumulate(self._expand_reduced(grad * (1.0 / count), axes, keepdims))

        out._backward = _backward
        return out

    def max(self, axis=None, keepdims=False):
        """The largest entry along `axis`; ties share the gradient equally."""
        axes = _normalize_axes(axis, self.ndim)
        largest = self.data.max(axis=axes, keepdims=keepdims)
        out = Tensor._op_result(largest, (self,), "max")

        def _backward(grad):
            winners = self.data == self._expand_reduced(largest, axes, keepdims)
            share = winners / winners.sum(axis=axes, keepdims=True, dtype=self.dtype)
            self._accumulate(self._expand_reduced(grad, axes, keepdims) * share)

        out._backward = _backward
        return out

    def var(self, axis=None, keepdims=False, unbiased=True):
        """Variance along `axis`: mean squared deviation, divided by n - 1 if `unbiased`."""
        axes = _normalize_axes(axis, self.ndim)
        count = math.prod(self.shape[a] for a in axes)
        deviation = self.data - self.data.mean(axis=axes, keepdims=True)
        divisor = count - 1 if unbiased else count
        variance = (deviation * deviation).sum(axis=axes, keepdims=keepdims) / divisor
        out = Tensor._op_result(variance.astype(self.dtype, copy=False), (self,), "var")

        def _backward(grad):  # d var / dx_i = 2 (x_i - mean) / divisor
            spread = self._expand_reduced(grad, axes, keepdims)
            self._accumulate(spread * deviation * (2.0 / divisor))

        out._backward = _backward
        return out

    # ----- shape -----

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        try:
            data = self.data.reshape(shape)
        except ValueError:
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {self.shape} "
                f"({self.data.size} elements) into shape {shape}"
            ) from None
        out = Tensor._op_result(data, (self,), "reshape")

        def _backward(grad):
            self._accumulate(grad.reshape(self.shape))

        out._backward = _backward
        return out

    view = reshape

    def permute(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        if sorted(a % self.ndim for a in axes) != list(range(self.ndim)):
            raise ValueError(f"permute: {axes} is not a permutation of the {self.ndim} axes")
        out = Tensor._op_result(self.data.transpose(axes), (self,), "permute")
        inverse = np.argsort([a % self.ndim for a in axes])

        def _backward(grad):
            self._accumulate(grad.transpose(inverse))

        out._backward = _backward
        return out

    def transpose(self, axis0, axis1):
        axes = list(range(self.ndim))
        axes[axis0], axes[axis1] = axes[axis1], axes[axis0]
        return self.permute(*axes)

    @property
    def T(self):
        return self.permute(*reversed(range(self.ndim)))

    # ----- indexing -----

    def __getitem__(self, index):
        index = _index_arrays(index)
        out = Tensor._op_result(self.data[index], (self,), "getitem")

        def _backward(grad):
            self._accumulate(_scatter_add(grad, index, self.shape))

        out._backward = _backward
        return out

    def masked_fill(self, mask, value):
        """Entries where `mask` is True replaced by `value` (no gradient flows to them)."""
        mask = np.asarray(mask.data if isinstance(mask, Tensor) else mask, dtype=bool)
        try:
            data = np.where(mask, np.asarray(value, dtype=self.dtype), self.data)
        except ValueError:
            raise ValueError(
                f"masked_fill: mask of shape {mask.shape} cannot be broadcast to the tensor's "
                f"shape {self.shape}"
            ) from None
        if data.shape != self.shape:
            raise ValueError(
                f"masked_fill: mask of shape {mask.shape} would enlarge the tensor's shape "
                f"{self.shape} to {data.shape}"
            )
        out = Tensor._op_result(data, (self,), "masked_fill")

        def _backward(grad):
            self._accumulate(np.where(mask, 0, grad))

        out._backward = _backward
        return out

    # ----- softmax -----

    def softmax(self, axis=-1):
        """exp(x) / sum(exp(x)) along `axis`, shifted by the maximum so exp never overflows."""
        shifted = self.data - self.data.max(axis=axis, keepdims=True)
        exps = np.exp(shifted)
        probs = exps / exps.sum(axis=axis, keepdims=True)
        out = Tensor._op_result(probs, (self,), "softmax")

        def _backward(g):  # dx = s * (g - sum(g * s))
            self._accumulate(probs * (g - (g * probs).sum(axis=axis, keepdims=True)))

        out._backward = _backward
        return out

    def log_softmax(self, axis=-1):
        """x - log(sum(exp(x))) along `axis`, computed stably."""
        shifted = self.data - self.data.max(axis=axis, keepdims=True)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
        out = Tensor._op_result(log_probs, (self,), "log_softmax")

        def _backward(g):  # dx = g - softmax(x) * sum(g)
            self._accumulate(g - np.exp(log_probs) * g.sum(axis=axis, keepdims=True))

        out._backward = _backward
        return out


GELU_C = math.sqrt(2.0 / math.pi)  # a Python float keeps float32 data float32
GELU_A = 0.044715


def gelu_forward(x):
    """GELU(x) and its gate s (kept for the backward), with the entries split over the threads."""
    y, gate = np.empty(x.shape, x.dtype), np.empty(x.shape, x.dtype)
    speed.elementwise(gelu_into, (x,), (y, gate))
    return y, gate


def gelu_into(x, y, gate):
    """GELU(x) = x s into y and its gate s into gate, both arrays of x's shape."""
    np.multiply(x, gelu_gate(x, out=gate), out=y)


def gelu_backward(x, s, grad):
    """dL/dx = grad * dGELU/dx from x and its gate s, with the entries split over the threads."""
    dx = np.empty(x.shape, x.dtype)
    speed.elementwise(_gelu_backward_into, (x, s, grad), (dx,))
    return dx


def _gelu_backward_into(x, s, grad, dx):
    """dL/dx = grad * dGELU/dx into dx."""
    gelu_slope(x, s, out=dx)
    dx *= grad


def gelu_gate(x, out=None):
    """The gate s = sigmoid(2 c (x + 0.044715 x^3)) of GELU(x) = x s, in one new
    array (or `out`).

    A very negative x makes e^(-2z) overflow to inf, and then s = 1 / inf = 0: the
    right limit.

    >>> x = np.array([-1.0, 0.0, 1.0], dtype=np.float32)
    >>> [round(float(v), 4) for v in gelu_gate(x)]
    [0.1588, 0.5, 0.8412]
    """
    # np.multiply makes an array even of a 0-d x
    s = np.multiply(x, x, out=np.empty_like(x) if out is None else out)
    s *= -2.0 * GELU_C * GELU_A
    s -= 2.0 * GELU_C
    s *= x  # -2z
    with np.errstate(over="ignore"):
        np.exp(s, out=s)
    s += 1.0
    return np.reciprocal(s, out=s)  # 1 / (1 + e^(-2z))


def gelu_slope(x, s, out=None):
    """dGELU/dx from the gate s of x: s + 2 c x s (1 - s) (1 + 3 * 0.044715 x^2), new or in `out`.

    The product rule on x s, with ds/dx = 2 s (1 - s) dz/dx and dz/dx = c (1 + 3 * 0.044715 x^2).
    """
    slope = np.multiply(x, x, out=out)
    slope *= 3.0 * GELU_A
    slope += 1.0  # dz/dx / c
    slope *= x
    slope *= 1.0 - s
    slope *= s
    slope *= 2.0 * GELU_C
    slope += s
    return slope


def _check_matmul(left, right):
    """A one-line error unless shapes `left @ right` fit (a 1-D operand is a row or a column)."""
    if len(left) == 0 or len(right) == 0:
        raise ValueError(f"@: matmul needs at least 1-D operands, got shapes {left} and {right}")
    inner = right[0] if len(right) == 1 else right[-2]
    if left[-1] != inner:
        raise ValueError(
            f"@: shapes {left} and {right} do not fit: the last dimension of the left "
            f"({left[-1]}) must equal the {'first' if len(right) == 1 else 'second-to-last'} "
            f"of the right ({inner})"
        )


def topological_order(root):
    """Every tensor `root` depends on through tensors requiring grad, each after its
    parents.

    An explicit stack instead of recursion, so a graph deeper than Python's recursion
    limit (a long chain of operations) is fine.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        node, parents_done = stack.pop()
        if parents_done:
            order.append(node)
            continue
        if id(node) in visited:
            continue
        visited.add(id(node))
        stack.append((node, True))
        for parent in node._parents:
            if parent.requires_grad and id(parent) not in visited:
                stack.append((parent, False))
    return order


def _index_arrays(index):
    """An index with Tensors replaced by their arrays, and checked integer arrays."""
    if isinstance(index, tuple):
        return tuple(_index_part(part) for part in index)
    return _index_part(index)


def _index_part(part):
    if isinstance(part, Tensor):
        part = part.data
    if isinstance(part, list):
        part = np.asarray(part)
    if isinstance(part, np.ndarray) and part.dtype.kind not in "iub":
        raise IndexError(
            f"tensors can be indexed only by integer or boolean arrays, not {part.dtype}"
        )
    return part


def _is_row_lookup(index):
    """True for x[ids] with one integer array picking along the first axis (an embedding)."""
    return isinstance(index, np.ndarray) and index.dtype.kind in "iu"


def _scatter_add(grad, index, shape):
    """The gradient of x[index]: `grad` added into zeros of x's shape at the indexed
    places.

    Repeated indices accumulate: if row 3 was looked up twice, it gets both gradients.
    """
    if _is_row_lookup(index):
        return _embedding_backward(grad, index.reshape(-1), shape)
    full = np.zeros(shape, dtype=grad.dtype)
    if _is_basic(index):  # ints and slices pick each entry at most once: assign
        full[index] = grad
    else:
        np.add.at(full, index, grad)
    return full


def _is_basic(index):
    """True for an index made only of ints, slices, Ellipsis and None (no arrays)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        isinstance(part, (int, np.integer, slice)) or part is Ellipsis or part is None
        for part in parts
    )


def _embedding_backward(grad, ids, shape):
    """Sum the rows of `grad` that looked up the same row of the table, for each row.

    `grad` is (..., D) with one row per id; `speed.scatter_rows` does the summing, far faster
    than `np.add.at`.
    """
    num_rows = shape[0]
    ids = np.where(ids < 0, ids + num_rows, ids)  # -1 is the last row, as in numpy
    rows = grad.reshape(ids.size, -1)  # (M, D)
    return speed.scatter_rows(rows, ids, num_rows).reshape(shape)


def tensor(data, requires_grad=False, dtype=None):
    """A new leaf Tensor (the PyTorch spelling)."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype)


def cat(tensors, axis=0):
    """Join tensors along an existing axis."""
    tensors = list(tensors)
    try:
        data = np.concatenate([t.data for t in tensors], axis=axis)
    except ValueError:
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ValueError(f"cat along axis {axis}: shapes {shapes} do not fit") from None
    out = Tensor._op_result(data, tuple(tensors), "cat")
    bounds = np.cumsum([t.shape[axis] for t in tensors])[:-1]

    def _backward(grad):
        for t, piece in zip(tensors, np.split(grad, bounds, axis=axis), strict=True):
            if t.requires_grad:
                t._accumulate(piece)

    out._backward = _backward
    return out


def stack(tensors, axis=0):
    """Join same-shaped tensors along a new axis."""
    tensors = list(tensors)
    try:
        data = np.stack([t.data for t in tensors], axis=axis)
    except ValueError:
        shapes = ", ".join(str(t.shape) for t in tensors)
        raise ValueError(f"stack: every tensor must have the same shape, got {shapes}") from None
    out = Tensor._op_result(data, tuple(tensors), "stack")

    def _backward(grad):
        for i, t in enumerate(tensors):
            if t.requires_grad:
                t._accumulate(np.take(grad, i, axis=axis))

    out._backward = _backward
    return out


def zeros(*shape, requires_grad=False, dtype=None):
    return Tensor(np.zeros(shape, dtype=dtype or DEFAULT_DTYPE), requires_grad=requires_grad)


def ones(*shape, requires_grad=False, dtype=None):
    return Tensor(np.ones(shape, dtype=dtype or DEFAULT_DTYPE), requires_grad=requires_grad)


def randn(*shape, requires_grad=False, dtype=None):
    """Standard normal samples from the module-level generator (see `manual_seed`)."""
    data = _rng.standard_normal(shape, dtype=dtype or DEFAULT_DTYPE)
    return Tensor(data, requires_grad=requires_grad)
