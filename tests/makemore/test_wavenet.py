"""The WaveNet-like model: fusing neighbours, the batch-norm bug, the convolution view."""

import numpy as np
import pytest

from gpt_from_scratch.commands.models import build_model, model_config
from gpt_from_scratch.makemore.wavenet import (
    BatchNormFirstAxis,
    FlattenConsecutive,
    WaveNet,
    causal_conv_forward,
    fusing_depth,
)
from gpt_from_scratch.tensor import Tensor, manual_seed, nn


def test_flatten_consecutive_puts_neighbours_side_by_side():
    x = Tensor(np.arange(2 * 8 * 3, dtype=np.float32).reshape(2, 8, 3))
    y = FlattenConsecutive(2)(x)
    assert y.shape == (2, 4, 6)
    np.testing.assert_array_equal(y.data[1, 2], np.concatenate([x.data[1, 4], x.data[1, 5]]))
    assert FlattenConsecutive(8)(x).shape == (2, 24)  # one group left: the middle axis goes
    with pytest.raises(ValueError, match="cannot fuse 8 positions 3 at a time"):
        FlattenConsecutive(3)(x)


@pytest.mark.parametrize(
    "block_size, fuse, n_embd, n_hidden, lecture_count",
    [(3, 3, 10, 200, 12097), (8, 8, 10, 200, 22097), (8, 2, 10, 68, 22397), (8, 2, 24, 128, 76579)],
)
def test_parameter_counts_match_the_lecture(block_size, fuse, n_embd, n_hidden, lecture_count):
    model = WaveNet(27, block_size=block_size, n_embd=n_embd, n_hidden=n_hidden, fuse=fuse)
    assert model.num_parameters() == lecture_count


def test_fusing_depth_rejects_sizes_that_do_not_fit():
    assert fusing_depth(16, 2) == 4 and fusing_depth(9, 3) == 2
    with pytest.raises(ValueError, match="not a power of fuse 2"):
        fusing_depth(6, 2)
    with pytest.raises(ValueError, match="need 2 <= fuse <= block_size"):
        fusing_depth(2, 4)


def test_the_buggy_batch_norm_keeps_statistics_per_position():
    manual_seed(0)
    x = Tensor(np.random.default_rng(0).standard_normal((32, 4, 5)).astype(np.float32))
    buggy, fixed = BatchNormFirstAxis(5), nn.BatchNorm1d(5)
    buggy(x), fixed(x)
    assert buggy.running_mean.shape == (1, 4, 5)  # one mean per position and channel
    assert fixed.running_mean.shape == (5,)  # one mean per channel, from 32 * 4 numbers
    np.testing.assert_allclose(fixed.running_mean.data, 0.1 * x.data.mean(axis=(0, 1)), atol=1e-6)


def test_on_two_dimensional_input_the_bug_does_not_show():
    x = Tensor(np.random.default_rng(1).standard_normal((16, 6)).astype(np.float32))
    buggy, fixed = BatchNormFirstAxis(6), nn.BatchNorm1d(6)
    np.testing.assert_allclose(buggy(x).data, fixed(x).data, atol=1e-5)
    np.testing.assert_allclose(buggy.running_var.data[0], fixed.running_var.data, atol=1e-6)


def test_the_dilated_convolution_gives_the_tree_output_at_every_position():
    manual_seed(3)
    model = WaveNet(27, block_size=8, n_embd=6, n_hidden=10)
    ids = np.random.default_rng(2).integers(0, 27, (3, 13))  # 3 sequences of 13 characters
    model(ids[:, :8])  # one training-mode pass moves the batch-norm statistics off their init
    model.eval()
    conv = causal_conv_forward(model, ids).data  # (3, 6, 27)
    tree = np.stack([model(ids[:, j : j + 8])[0].data for j in range(6)], axis=1)  # (3, 6, 27)
    assert conv.shape == (3, 6, 27)
    np.testing.assert_allclose(conv, tree, atol=1e-5)


