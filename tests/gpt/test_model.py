"""The GPT against a PyTorch port of the same weights; causality; the optimizer's groups."""

import numpy as np
import pytest

from gpt_from_scratch.gpt import GPT, BigramLanguageModel, GPTConfig, NextCharacterGPT
from gpt_from_scratch.tensor import manual_seed

SMALL = GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16)


def small_model(config=SMALL, seed=0, dtype=np.float64):
    manual_seed(seed)
    model = GPT(config).to(dtype)
    rng = np.random.default_rng(seed)
    for _, p in model.named_parameters():  # not the zero biases of the initialisation
        p.data[...] += 0.1 * rng.standard_normal(p.shape)
    return model


def torch_forward(torch, model, idx, targets):
    """The same GPT written in PyTorch, reading our weights ((fan_in, fan_out) linear layers)."""
    F = torch.nn.functional
    w = {name: torch.tensor(p.data, requires_grad=True) for name, p in model.named_parameters()}
    config = model.config
    B, T = idx.shape
    C, nh = config.n_embd, config.n_head

    def linear(x, prefix):
        return x @ w[prefix + ".weight"] + w[prefix + ".bias"]

    def norm(x, prefix):
        return F.layer_norm(x, (C,), w[prefix + ".weight"], w[prefix + ".bias"])

    idx_t = torch.tensor(idx)
    x = w["wte.weight"][idx_t] + w["wpe.weight"][torch.arange(T)]
    for i in range(config.n_layer):
        p = f"blocks.{i}."
        q, k, v = linear(norm(x, p + "ln_1"), p + "attn.c_attn").split(C, dim=2)
        q, k, v = (t.view(B, T, nh, C // nh).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + linear(y.transpose(1, 2).reshape(B, T, C), p + "attn.c_proj")
        h = F.gelu(linear(norm(x, p + "ln_2"), p + "mlp.c_fc"), approximate="tanh")
        x = x + linear(h, p + "mlp.c_proj")
    logits = norm(x, "ln_f") @ w["wte.weight"].T
    loss = F.cross_entropy(logits.view(B * T, -1), torch.tensor(targets).view(-1))
    return logits, loss, w


@pytest.mark.oracle
def test_logits_loss_and_gradients_match_pytorch(torch):
    model = small_model()
    rng = np.random.default_rng(1)
    idx, targets = rng.integers(0, 11, (3, 8)), rng.integers(0, 11, (3, 8))
    logits, loss = model(idx, targets)
    loss.backward()
    t_logits, t_loss, w = torch_forward(torch, model, idx, targets)
    t_loss.backward()
    np.testing.assert_allclose(logits.data, t_logits.detach().numpy(), atol=1e-5)
    assert abs(loss.item() - t_loss.item()) < 1e-5
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, w[name].grad.numpy(), atol=1e-5, err_msg=name)


@pytest.mark.oracle
def test_float32_model_matches_pytorch(torch):
    model = small_model(dtype=np.float32)
    idx = np.random.default_rng(2).integers(0, 11, (2, 8))
    logits, loss = model(idx, idx)
    t_logits, t_loss, _ = torch_forward(torch, model.to(np.float64), idx, idx)
    assert logits.dtype == np.float32
    np.testing.assert_allclose(logits.data, t_logits.detach().numpy(), atol=1e-5)
    assert abs(loss.item() - t_loss.item()) < 1e-5


def test_changing_a_future_token_never_changes_the_past():
    model = small_model()
    idx = np.random.default_rng(3).integers(0, 11, (1, 8))
    before = model(idx)[0].data
    for t in range(8):
        changed = idx.copy()
        changed[0, t] = (changed[0, t] + 1) % 11
        after = model(changed)[0].data
        np.testing.assert_array_equal(after[0, :t], before[0, :t])
        assert not np.allclose(after[0, t:], before[0, t:])


def test_weight_decay_only_on_matrices():
    model = small_model()
    optimizer = model.configure_optimizer(lr=1e-3, weight_decay=0.1)
    decayed, plain = optimizer.param_groups
    assert decayed["weight_decay"] == 0.1 and plain["weight_decay"] == 0.0
    assert all(p.ndim == 2 for p in decayed["params"])
    assert all(p.ndim == 1 for p in plain["params"])
    assert len(decayed["params"]) + len(plain["params"]) == len(model.parameters())


def test_head_is_tied_to_the_token_embedding():
    model = small_model()
    names = [name for name, _ in model.named_parameters()]
    assert not any("head" in name for name in names)
    assert model.num_parameters() == sum(p.data.size for p in model.parameters())


def test_initial_loss_is_near_uniform():
    manual_seed(0)
    model = GPT(SMALL)
    rng = np.random.default_rng(4)
    idx, targets = rng.integers(0, 11, (2, 16, 8))
    assert abs(model(idx, targets)[1].item() - np.log(11)) < 0.1


def test_the_chapter_switches_build_smaller_models():
    bare = GPT(
        GPTConfig(
            vocab_size=5,
            block_size=4,
            n_layer=1,
            n_head=1,
            n_embd=8,
            mlp=False,
            residual=False,
            layer_norm=False,
        )
    )
    names = [name for name, _ in bare.named_parameters()]
    assert not any("mlp" in n or "ln" in n for n in names)
    logits, loss = bare(np.zeros((2, 4), dtype=np.int64), np.ones((2, 4), dtype=np.int64))
    assert logits.shape == (2, 4, 5) and np.isfinite(loss.item())


def test_bigram_logits_are_a_table_lookup():
    manual_seed(0)
    model = BigramLanguageModel(6)
    logits, _ = model(np.array([[2, 5]]))
    np.testing.assert_array_equal(logits.data[0], model.table.weight.data[[2, 5]])


@pytest.mark.parametrize(
    "idx, message",
    [
        (np.zeros((1, 9), dtype=np.int64), "longer than the block size 8"),
        (np.full((1, 3), 11), "vocabulary has 11 tokens"),
        (np.zeros(3, dtype=np.int64), "2-D integer array"),
        (np.zeros((1, 3)), "2-D integer array"),
    ],
)
def test_bad_inputs_are_clear_errors(idx, message):
    with pytest.raises(ValueError, match=message):
        small_model()(idx)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_embd": 10, "n_head": 3}, "divisible"),
        ({"n_layer": 0}, "positive"),
        ({"dropout": 1.0}, "dropout"),
    ],
)
def test_bad_configuration(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GPTConfig(**kwargs)


def test_config_json_round_trip():
    assert GPTConfig.from_json(SMALL.to_json()) == SMALL
    with pytest.raises(ValueError, match="unknown configuration keys \\['n_heads'\\]"):
        GPTConfig.from_json({**SMALL.to_json(), "n_heads": 3})


def test_the_next_character_gpt_reads_the_last_position():
    manual_seed(0)
    model = NextCharacterGPT(27, block_size=16, n_layer=1, n_embd=16)
    idx = np.random.default_rng(0).integers(0, 27, (5, 16))
    full, _ = model.gpt(idx)
    logits, loss = model(idx, idx[:, 0])
    np.testing.assert_array_equal(logits.data, full.data[:, -1, :])
    assert model.block_size == 16 and loss.item() > 0


def test_a_training_step_leaves_no_graph_behind(nodes_left_after_dropping):
    manual_seed(0)
    model = GPT(GPTConfig(vocab_size=7, block_size=8, n_layer=2, n_head=2, n_embd=8))
    ids = np.arange(16).reshape(2, 8) % 7
    assert nodes_left_after_dropping(lambda: model(ids, (ids + 1) % 7)[1]) == 0
