"""Fused functions, modules and optimizers: gradcheck, PyTorch, state dicts, errors."""

import numpy as np
import pytest

from gpt_from_scratch.tensor import Tensor, gradcheck, manual_seed, nn, optim
from gpt_from_scratch.tensor import functional as F


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ----- cross-entropy -----


def test_cross_entropy_passes_gradcheck():
    targets = np.array([0, 3, 3, 1, 2])
    assert gradcheck(lambda z: F.cross_entropy(z, targets), [rand(5, 4)])


def test_cross_entropy_with_ignore_index_passes_gradcheck():
    targets = np.array([0, -1, 3, -1, 2])
    assert gradcheck(lambda z: F.cross_entropy(z, targets, ignore_index=-1), [rand(5, 4)])


def test_cross_entropy_is_stable_for_huge_logits():
    logits = Tensor([[1000.0, 0.0, -1000.0]], requires_grad=True)
    loss = F.cross_entropy(logits, [1])
    loss.backward()
    assert loss.item() == pytest.approx(1000.0)
    assert np.all(np.isfinite(logits.grad))


@pytest.mark.oracle
def test_cross_entropy_matches_pytorch(torch):
    z, targets = rand(6, 5), np.array([4, 0, 0, 2, 1, 3])
    ours = Tensor(z, requires_grad=True, dtype=np.float64)
    theirs = torch.tensor(z, requires_grad=True)
    loss = F.cross_entropy(ours, targets, ignore_index=0)
    t_loss = torch.nn.functional.cross_entropy(theirs, torch.tensor(targets), ignore_index=0)
    loss.backward()
    t_loss.backward()
    assert loss.item() == pytest.approx(t_loss.item(), rel=1e-12)
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), atol=1e-12)


def test_cross_entropy_errors():
    z = Tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="2 rows of logits but 3 targets"):
        F.cross_entropy(z, [0, 1, 2])
    with pytest.raises(IndexError, match="target 3 in row 1"):
        F.cross_entropy(z, [0, 3])
    with pytest.raises(TypeError, match="integers"):
        F.cross_entropy(z, np.array([0.0, 1.0]))


# ----- modules -----


def test_linear_and_sequential_pass_gradcheck():
    manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).to(np.float64)
    assert gradcheck(lambda x, *params: model(x), [rand(5, 3)] + model.parameters())


@pytest.mark.parametrize("with_bias", [True, False], ids=["bias", "no_bias"])
def test_fused_linear_passes_gradcheck_on_batched_input(with_bias):
    params = [rand(2, 3, 4), rand(4, 5, seed=1)] + ([rand(5, seed=2)] if with_bias else [])
    assert gradcheck(lambda x, w, *b: F.linear(x, w, *b), params)


def test_fused_linear_equals_matmul_plus_bias():
    x, w, b = (Tensor(a, requires_grad=True) for a in (rand(4, 3), rand(3, 2, seed=1), rand(2)))
    fused = F.linear(x, w, b)
    grads = [np.ones((4, 2)), rand(4, 2, seed=5)]
    fused.backward(grads[1])
    fused_grads = [t.grad.copy() for t in (x, w, b)]
    for t in (x, w, b):
        t.zero_grad()
    chain = x @ w + b
    chain.backward(grads[1])
    np.testing.assert_allclose(fused.data, chain.data, rtol=1e-6)
    for got, want in zip(fused_grads, (x.grad, w.grad, b.grad), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-6)


@pytest.mark.parametrize("frozen", ["input", "weight"])
def test_fused_linear_leaves_a_tensor_without_grad_alone(frozen):
    x = Tensor(rand(2, 3, 4), requires_grad=frozen != "input")
    w = Tensor(rand(4, 5, seed=1), requires_grad=frozen != "weight")
    g = rand(2, 3, 5, seed=2)
    F.linear(x, w).backward(g)
    if frozen == "input":
        assert x.grad is None
        np.testing.assert_allclose(w.grad, x.data.reshape(6, 4).T @ g.reshape(6, 5), atol=1e-5)
    else:
        assert w.grad is None
        np.testing.assert_allclose(x.grad, g @ w.data.T, atol=1e-5)


