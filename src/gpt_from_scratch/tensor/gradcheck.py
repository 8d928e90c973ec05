"""Check a function's backward pass against central finite differences, in float64.

>>> from gpt_from_scratch.tensor import Tensor
>>> import numpy as np
>>> gradcheck(lambda a, b: (a * b).tanh(), [np.ones((2, 3)), np.arange(3.0)])
True
"""

import numpy as np

from gpt_from_scratch.tensor.engine import Tensor


def _as_input(x):
    """A float64 leaf that requires grad; integer arrays and given Tensors pass through."""
    if isinstance(x, Tensor):
        if x.requires_grad and x.dtype != np.float64:
            raise TypeError(
                f"gradcheck needs float64 inputs (float32 is too coarse for finite differences); "
                f"got a tensor of dtype {x.dtype} and shape {x.shape}"
            )
        return x
    array = np.asarray(x)
    if array.dtype.kind in "iub":
        return Tensor(array)
    return Tensor(array, requires_grad=True, dtype=np.float64)


def gradcheck(fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-4, seed=0):
    """Compare the gradients from `backward()` with central differences; True, or an
    AssertionError that names the worst entry.

    `fn(*tensors)` returns a Tensor of any shape; it is reduced to the scalar
    sum(out * w) with fixed random weights w, so every output entry is checked. `inputs`
    are numpy arrays (float arrays become float64 leaves requiring grad, integer arrays
    are passed as constants) or Tensors (used as they are, e.g. a module's parameters
    converted with `module.to(np.float64)`). Each entry x of each input is nudged:
    (f(x + eps) - f(x - eps)) / (2 eps) must match the analytic gradient within
    atol + rtol * |numeric|.
    """
    tensors = [_as_input(x) for x in inputs]
    out = fn(*tensors)
    weights = np.random.default_rng(seed).standard_normal(out.shape)

    def objective():
        return float(np.sum(fn(*tensors).data * weights))

    for t in tensors:
        t.grad = None
    out.backward(weights.astype(out.dtype))
    for position, t in enumerate(tensors):
        if not t.requires_grad:
            continue
        analytic = t.grad if t.grad is not None else np.zeros_like(t.data)
        numeric = numeric_gradient(objective, t.data, eps)
        _check_close(position, analytic, numeric, atol, rtol)
    return True


def numeric_gradient(objective, data, eps):
    """d objective / d data by central differences, one entry of `data` at a time."""
    numeric = np.zeros_like(data)
    flat, numeric_flat = data.reshape(-1), numeric.reshape(-1)  # views
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + eps
        up = objective()
        flat[i] = original - eps
        down = objective()
        flat[i] = original
        numeric_flat[i] = (up - down) / (2 * eps)
    return numeric


def _check_close(position, analytic, numeric, atol, rtol):
    """An AssertionError naming the worst entry unless analytic matches numeric."""
    error = np.abs(analytic - numeric)
    tolerance = atol + rtol * np.abs(numeric)
    if np.any(error > tolerance):
        worst = np.unravel_index(np.argmax(error - tolerance), numeric.shape)
        raise AssertionError(
            f"gradcheck: input {position} (shape {numeric.shape}) gradient mismatch at "
            f"index {tuple(int(i) for i in worst)}: backward gave {analytic[worst]:.8g}, "
            f"finite differences {numeric[worst]:.8g} (max abs error {error.max():.3g})"
        )
