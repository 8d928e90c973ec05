"""Attention in graded steps: one head, heads side by side, heads as a dimension, and the
model's fused kernel all compute the same outputs and the same gradients."""

import numpy as np
import pytest

from gpt_from_scratch.gpt.config import GPTConfig
from gpt_from_scratch.gpt.heads import (
    BatchedSelfAttention,
    Head,
    MultiHeadAttention,
    batched_from_model,
    heads_from_batched,
)
from gpt_from_scratch.gpt.model import CausalSelfAttention
from gpt_from_scratch.tensor import Tensor, gradcheck, manual_seed

B, T, C, NH = 2, 6, 12, 3


def leaf(shape, seed=0):
    data = np.random.default_rng(seed).standard_normal(shape)
    return Tensor(data, requires_grad=True, dtype=np.float64)


def four_forms(bias=True):
    """The model's fused attention and the three readable forms, with its weights."""
    manual_seed(0)
    fused = CausalSelfAttention(GPTConfig(vocab_size=5, n_embd=C, n_head=NH, bias=bias))
    fused.to(np.float64)
    for p in fused.parameters():  # make every weight and bias matter
        p.data = np.random.default_rng(p.data.size).standard_normal(p.shape)
    batched = batched_from_model(fused)
    multi = heads_from_batched(batched)
    for module in (batched, multi):
        module.to(np.float64)
    return {"fused": fused, "batched": batched, "heads": multi}


def run(module, x):
    for p in module.parameters():
        p.grad = None
    x.grad = None
    out = module(x)
    weights = np.random.default_rng(1).standard_normal(out.shape)
    (out * Tensor(weights)).sum().backward()
    return out.data, x.grad


def gradients(module):
    """Every parameter's gradient under the fused layout's names (c_attn, c_proj): the
    separate heads' columns are put side by side as c_attn holds them."""
    if not isinstance(module, MultiHeadAttention):
        return {name: p.grad for name, p in module.named_parameters()}
    grads = {}
    for kind in ("weight", "bias"):
        columns = [
            getattr(getattr(head, part), kind)
            for part in ("query", "key", "value")
            for head in module.heads
        ]
        if columns[0] is not None:
            grads[f"c_attn.{kind}"] = np.concatenate([c.grad for c in columns], axis=-1)
        if getattr(module.proj, kind) is not None:
            grads[f"c_proj.{kind}"] = getattr(module.proj, kind).grad
    return grads


@pytest.mark.parametrize("bias", [True, False])
def test_the_three_forms_and_the_fused_kernel_agree_in_value_and_gradient(bias):
    forms = four_forms(bias)
    x = leaf((B, T, C))
    results = {name: run(module, x) for name, module in forms.items()}
    out, grad = results["fused"]
    expected = gradients(forms["fused"])
    assert len(expected) == (4 if bias else 2)
    for name, (other_out, other_grad) in results.items():
        np.testing.assert_allclose(other_out, out, atol=1e-10, err_msg=name)
        np.testing.assert_allclose(other_grad, grad, atol=1e-10, err_msg=name)
        got = gradients(forms[name])
        assert got.keys() == expected.keys(), name
        for weight, g in got.items():
            np.testing.assert_allclose(g, expected[weight], atol=1e-10, err_msg=weight)


@pytest.mark.parametrize("form", ["fused", "batched", "heads"])
def test_no_form_looks_ahead(form):
    module = four_forms()[form]
    x = np.random.default_rng(0).standard_normal((B, T, C))
    changed = x.copy()
    changed[:, 4] += 10.0  # a future token, for positions 0..3
    a = module(Tensor(x, dtype=np.float64)).data
    b = module(Tensor(changed, dtype=np.float64)).data
    np.testing.assert_array_equal(a[:, :4], b[:, :4])
    assert not np.allclose(a[:, 4:], b[:, 4:])


def test_one_head_passes_a_finite_difference_check():
    manual_seed(0)
    head = Head(n_embd=4, head_size=3).to(np.float64)
    x = np.random.default_rng(0).standard_normal((2, 5, 4))
    gradcheck(lambda t, *_: head(t), [x, *head.parameters()])


def test_a_head_never_looks_ahead():
    manual_seed(0)
    head = Head(n_embd=C, head_size=4).to(np.float64)
    x = np.random.default_rng(0).standard_normal((1, T, C))
    changed = x.copy()
    changed[0, 4] += 10.0  # a future token, for positions 0..3
    a = head(Tensor(x)).data
    b = head(Tensor(changed)).data
    np.testing.assert_array_equal(a[0, :4], b[0, :4])
    assert not np.allclose(a[0, 4:], b[0, 4:])


def test_the_kept_attention_weights_are_rows_of_probabilities_over_the_past():
    manual_seed(0)
    head = Head(n_embd=C, head_size=4)
    head(Tensor(np.random.default_rng(0).standard_normal((B, T, C))))
    assert head.weights.shape == (B, T, T)
    np.testing.assert_allclose(head.weights.sum(axis=-1), 1.0, rtol=1e-6)
    assert np.all(head.weights[:, np.triu_indices(T, k=1)[0], np.triu_indices(T, k=1)[1]] == 0)


@pytest.mark.oracle
def test_one_head_equals_pytorch_with_the_same_weights(torch):
    manual_seed(0)
    head = Head(n_embd=C, head_size=4).to(np.float64)
    x, upstream = leaf((B, T, C)), np.random.default_rng(1).standard_normal((B, T, 4))
    ours = head(x)
    ours.backward(upstream)
    xt = torch.tensor(x.data, requires_grad=True)
    layers = (head.query, head.key, head.value)
    q, k, v = (torch.tensor(layer.weight.data, requires_grad=True) for layer in layers)
    scores = (xt @ q) @ (xt @ k).transpose(-2, -1) / 2.0  # hs = 4: 1 / sqrt(4)
    mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    theirs = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1) @ (xt @ v)
    theirs.backward(torch.tensor(upstream))
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(x.grad, xt.grad.numpy(), atol=1e-12)
    for layer, weight in zip(layers, (q, k, v), strict=True):
        np.testing.assert_allclose(layer.weight.grad, weight.grad.numpy(), atol=1e-12)


@pytest.mark.parametrize(
    "make", [lambda: MultiHeadAttention(10, 3), lambda: BatchedSelfAttention(10, 0)]
)
def test_heads_must_divide_the_channels(make):
    with pytest.raises(ValueError, match="must be a multiple of n_head"):
        make()
