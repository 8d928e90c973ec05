"""The shared training loop, evaluation and sampler."""

import numpy as np
import pytest

from gpt_from_scratch.makemore.bigram import CountBigram, NeuralBigram, bigram_probs, count_bigrams
from gpt_from_scratch.makemore.data import Vocabulary, build_examples
from gpt_from_scratch.makemore.mlp import MLP
from gpt_from_scratch.makemore.sample import (
    draw,
    generate,
    next_token_probs,
    sample,
    sample_word,
)
from gpt_from_scratch.makemore.train import (
    History,
    evaluate,
    evaluate_every,
    gradient_descent,
    minibatches,
    train,
    train_step,
)
from gpt_from_scratch.tensor import Tensor, manual_seed, nn, optim
from gpt_from_scratch.tensor import functional as F

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

    def forward(self, idx, targets=None):
        logits = Tensor(self.logits[np.asarray(idx)[:, -1]])
        return logits, None if targets is None else F.cross_entropy(logits, targets)


def mlp_and_data(seed=0):
    manual_seed(seed)
    X, Y = build_examples(WORDS, VOCAB, block_size=3)
    return MLP(VOCAB.size, block_size=3, n_embd=4, n_hidden=32), X, Y


def test_train_records_history_and_lowers_the_loss():
    model, X, Y = mlp_and_data()
    before = evaluate(model, X, Y)
    history = train(
        model,
        optim.SGD(model.parameters(), lr=0.3),
        minibatches(X, Y, batch_size=16),
        60,
        lr=optim.step_decay(0.3, 0.03, at=40),
        callbacks=[evaluate_every(model, 25, 60, {"train": (X, Y)})],
    )
    assert isinstance(history, History)
    assert len(history.loss) == len(history.lr) == 60
    assert history.lr[39] == 0.3 and history.lr[40] == 0.03
    assert [step for step, _ in history.evals["train"]] == [25, 50, 60]
    assert history.evals["train"][-1][1] == pytest.approx(evaluate(model, X, Y))
    assert history.best("train") == min(loss for _, loss in history.evals["train"])
    assert evaluate(model, X, Y) < before - 0.3
    assert history.seconds > 0


def test_train_is_deterministic_given_the_seeds():
    runs = []
    for _ in range(2):
        model, X, Y = mlp_and_data(seed=5)
        sgd = optim.SGD(model.parameters(), lr=0.1)
        runs.append(train(model, sgd, minibatches(X, Y, 8, seed=3), 20).loss)
    assert runs[0] == runs[1]


def test_a_run_resumed_from_its_history_continues_it():
    model, X, Y = mlp_and_data()
    adamw = optim.AdamW(model.parameters(), lr=1e-3)
    batches = minibatches(X, Y, 8)
    seen = []
    history = train(model, adamw, batches, 3, callbacks=[lambda step, h: seen.append(step)])
    history = train(model, adamw, batches, 5, start=3, history=history)
    assert seen == [1, 2, 3] and len(history.loss) == 5
    assert History.from_json(history.to_json()) == history


def test_full_batch_gradient_descent_sees_every_example():
    model, X, Y = mlp_and_data()
    x, y = minibatches(X, Y, None)(0)
    assert x is X and y is Y
    with pytest.raises(ValueError, match="as many contexts as targets"):
        minibatches(X, Y[:-1], 4)


def test_train_step_returns_the_loss_before_the_update_and_clips():
    model, X, Y = mlp_and_data()
    sgd = optim.SGD(model.parameters(), lr=0.0)
    loss = train_step(model, sgd, X, Y, grad_clip=1e-3)
    assert loss == pytest.approx(model(X, Y)[1].item())
    norm = np.sqrt(sum(float((p.grad**2).sum()) for p in model.parameters()))
    assert norm == pytest.approx(1e-3, rel=1e-3)


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


def test_zero_samples_are_an_empty_list():
    model = CountBigram(bigram_probs(count_bigrams(WORDS, VOCAB), smoothing=1))
    assert sample(model, VOCAB, 0, seed=1) == []


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


def test_sample_rejects_a_bad_temperature_or_top_k():
    model = CountBigram(bigram_probs(count_bigrams(WORDS, VOCAB), smoothing=1))
    for temperature in (0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match=f"top_k >= 1, got {temperature}, None"):
            sample(model, VOCAB, 1, seed=0, temperature=temperature)
    with pytest.raises(ValueError, match="top_k >= 1"):
        generate(model, np.zeros((1, 1), int), 1, rng=np.random.default_rng(0), top_k=0)


def test_top_k_draws_only_the_k_likeliest():
    probs = next_token_probs(np.log(np.array([[0.1, 0.5, 0.4]])), top_k=2)
    np.testing.assert_allclose(probs, [[0.0, 5 / 9, 4 / 9]])


def test_draw_and_temperature():
    rng = np.random.default_rng(0)
    probs = np.tile([0.2, 0.0, 0.8], (20_000, 1))
    counts = np.bincount(draw(probs, rng), minlength=3) / 20_000
    np.testing.assert_allclose(counts, [0.2, 0.0, 0.8], atol=0.02)
    logits = np.log(np.array([[0.2, 0.8]]))
    assert next_token_probs(logits, temperature=1.0) == pytest.approx(np.array([[0.2, 0.8]]))
    cooled = next_token_probs(logits, temperature=0.5)[0]  # sharper: 0.2^2 : 0.8^2
    assert cooled == pytest.approx([0.04 / 0.68, 0.64 / 0.68])


def test_the_readable_loop_takes_the_same_steps_as_train():
    runs = []
    for loop in ("readable", "train"):
        model, X, Y = mlp_and_data(seed=5)
        sgd = optim.SGD(model.parameters(), lr=0.1)
        batches, schedule = minibatches(X, Y, 8, seed=3), optim.step_decay(0.2, 0.05, at=10)
        if loop == "readable":
            losses = gradient_descent(model, sgd, batches, 20, lr=schedule)
        else:
            losses = train(model, sgd, batches, 20, lr=schedule).loss
        runs.append((losses, [p.data.copy() for p in model.parameters()]))
    assert runs[0][0] == runs[1][0]
    assert all(np.array_equal(a, b) for a, b in zip(runs[0][1], runs[1][1], strict=True))


def test_sample_word_draws_the_words_that_the_batched_sampler_draws():
    model = CountBigram.from_words(WORDS, VOCAB, smoothing=0.5)
    probs = next_token_probs(model.log_probs)  # the table as the batched sampler sees it
    for seed in range(30):
        word = sample_word(probs, VOCAB, np.random.default_rng(seed))
        assert word == sample(model, VOCAB, 1, seed=seed)[0]


def test_sample_word_stops_at_max_len():
    probs = np.full((VOCAB.size, VOCAB.size), 1.0)
    probs[:, 0] = 0.0  # the boundary never comes
    probs /= probs.sum(axis=1, keepdims=True)
    assert len(sample_word(probs, VOCAB, np.random.default_rng(0), max_len=7)) == 7
