"""The bigram model: counts, probabilities, the negative log-likelihood, and the neural version."""

import math

import numpy as np
import pytest

from gpt_from_scratch.makemore.bigram import (
    CountBigram,
    NeuralBigram,
    bigram_probs,
    count_bigrams,
    counts_nll,
    fit_bigram,
    mean_nll,
    one_hot,
)
from gpt_from_scratch.makemore.data import Vocabulary, build_examples, load_words
from gpt_from_scratch.makemore.train import evaluate, minibatches, train
from gpt_from_scratch.tensor import Tensor, manual_seed, optim

WORDS = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "ella", "anna", "bob"]


def direct_nll(words, smoothing):
    """The average negative log-likelihood with plain dictionaries and loops."""
    pairs = [(a, b) for w in words for a, b in zip("." + w, w + ".", strict=True)]
    chars = sorted(set("".join(words))) + ["."]
    counts = {(a, b): 0 for a in chars for b in chars}
    for pair in pairs:
        counts[pair] += 1
    row_total = {a: sum(counts[a, b] + smoothing for b in chars) for a in chars}
    logs = [math.log((counts[a, b] + smoothing) / row_total[a]) for a, b in pairs]
    return -sum(logs) / len(logs)


def test_counts_add_up_to_the_number_of_bigrams():
    vocab = Vocabulary.from_words(WORDS)
    counts = count_bigrams(WORDS, vocab)
    assert counts.shape == (vocab.size, vocab.size)
    assert counts.sum() == sum(len(w) + 1 for w in WORDS)
    assert counts[0].sum() == counts[:, 0].sum() == len(WORDS)  # every word starts and ends once
    assert counts[vocab.stoi["l"], vocab.stoi["l"]] == 2  # isabella, ella


@pytest.mark.parametrize("smoothing", [0, 1, 0.5])
def test_count_model_nll_matches_a_direct_computation(smoothing):
    vocab = Vocabulary.from_words(WORDS)
    probs = bigram_probs(count_bigrams(WORDS, vocab), smoothing)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    X, Y = build_examples(WORDS, vocab, block_size=1)
    expected = direct_nll(WORDS, smoothing)
    assert mean_nll(probs, X, Y) == pytest.approx(expected, rel=1e-12)
    # the same number through the module and the shared evaluation (float32 logits)
    assert evaluate(CountBigram(probs), X, Y) == pytest.approx(expected, rel=1e-5)


def test_probs_refuse_an_empty_row_without_smoothing():
    with pytest.raises(ValueError, match=r"rows \[1\] have no counts"):
        bigram_probs(np.array([[1, 1], [0, 0]]))
    assert bigram_probs(np.array([[1, 1], [0, 0]]), smoothing=1)[1].tolist() == [0.5, 0.5]


def test_names_nll_is_the_published_one(dataset):
    words = load_words(dataset("names"))
    vocab = Vocabulary.from_words(words)
    counts = count_bigrams(words, vocab)
    X, Y = build_examples(words, vocab, block_size=1)
    assert counts.sum() == len(Y) == 228_146
    assert round(mean_nll(bigram_probs(counts), X, Y), 4) == 2.4540
    assert round(mean_nll(bigram_probs(counts, smoothing=1), X, Y), 4) == 2.4546


def test_one_hot_rows_times_w_are_the_logits():
    assert one_hot(np.array([2, 0]), 3).tolist() == [[0, 0, 1], [1, 0, 0]]
    manual_seed(0)
    model = NeuralBigram(4)
    x = np.array([[3], [0], [3]])
    np.testing.assert_array_equal(model(x)[0].data, one_hot(x[:, 0], 4) @ model.W.data)


def test_neural_bigram_reaches_the_count_model_loss():
    vocab = Vocabulary.from_words(WORDS)
    X, Y = build_examples(WORDS, vocab, block_size=1)
    target = mean_nll(bigram_probs(count_bigrams(WORDS, vocab)), X, Y)
    manual_seed(0)
    model = NeuralBigram(vocab.size)
    sgd = optim.SGD(model.parameters(), lr=20.0)
    history = train(model, sgd, minibatches(X, Y, batch_size=None), 500)
    assert history.loss[0] > target + 1.0
    assert evaluate(model, X, Y) == pytest.approx(target, abs=0.01)
    # the learned table is the counted one, where the counts say anything
    counted = bigram_probs(count_bigrams(WORDS, vocab))
    seen = count_bigrams(WORDS, vocab) > 0
    np.testing.assert_allclose(model.probs()[seen], counted[seen], atol=0.05)


def test_neural_bigram_gradient_matches_pytorch(torch):
    vocab_size, ids, targets = 5, np.array([[0], [3], [3], [1]]), np.array([1, 4, 0, 0])
    manual_seed(1)
    model = NeuralBigram(vocab_size)

    loss = model(ids, targets)[1]
    loss.backward()
    W = torch.tensor(model.W.data.astype(np.float64), requires_grad=True)
    ref = torch.nn.functional.cross_entropy(W[torch.tensor(ids[:, 0])], torch.tensor(targets))
    ref.backward()
    assert loss.item() == pytest.approx(ref.item(), rel=1e-5)
    np.testing.assert_allclose(model.W.grad, W.grad.numpy(), atol=1e-6)


def test_counts_nll_is_the_mean_nll_over_the_examples():
    vocab = Vocabulary.from_words(WORDS)
    counts = count_bigrams(WORDS, vocab)
    W = np.random.default_rng(0).standard_normal(counts.shape).astype(np.float32)
    probs = np.exp(W) / np.exp(W).sum(axis=1, keepdims=True)
    X, Y = build_examples(WORDS, vocab, block_size=1)
    assert counts_nll(Tensor(W), counts).item() == pytest.approx(mean_nll(probs, X, Y), rel=1e-5)


def test_fit_bigram_finds_the_counts_and_regularization_pulls_toward_uniform():
    vocab = Vocabulary.from_words(WORDS)
    counts = count_bigrams(WORDS, vocab)
    X, Y = build_examples(WORDS, vocab, block_size=1)
    best = mean_nll(bigram_probs(counts, smoothing=1e-9), X, Y)
    free = fit_bigram(counts, steps=3000, lr=20.0)
    assert mean_nll(free, X, Y) == pytest.approx(best, abs=0.02)
    strong = fit_bigram(counts, regularization=100.0, steps=300, lr=0.005)
    assert np.abs(strong - 1 / vocab.size).max() < 0.01
    losses = [mean_nll(fit_bigram(counts, r, steps=500, lr=20.0), X, Y) for r in (0, 0.1, 1)]
    assert losses == sorted(losses)