def test_linear_of_the_wrong_width_names_both_shapes():
    with pytest.raises(ValueError, match=r"input of shape \(2, 3\).*weight of shape \(4, 5\)"):
        nn.Linear(4, 5)(Tensor(np.ones((2, 3))))


def test_linear_init_is_pytorch_default():
    manual_seed(0)
    layer = nn.Linear(100, 50)
    assert layer.weight.shape == (100, 50) and layer.bias.shape == (50,)
    assert np.abs(layer.weight.data).max() <= 0.1
    assert np.abs(layer.weight.data).max() > 0.09
    assert layer.weight.dtype == np.float32


def test_embedding_passes_gradcheck():
    manual_seed(0)
    emb = nn.Embedding(5, 3).to(np.float64)
    ids = np.array([[1, 1, 4], [0, 1, 1]])
    assert gradcheck(lambda table: emb(ids), [emb.weight])


@pytest.mark.parametrize("shape", [(6, 4), (3, 5, 4)])
def test_layernorm_and_batchnorm_pass_gradcheck(shape):
    for module in (nn.LayerNorm(4), nn.BatchNorm1d(4)):
        module.to(np.float64)
        module.weight.data[...] = rand(4, seed=1)
        module.bias.data[...] = rand(4, seed=2)
        params = [module.weight, module.bias]
        assert gradcheck(lambda x, *p, m=module: m(x), [rand(*shape)] + params)


def test_batchnorm_in_eval_mode_passes_gradcheck():
    bn = nn.BatchNorm1d(3).to(np.float64)
    bn.running_mean.data[...] = [0.5, -1.0, 2.0]
    bn.running_var.data[...] = [2.0, 0.5, 1.0]
    bn.eval()
    assert gradcheck(lambda x, w, b: bn(x), [rand(4, 3), bn.weight, bn.bias])


@pytest.mark.oracle
@pytest.mark.parametrize("shape", [(8, 4), (3, 5, 4)])
def test_batchnorm_matches_pytorch_in_train_and_eval(torch, shape):
    x = rand(*shape)
    ours = nn.BatchNorm1d(4, momentum=0.2).to(np.float64)
    theirs = torch.nn.BatchNorm1d(4, momentum=0.2)
    xt = torch.tensor(x, requires_grad=True)
    xo = Tensor(x, requires_grad=True, dtype=np.float64)
    transpose = (
        (lambda t: t.transpose(1, 2)) if len(shape) == 3 else (lambda t: t)
    )  # torch: (N, C, L)
    for _ in range(2):
        y_theirs = transpose(theirs(transpose(xt)))
        y_ours = ours(xo)
    np.testing.assert_allclose(y_ours.data, y_theirs.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(ours.running_mean.data, theirs.running_mean.numpy(), atol=1e-12)
    np.testing.assert_allclose(ours.running_var.data, theirs.running_var.numpy(), atol=1e-12)
    weights = rand(*shape, seed=5)
    (y_ours * weights).sum().backward()
    (y_theirs * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), atol=1e-10)
    ours.eval()
    theirs.eval()
    np.testing.assert_allclose(
        ours(xo).data, transpose(theirs(transpose(xt))).detach().numpy(), atol=1e-10
    )


@pytest.mark.oracle
def test_layernorm_matches_pytorch(torch):
    x, w, b = rand(2, 3, 6), rand(6, seed=1), rand(6, seed=2)
    ours = nn.LayerNorm(6).to(np.float64)
    ours.weight.data[...], ours.bias.data[...] = w, b
    xo = Tensor(x, requires_grad=True, dtype=np.float64)
    xt = torch.tensor(x, requires_grad=True)
    y = ours(xo)
    yt = torch.nn.functional.layer_norm(xt, (6,), torch.tensor(w), torch.tensor(b))
    np.testing.assert_allclose(y.data, yt.detach().numpy(), atol=1e-10)
    (y**2).sum().backward()
    (yt**2).sum().backward()
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), atol=1e-9)


