"""Part I: a tensor autograd engine (`engine`), fused functions (`functional`), layers (`nn`),
optimizers (`optim`), a finite-difference checker (`gradcheck`) and the threads each operation
runs on (`set_num_threads`). PyTorch's names throughout.

>>> from gpt_from_scratch.tensor import Tensor, nn, optim, functional as F
"""

from gpt_from_scratch.tensor import functional, nn, optim
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
from gpt_from_scratch.tensor.memory import keep_freed_memory
from gpt_from_scratch.tensor.parallel import get_num_threads, set_num_threads

# Every training step frees and reallocates the same arrays: keep their memory (see memory.py).
keep_freed_memory()

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
    "stack",
    "tensor",
    "topological_order",
    "zeros",
]
