"""The shared training loop, evaluation and sampler."""

import numpy as np
import pytest

from gpt_from_scratch.makemore.bigram import CountBigram, NeuralBigram, bigram_probs, count_bigrams
from gpt_from_scratch.makemore.data import Vocabulary, build_examples
from gpt_from_scratch.makemore.mlp import MLP
from gpt_from_scratch.makemore.sample import draw, next_char_probs, sample
from gpt_from_scratch.makemore.train import History, evaluate, step_decay, train
from gpt_from_scratch.tensor import Tensor, manual_seed, nn

WORDS = ["emma", "olivia", "ava", "isabella", "sophia", "mia", "amelia", "ella", "anna", "bob"]
VOCAB = Vocabulary.from_words(WORDS)


class Spelling(nn.Module):
    """A model that is certain: it always writes ``word``, whose characters are all different."""

    block_size = 1

    def __init__(self, vocab, word):
        super().__init__()
        ids = [0, *vocab.encode(word), 0]
        self.logits = np.full((vocab.size, vocab.size), -1e9, dtype=np.float32)
        self.logits[ids[:-1], ids[1:]] = 0.0  # after each character, the next one for sure

    def forward(self, x):
        return Tensor(self.logits[np.asarray(x)[:, -1]])


def mlp_and_data(seed=0):
    manual_seed(seed)
    X, Y = build_examples(WORDS, VOCAB, block_size=3)
    return MLP(VOCAB.size, block_size=3, n_embd=4, n_hidden=32), X, Y


def test_train_records_history_and_lowers_the_loss():
    model, X, Y = mlp_and_data()
    before = evaluate(model, X, Y)
    history = train(
        model,
        X,
        Y,
        steps=60,
        batch_size=16,
        lr=step_decay(0.3, 0.03, at=40),
        eval_every=25,
        eval_sets={"train": (X, Y)},
    )
    assert isinstance(history, History)
    assert len(history.loss) == len(history.lr) == 60
    assert history.lr[39] == 0.3 and history.lr[40] == 0.03
    assert [step for step, _ in history.evals["train"]] == [25, 50, 60]
    assert history.evals["train"][-1][1] == pytest.approx(evaluate(model, X, Y))
    assert evaluate(model, X, Y) < before - 0.3


def test_train_is_deterministic_given_the_seeds():
    runs = []
    for _ in range(2):
        model, X, Y = mlp_and_data(seed=5)
        runs.append(train(model, X, Y, steps=20, batch_size=8, lr=0.1, seed=3).loss)
    assert runs[0] == runs[1]


def test_train_with_adamw_and_a_callback():
    model, X, Y = mlp_and_data()
    seen = []
    train(
        model,
        X,
        Y,
        steps=5,
        batch_size=8,
        lr=1e-3,
        optimizer="adamw",
        callback=lambda step, history: seen.append((step, len(history.loss))),
    )
    assert seen == [(i, i + 1) for i in range(5)]
    with pytest.raises(ValueError, match="unknown optimizer 'adam'"):
        train(model, X, Y, steps=1, batch_size=8, lr=1e-3, optimizer="adam")


def test_evaluate_is_the_mean_nll_and_restores_the_mode():
    probs = bigram_probs(count_bigrams(WORDS, VOCAB), smoothing=1)
    model = CountBigram(probs)
    X, Y = build_examples(WORDS, VOCAB, block_size=1)
    expected = -np.log(probs[X[:, 0], Y]).mean()
    assert evaluate(model, X, Y, batch_size=7) == pytest.approx(expected, rel=1e-5)
    model.train()
    evaluate(model, X, Y)
    assert model.training
    model.eval()
    evaluate(model, X, Y)
    assert not model.training
    with pytest.raises(ValueError, match="as many contexts as targets"):
        evaluate(model, X, Y[:-1])


def test_sample_is_deterministic_with_a_seed_and_only_uses_the_vocabulary():
    model = CountBigram(bigram_probs(count_bigrams(WORDS, VOCAB), smoothing=1))
    first = sample(model, VOCAB, 50, seed=1)
    assert first == sample(model, VOCAB, 50, seed=1)
    assert first != sample(model, VOCAB, 50, seed=2)
    assert all(set(word) <= set(VOCAB.itos[1:]) for word in first)
    assert all(len(word) <= 50 for word in first) and len(set(first)) > 20


def test_sample_from_an_untrained_network_uses_only_the_vocabulary():
    manual_seed(0)
    words = sample(NeuralBigram(VOCAB.size), VOCAB, 30, seed=0, max_len=8, temperature=2.0)
    assert len(words) == 30 and all(len(w) <= 8 for w in words)
    assert all(set(word) <= set(VOCAB.itos[1:]) for word in words)


def test_sample_follows_a_certain_model_and_stops_at_the_boundary():
    model = Spelling(VOCAB, "sophie")
    assert sample(model, VOCAB, 3, seed=0) == ["sophie"] * 3
    assert sample(model, VOCAB, 1, seed=0, max_len=3) == ["sop"]
    assert sample(model, VOCAB, 0, seed=0) == []


def test_sample_never_draws_a_character_of_probability_zero():
    model = CountBigram(bigram_probs(count_bigrams(WORDS, VOCAB)))  # raw counts: many zeros
    counts = count_bigrams(WORDS, VOCAB)
    for word in sample(model, VOCAB, 200, seed=0):
        ids = [0, *VOCAB.encode(word), 0]
        assert all(counts[a, b] > 0 for a, b in zip(ids, ids[1:], strict=False))


def test_sample_rejects_a_bad_temperature_and_a_model_of_another_vocabulary():
    model = CountBigram(bigram_probs(count_bigrams(WORDS, VOCAB), smoothing=1))
    with pytest.raises(ValueError, match="temperature must be positive"):
        sample(model, VOCAB, 1, seed=0, temperature=0)
    with pytest.raises(ValueError, match="expected"):
        sample(model, Vocabulary(list(".ab")), 1, seed=0)


def test_draw_and_temperature():
    rng = np.random.default_rng(0)
    probs = np.tile([0.2, 0.0, 0.8], (20_000, 1))
    counts = np.bincount(draw(probs, rng), minlength=3) / 20_000
    np.testing.assert_allclose(counts, [0.2, 0.0, 0.8], atol=0.02)
    logits = np.log(np.array([[0.2, 0.8]]))
    assert next_char_probs(logits, temperature=1.0) == pytest.approx(np.array([[0.2, 0.8]]))
    cooled = next_char_probs(logits, temperature=0.5)[0]  # sharper: 0.2^2 : 0.8^2
    assert cooled == pytest.approx([0.04 / 0.68, 0.64 / 0.68])


def test_train_shows_a_progress_bar_on_request(capsys):
    model, X, Y = mlp_and_data()
    train(model, X, Y, steps=100, batch_size=8, lr=0.1, progress=True)
    err = capsys.readouterr().err
    assert "training" in err and "100/100" in err and "loss=" in err