def test_dropout_masks_in_training_and_is_identity_in_eval():
    manual_seed(0)
    drop = nn.Dropout(0.25)
    x = Tensor(np.ones((200, 100)), requires_grad=True)
    y = drop(x)
    kept = y.data != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y.data[kept], 1 / 0.75, rtol=1e-6)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, y.data)
    drop.eval()
    assert drop(x) is x


def test_module_finds_parameters_in_attributes_lists_and_nested_modules():
    class Block(nn.Module):
        def __init__(self):
            self.norm = nn.LayerNorm(4)
            self.heads = [nn.Linear(4, 2), nn.Linear(4, 2, bias=False)]
            self.scale = Tensor(np.ones(1), requires_grad=True)

    block = Block()
    names = [name for name, _ in block.named_parameters()]
    assert names == [
        "norm.weight",
        "norm.bias",
        "heads.0.weight",
        "heads.0.bias",
        "heads.1.weight",
        "scale",
    ]
    block.eval()
    assert not block.heads[1].training
    block.train()
    assert block.norm.training


def test_state_dict_round_trip_includes_buffers():
    manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    state = model.state_dict()
    assert "layers.1.running_var" in state
    manual_seed(1)
    other = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    other.load_state_dict(state)
    for name, value in other.state_dict().items():
        np.testing.assert_array_equal(value, state[name])


def test_load_state_dict_errors_change_nothing():
    manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))
    before = model.state_dict()
    state = dict(before)
    state["layers.0.weight"] = np.zeros((4, 3))
    del state["layers.1.bias"]
    state["extra"] = np.zeros(1)
    with pytest.raises(KeyError) as err:
        model.load_state_dict(state)
    message = str(err.value)
    assert "missing keys: ['layers.1.bias']" in message
    assert "unexpected keys: ['extra']" in message
    assert "'layers.0.weight': the checkpoint has (4, 3), the model has (3, 4)" in message
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])


# ----- optimizers -----


