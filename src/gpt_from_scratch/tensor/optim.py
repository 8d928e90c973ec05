"""Optimizers (SGD with momentum, AdamW), a warmup + cosine learning-rate schedule, and
gradient clipping by global norm. The update rules follow `torch.optim` exactly.

>>> from gpt_from_scratch.tensor import Tensor
>>> w = Tensor([1.0, -2.0], requires_grad=True)
>>> (w * w).sum().backward()  # grad = 2w = [2, -4]
>>> SGD([w], lr=0.1).step()
>>> w.data.tolist()
[0.800000011920929, -1.600000023841858]
"""

import math

import numpy as np


def _param_groups(params, defaults):
    """A list of groups {"params": [...], option: value}; a plain list of tensors is one group."""
    params = list(params)
    if not params:
        raise ValueError("optimizer got an empty parameter list")
    if not isinstance(params[0], dict):
        params = [{"params": params}]
    groups = []
    for i, group in enumerate(params):
        unknown = set(group) - {"params", *defaults}
        if unknown:
            raise ValueError(f"parameter group {i}: unknown options {sorted(unknown)}")
        tensors = list(group["params"])
        for p in tensors:
            if not p.requires_grad:
                raise ValueError(f"parameter group {i} holds a tensor that does not require grad")
        groups.append({**defaults, **group, "params": tensors})
    return groups


class Optimizer:
    def __init__(self, params, lr, defaults):
        self.lr = lr
        self.param_groups = _param_groups(params, defaults)

    def parameters(self):
        return [p for group in self.param_groups for p in group["params"]]

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None


class SGD(Optimizer):
    """p <- p - lr * v, with velocity v <- momentum * v + grad (v = grad at the first step)."""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr, {"momentum": momentum, "weight_decay": weight_decay})
        self.velocity = {}

    def step(self):
        for group in self.param_groups:
            momentum, decay = group["momentum"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad + decay * p.data if decay else p.grad
                if momentum:
                    v = self.velocity.get(id(p))
                    if v is None:
                        v = self.velocity[id(p)] = np.array(grad, copy=True)
                    else:
                        v *= momentum
                        v += grad
                    grad = v
                p.data -= self.lr * grad


class AdamW(Optimizer):
    """Adam with decoupled weight decay (Loshchilov and Hutter), as torch.optim.AdamW.

    At step t, for each parameter p with gradient g:
    p <- p (1 - lr * weight_decay);  m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
    p <- p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
    """

    def __init__(self, params, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(params, lr, {"weight_decay": weight_decay})
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.t = 0
        self.m = {}
        self.v = {}

    def step(self):
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        step_size = self.lr / (1.0 - b1**self.t)
        root_correction = math.sqrt(1.0 - b2**self.t)
        for group in self.param_groups:
            decay = group["weight_decay"]
            for p in group["params"]:
                g = p.grad
                if g is None:
                    continue
                m, v = self.m.get(id(p)), self.v.get(id(p))
                if m is None:
                    m = self.m[id(p)] = np.zeros_like(p.data)
                    v = self.v[id(p)] = np.zeros_like(p.data)
                if decay:
                    p.data *= 1.0 - self.lr * decay
                m *= b1
                m += (1.0 - b1) * g
                g_squared = g * g
                g_squared *= 1.0 - b2
                v *= b2
                v += g_squared
                # lr * m_hat / (sqrt(v_hat) + eps), with the bias corrections folded in;
                # one scratch array holds the denominator, then the whole update
                update = np.sqrt(v, out=g_squared)
                update /= root_correction
                update += self.eps
                np.divide(m, update, out=update)
                update *= step_size
                p.data -= update


def cosine_lr(step, max_lr, warmup_steps, max_steps, min_lr=0.0):
    """Linear warmup to max_lr over `warmup_steps`, then cosine decay to min_lr at `max_steps`.

    >>> cosine_lr(0, 1.0, 10, 100), cosine_lr(9, 1.0, 10, 100), cosine_lr(100, 1.0, 10, 100, 0.1)
    (0.1, 1.0, 0.1)
    """
    if step < warmup_steps:
        return max_lr * (step + 1) / warmup_steps
    if step >= max_steps:
        return min_lr
    progress = (step - warmup_steps) / (max_steps - warmup_steps)  # 0 -> 1
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * progress)) * (max_lr - min_lr)


def clip_grad_norm_(params, max_norm):
    """Scale all gradients together so their global L2 norm is at most max_norm.

    Returns the norm before clipping (as torch.nn.utils.clip_grad_norm_ does).
    """
    grads = [p.grad for p in params if p.grad is not None]
    total = math.sqrt(sum(float(np.vdot(g, g)) for g in grads))
    scale = max_norm / (total + 1e-6)
    if scale < 1.0:
        for g in grads:
            g *= scale
    return total
