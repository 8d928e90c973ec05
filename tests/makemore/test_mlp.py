"""The MLP language model: shapes, agreement with PyTorch, and overfitting a tiny batch."""

import numpy as np
import pytest

from gpt_from_scratch.makemore.data import Vocabulary, build_examples
from gpt_from_scratch.makemore.mlp import MLP
from gpt_from_scratch.makemore.train import evaluate, minibatches, train
from gpt_from_scratch.tensor import manual_seed, optim

WORDS = ["emma", "olivia", "ava", "isabella", "sophia"]


def unique_context_examples(block_size):
    """Examples whose contexts are all different, so a perfect fit has zero loss."""
    vocab = Vocabulary.from_words(WORDS)
    X, Y = build_examples(WORDS, vocab, block_size)
    _, first = np.unique(X, axis=0, return_index=True)
    keep = np.sort(first)
    return vocab, X[keep], Y[keep]


def test_shapes_and_parameter_count():
    manual_seed(0)
    model = MLP(vocab_size=27, block_size=3, n_embd=10, n_hidden=200)
    assert model(np.zeros((5, 3), dtype=np.int64))[0].shape == (5, 27)
    n_params = sum(p.data.size for p in model.parameters())
    assert n_params == 27 * 10 + (30 * 200 + 200) + (200 * 27 + 27) == 11_897


def test_mlp_overfits_a_tiny_batch():
    vocab, X, Y = unique_context_examples(block_size=3)
    assert 20 <= len(Y) <= 32
    manual_seed(0)
    model = MLP(vocab.size, block_size=3, n_embd=10, n_hidden=200)
    sgd = optim.SGD(model.parameters(), lr=0.1)
    history = train(model, sgd, minibatches(X, Y, batch_size=None), 300)
    assert history.loss[0] > 2.5
    assert evaluate(model, X, Y) < 0.05


def test_mlp_loss_and_gradients_match_pytorch(torch):
    vocab, X, Y = unique_context_examples(block_size=3)
    manual_seed(3)
    model = MLP(vocab.size, block_size=3, n_embd=4, n_hidden=8)
    loss = model(X, Y)[1]
    loss.backward()

    def t(param):
        return torch.tensor(param.data.astype(np.float64), requires_grad=True)

    params = [model.C.weight, model.hidden.weight, model.hidden.bias]
    params += [model.out.weight, model.out.bias]
    C, W1, b1, W2, b2 = (t(p) for p in params)
    emb = C[torch.tensor(X)].reshape(len(X), -1)  # (N, block_size * n_embd)
    logits = torch.tanh(emb @ W1 + b1) @ W2 + b2  # our Linear weights are (fan_in, fan_out)
    ref = torch.nn.functional.cross_entropy(logits, torch.tensor(Y))
    ref.backward()
    assert loss.item() == pytest.approx(ref.item(), rel=1e-5)
    for ours, theirs in zip(params, (C, W1, b1, W2, b2), strict=True):
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), atol=1e-5)
