"""Part I: a tensor autograd engine (`engine`), fused functions (`functional`), layers (`nn`),
optimizers (`optim`), a finite-difference checker (`gradcheck`), and the speed layer (`speed`)
that shares the large operations between `set_num_threads(n)` threads. PyTorch's names
throughout. Importing the package changes nothing in the process: the speed layer limits BLAS
and tunes malloc at the first parallel operation (see `speed`).

>>> from gpt_from_scratch.tensor import Tensor, nn, optim, functional as F
"""

from gpt_from_scratch.tensor import functional, nn, optim, speed
from gpt_from_scratch.tensor.engine import (
    Tensor,
    cat,
    is_grad_enabled,
    manual_seed,
    no_grad,
    ones,
    randn,
    rng,
    stack,
    tensor,
    topological_order,
    zeros,
)
from gpt_from_scratch.tensor.gradcheck import gradcheck
from gpt_from_scratch.tensor.speed import get_num_threads, set_num_threads

__all__ = [
    "Tensor",
    "cat",
    "functional",
    "get_num_threads",
    "gradcheck",
    "is_grad_enabled",
    "manual_seed",
    "nn",
    "no_grad",
    "ones",
    "optim",
    "randn",
    "rng",
    "set_num_threads",
    "speed",
    "stack",
    "tensor",
    "topological_order",
    "zeros",
]
