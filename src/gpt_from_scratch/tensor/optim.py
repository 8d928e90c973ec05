"""Optimizers (SGD with momentum, AdamW), learning-rate schedules (constant, step decay, warmup
plus cosine), and gradient clipping by global norm. The update rules follow `torch.optim`
exactly, and so does `state_dict()`: nothing outside this module reads an optimizer's insides.

>>> from gpt_from_scratch.tensor import Tensor
>>> w = Tensor([1.0, -2.0], requires_grad=True)
>>> (w * w).sum().backward()  # grad = 2w = [2, -4]
>>> SGD([w], lr=0.1).step()
>>> w.data.tolist()
[0.800000011920929, -1.600000023841858]
"""

import math
from functools import partial

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
    """What every optimizer shares: parameter groups, `zero_grad`, and its state as a dict.

    `self.state` maps a parameter (by identity) to its named arrays, such as SGD's momentum
    buffer or AdamW's two moments; `SCALARS` names the attributes saved beside them.
    """

    SCALARS = ("lr",)

    def __init__(self, params, lr, defaults):
        self.lr = lr
        self.param_groups = _param_groups(params, defaults)
        self.state = {}

    def parameters(self):
        return [p for group in self.param_groups for p in group["params"]]

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def state_dict(self):
        """PyTorch's layout: {"state": {index: {slot: array}}, "param_groups": [settings], ...}.

        A parameter is named by its index among `parameters()`, so the dict fits a new
        optimizer over a new model of the same shape. The arrays are copies.
        """
        params = self.parameters()
        state = {
            i: {slot: array.copy() for slot, array in self.state[id(p)].items()}
            for i, p in enumerate(params)
            if id(p) in self.state
        }
        groups = [{k: v for k, v in g.items() if k != "params"} for g in self.param_groups]
        scalars = {name: getattr(self, name) for name in self.SCALARS}
        return {"state": state, "param_groups": groups, **scalars}

    def load_state_dict(self, state_dict):
        """The inverse of `state_dict`; a dict that does not fit is a ValueError, and then
        nothing has changed."""
        params = self.parameters()
        groups = state_dict["param_groups"]
        missing = [name for name in self.SCALARS if name not in state_dict]
        if missing:
            raise ValueError(f"optimizer state lacks its settings {missing}")
        if len(groups) != len(self.param_groups):
            raise ValueError(
                f"optimizer state has {len(groups)} parameter groups, this optimizer "
                f"{len(self.param_groups)}"
            )
        state = {}
        for index, slots in state_dict["state"].items():
            i = int(index)
            if not 0 <= i < len(params):
                raise ValueError(f"optimizer state for parameter {i}, but there are {len(params)}")
            for slot, array in slots.items():
                if np.shape(array) != params[i].shape:
                    raise ValueError(
                        f"optimizer state {slot!r} of parameter {i} has shape "
                        f"{np.shape(array)}, the parameter {params[i].shape}"
                    )
            state[id(params[i])] = {
                slot: np.array(array, dtype=params[i].dtype) for slot, array in slots.items()
            }
        self.state = state
        for group, saved in zip(self.param_groups, groups, strict=True):
            group.update({k: v for k, v in saved.items() if k != "params"})
        for name in self.SCALARS:
            setattr(self, name, state_dict[name])


class SGD(Optimizer):
    """p <- p - lr * v, with velocity v <- momentum * v + grad (v = grad at the first step)."""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0):
        super().__init__(params, lr, {"momentum": momentum, "weight_decay": weight_decay})

    def step(self):
        for group in self.param_groups:
            momentum, decay = group["momentum"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = p.grad + decay * p.data if decay else p.grad
                if momentum:
                    slots = self.state.get(id(p))
                    if slots is None:
                        v = np.array(grad, copy=True)
                        self.state[id(p)] = {"momentum_buffer": v}
                    else:
                        v = slots["momentum_buffer"]
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

    SCALARS = ("lr", "t")

    def __init__(self, params, lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01):
        super().__init__(params, lr, {"weight_decay": weight_decay})
        self.beta1, self.beta2 = betas
        self.eps = eps
        self.t = 0

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
                slots = self.state.get(id(p))
                if slots is None:
                    slots = self.state[id(p)] = {
                        "exp_avg": np.zeros_like(p.data),
                        "exp_avg_sq": np.zeros_like(p.data),
                    }
                m, v = slots["exp_avg"], slots["exp_avg_sq"]
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


def constant(lr):
    """The schedule that keeps `lr` at every step."""
    return lambda step: lr


def step_decay(first, then, at):
    """The lectures' schedule: learning rate `first` for steps before `at`, `then` after.

    >>> schedule = step_decay(0.1, 0.01, at=100)
    >>> schedule(99), schedule(100)
    (0.1, 0.01)
    """
    return lambda step: first if step < at else then


def warmup_cosine(max_lr, warmup_steps, max_steps, min_lr=0.0):
    """The schedule of `cosine_lr`: step -> learning rate."""
    return partial(
        cosine_lr, max_lr=max_lr, warmup_steps=warmup_steps, max_steps=max_steps, min_lr=min_lr
    )


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
    params = [p for p in params if p.grad is not None]
    total = math.sqrt(sum(float(np.vdot(p.grad, p.grad)) for p in params))
    scale = max_norm / (total + 1e-6)
    if scale < 1.0:
        for p in params:  # new arrays: a gradient may be shared, so never in place
            p.grad = p.grad * scale
    return total