def _train_both(torch, make_ours, make_theirs, steps=5):
    rng = np.random.default_rng(0)
    w0, x = rng.standard_normal((4, 3)), rng.standard_normal((6, 4))
    w = Tensor(w0, requires_grad=True, dtype=np.float64)
    b = Tensor(np.zeros(3), requires_grad=True, dtype=np.float64)
    wt = torch.tensor(w0, requires_grad=True)
    bt = torch.zeros(3, requires_grad=True)
    ours, theirs = make_ours([w, b]), make_theirs([wt, bt])
    for _ in range(steps):
        ours.zero_grad()
        theirs.zero_grad()
        ((Tensor(x, dtype=np.float64) @ w + b).tanh() ** 2).sum().backward()
        ((torch.tensor(x) @ wt + bt).tanh() ** 2).sum().backward()
        ours.step()
        theirs.step()
    np.testing.assert_allclose(w.data, wt.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.data, bt.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.oracle
def test_sgd_with_momentum_matches_pytorch(torch):
    _train_both(
        torch,
        lambda p: optim.SGD(p, lr=0.1, momentum=0.9),
        lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    )


@pytest.mark.oracle
def test_adamw_matches_pytorch(torch):
    _train_both(
        torch,
        lambda p: optim.AdamW(p, lr=0.01, betas=(0.8, 0.95), weight_decay=0.1),
        lambda p: torch.optim.AdamW(p, lr=0.01, betas=(0.8, 0.95), weight_decay=0.1),
    )


@pytest.mark.oracle
def test_adamw_parameter_groups_match_pytorch(torch):
    _train_both(
        torch,
        lambda p: optim.AdamW([{"params": p[:1]}, {"params": p[1:], "weight_decay": 0.0}], lr=0.05),
        lambda p: torch.optim.AdamW(
            [{"params": p[:1]}, {"params": p[1:], "weight_decay": 0.0}], lr=0.05
        ),
    )


def test_cosine_schedule_warms_up_then_decays():
    lrs = [optim.cosine_lr(s, 1.0, warmup_steps=10, max_steps=110, min_lr=0.1) for s in range(120)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert lrs[60] == pytest.approx(0.55)
    assert lrs[110] == pytest.approx(0.1) and lrs[119] == pytest.approx(0.1)
    assert all(a >= b for a, b in zip(lrs[9:], lrs[10:], strict=False))


@pytest.mark.oracle
def test_clip_grad_norm_matches_pytorch(torch):
    grads = [rand(3, 4), rand(5, seed=1)]
    ours = [Tensor(np.zeros_like(g), requires_grad=True, dtype=np.float64) for g in grads]
    theirs = [torch.zeros(g.shape, requires_grad=True) for g in grads]
    for o, t, g in zip(ours, theirs, grads, strict=True):
        o.grad, t.grad = g.copy(), torch.tensor(g)
    norm = optim.clip_grad_norm_(ours, 1.0)
    t_norm = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert norm == pytest.approx(t_norm.item())
    for o, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(o.grad, t.grad.numpy(), rtol=1e-12)


def test_dropout_passes_gradcheck_with_a_fixed_mask():
    def dropped(x):
        manual_seed(3)  # the same mask at every evaluation
        return F.dropout(x, 0.4)

    assert gradcheck(dropped, [rand(4, 5)])


def test_fused_ops_build_no_graph_under_no_grad():
    from gpt_from_scratch.tensor import no_grad

    norm = nn.LayerNorm(3)
    x = Tensor(rand(2, 3), requires_grad=True)
    with no_grad():
        outputs = [norm(x), F.cross_entropy(x, [0, 2]), F.dropout(x, 0.5), x.gelu()]
    assert all(not y.requires_grad and y._parents == () for y in outputs)


def test_modules_keep_float32():
    manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.LayerNorm(4), nn.Tanh())
    x = Tensor(rand(5, 3), requires_grad=True)
    loss = F.cross_entropy(model(x), [0, 1, 2, 3, 0])
    loss.backward()
    assert loss.dtype == np.float32 and x.grad.dtype == np.float32
    assert all(p.grad.dtype == np.float32 for p in model.parameters())


def test_batchnorm_rejects_bad_input_and_a_batch_of_one():
    bn = nn.BatchNorm1d(4)
    with pytest.raises(ValueError, match=r"\(N, C\) or \(N, L, C\).*\(4,\)"):
        bn(Tensor(np.ones(4)))
    with pytest.raises(ValueError, match=r"weight has shape \(4,\)"):
        bn(Tensor(np.ones((3, 5))))
    with pytest.raises(ValueError, match="more than one value per channel"):
        bn(Tensor(np.ones((1, 4))))
    assert bn.running_mean.data.tolist() == [0.0] * 4


def test_optimizer_rejects_bad_parameter_groups():
    w = Tensor(np.ones(2), requires_grad=True)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.AdamW([], lr=0.1)
    with pytest.raises(ValueError, match=r"unknown options \['betas'\]"):
        optim.AdamW([{"params": [w], "betas": (0.9, 0.9)}], lr=0.1)
    with pytest.raises(ValueError, match="does not require grad"):
        optim.SGD([Tensor(np.ones(2))], lr=0.1)


def test_setting_lr_changes_the_step():
    w = Tensor([1.0], requires_grad=True)
    sgd = optim.SGD([w], lr=0.1)
    w.grad = np.array([1.0], dtype=np.float32)
    sgd.lr = 0.5
    sgd.step()
    assert w.data.tolist() == [0.5]