def test_the_dilated_convolution_needs_eval_mode_and_pairs():
    model = WaveNet(27, block_size=8, n_embd=4, n_hidden=8)
    with pytest.raises(ValueError, match="needs model.eval"):
        causal_conv_forward(model, np.zeros((1, 8), dtype=np.int64))
    flat = WaveNet(27, block_size=8, n_embd=4, n_hidden=8, fuse=8).eval()
    with pytest.raises(ValueError, match="need fuse=2"):
        causal_conv_forward(flat, np.zeros((1, 8), dtype=np.int64))


def test_the_registry_builds_the_lecture_model():
    model = build_model("wavenet", 27)
    assert model_config("wavenet") == {"block_size": 8, "n_embd": 24, "n_hidden": 128}
    assert model.num_parameters() == 76579 and model.block_size == 8
    with pytest.raises(ValueError, match="has no setting"):
        build_model("wavenet", 27, {"n_head": 4})
    with pytest.raises(ValueError, match="unknown model type 'lstm'"):
        build_model("lstm", 27)


def torch_wavenet(torch, model):
    """The same network written with PyTorch layers, holding copies of ``model``'s weights."""
    layers = []
    for layer in model:
        if isinstance(layer, nn.Embedding):
            layers.append(torch.nn.Embedding.from_pretrained(torch.tensor(layer.weight.data)))
        elif isinstance(layer, FlattenConsecutive):
            layers.append(TorchFlatten(torch, layer.n))
        elif isinstance(layer, nn.Linear):
            linear = torch.nn.Linear(*layer.weight.shape, bias=layer.bias is not None)
            linear.weight.data = torch.tensor(layer.weight.data.T.copy())
            if layer.bias is not None:
                linear.bias.data = torch.tensor(layer.bias.data)
            layers.append(linear)
        elif isinstance(layer, nn.BatchNorm1d):
            layers.append(TorchChannelsLastBatchNorm(torch, layer.weight.shape[0]))
        else:
            layers.append(torch.nn.Tanh())
    for p in torch.nn.Sequential(*layers).parameters():
        p.requires_grad_(True)
    return torch.nn.Sequential(*layers)


def TorchFlatten(torch, n):
    class Flatten(torch.nn.Module):
        def forward(self, x):
            B, T, C = x.shape
            x = x.reshape(B, T // n, C * n)
            return x.squeeze(1) if T == n else x

    return Flatten()


def TorchChannelsLastBatchNorm(torch, dim):
    class ChannelsLast(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = torch.nn.BatchNorm1d(dim, dtype=torch.float32)

        def forward(self, x):  # torch wants channels first: (N, C, L)
            return self.bn(x.transpose(1, 2)).transpose(1, 2) if x.ndim == 3 else self.bn(x)

    return ChannelsLast()


@pytest.mark.oracle
def test_loss_gradients_and_running_statistics_match_pytorch(torch):
    manual_seed(7)
    model = WaveNet(27, block_size=8, n_embd=5, n_hidden=12)
    reference = torch_wavenet(torch, model).float()
    ids = np.random.default_rng(4).integers(0, 27, (16, 8))
    targets = np.random.default_rng(5).integers(0, 27, 16)
    loss = model(ids, targets)[1]
    loss.backward()
    ref_loss = torch.nn.functional.cross_entropy(
        reference(torch.tensor(ids)), torch.tensor(targets)
    )
    ref_loss.backward()
    assert loss.item() == pytest.approx(ref_loss.item(), abs=1e-5)
    linear = model[2]  # the first fusing layer's weights
    np.testing.assert_allclose(linear.weight.grad, reference[2].weight.grad.numpy().T, atol=1e-5)
    torch_bn = reference[3].bn
    np.testing.assert_allclose(model[3].running_mean.data, torch_bn.running_mean.numpy(), atol=1e-6)
    np.testing.assert_allclose(model[3].running_var.data, torch_bn.running_var.numpy(), atol=1e-5)
