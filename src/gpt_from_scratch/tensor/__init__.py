"""Part I: a tensor autograd engine (`engine`), fused functions (`functional`), layers (`nn`),
optimizers (`optim`) and a finite-difference checker (`gradcheck`). PyTorch's names throughout.

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

__all__ = [
    "Tensor",
    "cat",
    "functional",
    "gradcheck",
    "is_grad_enabled",
    "manual_seed",
    "nn",
    "no_grad",
    "ones",
    "optim",
    "randn",
    "rng",
    "stack",
    "tensor",
    "topological_order",
    "zeros",
]
