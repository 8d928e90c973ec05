"""The initialization recipes, the deeper MLP, and batch norm's train/eval behaviour."""

import math

import numpy as np
import pytest

from gpt_from_scratch.makemore import activations as act
from gpt_from_scratch.makemore.train import minibatches, train
from gpt_from_scratch.tensor import manual_seed, no_grad, optim


def contexts(n, vocab_size=27, block_size=3, seed=0):
    gen = np.random.default_rng(seed)
    return gen.integers(0, vocab_size, size=(n, block_size)), gen.integers(0, vocab_size, size=n)


def test_uniform_loss_and_kaiming_std():
    assert act.uniform_loss(27) == pytest.approx(3.2958, abs=1e-4)
    assert act.kaiming_std(30) == pytest.approx(5 / 3 / math.sqrt(30))
    with pytest.raises(ValueError, match="fan_in"):
        act.kaiming_std(0)


def test_unknown_recipe_names_the_known_ones():
    with pytest.raises(ValueError, match="kaiming"):
        act.TwoLayerMLP(27, init="xavier")


def test_original_init_is_confidently_wrong_and_the_fix_is_uniform():
    X, Y = contexts(2000)
    manual_seed(0)
    original = act.initial_loss(act.TwoLayerMLP(27, init="original"), X, Y)
    manual_seed(0)
    fixed = act.initial_loss(act.TwoLayerMLP(27, init="fixed_output"), X, Y)
    assert original > 10.0
    assert fixed == pytest.approx(act.uniform_loss(27), abs=0.05)


def test_saturation_fix_and_kaiming_keep_tanh_units_off_their_tails():
    X, _ = contexts(500)
    saturated = {}
    for init in ["fixed_output", "fixed_saturation", "kaiming"]:
        manual_seed(0)
        with no_grad():
            _, h = act.TwoLayerMLP(27, init=init).hidden_layer(X)
        saturated[init] = float((np.abs(h.data) > 0.99).mean())
    assert saturated["fixed_output"] > 0.5
    assert saturated["fixed_saturation"] < 0.05
    assert saturated["kaiming"] < 0.15  # std 5/3: about 11% beyond 0.99


def test_kaiming_weights_keep_the_spread_of_a_linear_layer():
    manual_seed(0)
    model = act.DeepMLP(27, n_hidden=400, n_layers=1, batchnorm=False, gain=1.0)
    x = np.random.default_rng(0).standard_normal((2000, 30)).astype(np.float32)
    with no_grad():
        y = model.layers[0][1](act.Tensor(x))
    assert y.data.std() == pytest.approx(1.0, abs=0.05)


def test_deep_mlp_layers_and_weights():
    manual_seed(0)
    model = act.DeepMLP(27, n_hidden=16, n_layers=3, batchnorm=False)
    names = [name for name, _ in model.layers]
    assert names == ["Linear 1", "Tanh 1", "Linear 2", "Tanh 2", "Linear 3", "Tanh 3", "Linear 4"]
    assert [w.shape for _, w in model.hidden_weights()] == [(30, 16), (16, 16), (16, 16), (16, 27)]
    X, _ = contexts(8)
    assert model(X)[0].shape == (8, 27)
    with pytest.raises(ValueError, match="n_layers"):
        act.DeepMLP(27, n_layers=0)


def test_deep_mlp_starts_near_uniform_loss():
    X, Y = contexts(1000)
    for batchnorm in (True, False):
        manual_seed(0)
        loss = act.initial_loss(act.DeepMLP(27, batchnorm=batchnorm), X, Y)
        assert loss == pytest.approx(act.uniform_loss(27), abs=0.1)


def test_initial_loss_leaves_the_running_statistics_alone():
    manual_seed(0)
    model = act.TwoLayerMLP(27, n_hidden=20, init="batchnorm")
    before = model.state_dict()
    act.initial_loss(model, *contexts(100))
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name], err_msg=name)


def test_batchnorm_eval_mode_uses_the_running_statistics():
    manual_seed(0)
    model = act.TwoLayerMLP(27, n_hidden=20, init="batchnorm")
    model.bn.running_mean.data[...] = 0.25
    model.bn.running_var.data[...] = 4.0
    model.eval()
    X, _ = contexts(6)
    with no_grad():
        preact, _ = model.hidden_layer(X)
        raw = model.hidden(model.C(X).reshape(6, -1)).data
    np.testing.assert_allclose(preact.data, (raw - 0.25) / np.sqrt(4.0 + 1e-5), rtol=1e-5)


def test_trained_batchnorm_network_gives_a_single_example_its_batch_answer():
    X, _ = contexts(600, vocab_size=6)
    Y = (X[:, 2] + 1) % 6
    manual_seed(0)
    model = act.TwoLayerMLP(6, n_embd=4, n_hidden=32, init="batchnorm")
    history = train(model, optim.SGD(model.parameters(), lr=0.2), minibatches(X, Y, 32), 200)
    assert np.mean(history.loss[-20:]) < np.mean(history.loss[:20])
    assert not np.allclose(model.bn.running_mean.data, 0.0)
    model.eval()
    with no_grad():
        together = model(X[:16])[0].data
        alone = model(X[5:6])[0].data
    np.testing.assert_allclose(alone[0], together[5], rtol=1e-5, atol=1e-6)


def test_train_recipe_reports_initial_and_dev_loss():
    X, _ = contexts(500, vocab_size=6)
    Y = (X[:, 2] + 1) % 6
    run = act.train_recipe("kaiming", 6, (X[:400], Y[:400]), (X[400:], Y[400:]), steps=100)
    assert run.initial_loss == pytest.approx(act.uniform_loss(6), abs=0.1)
    assert run.dev_loss < run.initial_loss
    assert len(run.history.loss) == 100 and run.history.lr[0] == 0.1 and run.history.lr[-1] == 0.01


def test_train_deep_trains_the_five_layer_network_at_its_gain():
    X, Y = contexts(64)
    run = act.train_deep(27, (X, Y), (X[:16], Y[:16]), batchnorm=False, gain=1.0, steps=20)
    assert isinstance(run.model, act.DeepMLP) and len(run.history.loss) == 20
    assert run.initial_loss == pytest.approx(act.uniform_loss(27), abs=0.1)
    assert np.isfinite(run.dev_loss) and set(run.history.lr) == {0.1}
    again = act.train_deep(27, (X, Y), (X[:16], Y[:16]), batchnorm=False, gain=1.0, steps=20)
    assert again.history.loss == run.history.loss  # the seed fixes weights and batches
