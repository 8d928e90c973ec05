"""Sampling: the key/value cache changes nothing but speed; temperature, top-k, bad prompts."""

import numpy as np
import pytest

from gpt_from_scratch.gpt import GPT, CharVocab, GPTConfig, sample_text
from gpt_from_scratch.makemore.sample import draw, generate, next_token_probs
from gpt_from_scratch.tensor import manual_seed, no_grad


def model_and_vocab(block_size=6):
    manual_seed(0)
    vocab = CharVocab.from_text("abcdefgh ")
    model = GPT(
        GPTConfig(vocab_size=vocab.size, block_size=block_size, n_layer=2, n_head=2, n_embd=16)
    )
    rng = np.random.default_rng(0)
    for _, p in model.named_parameters():  # make the distributions far from uniform
        p.data[...] += 0.3 * rng.standard_normal(p.shape).astype(np.float32)
    return model, vocab


def test_cached_forward_equals_full_forward():
    model, _ = model_and_vocab()
    idx = np.random.default_rng(1).integers(0, 9, (2, 6))
    with no_grad():
        full = model(idx)[0].data
        cache = model.new_cache()
        first = model(idx[:, :3], cache=cache)[0].data
        rest = [model(idx[:, t : t + 1], cache=cache)[0].data for t in range(3, 6)]
    np.testing.assert_allclose(np.concatenate([first, *rest], axis=1), full, atol=1e-5)


@pytest.mark.parametrize("top_k", [None, 3])
def test_sampling_with_cache_equals_sampling_without(top_k):
    model, _ = model_and_vocab(block_size=6)
    prompt = np.array([[1, 2], [3, 4]])
    kwargs = dict(temperature=0.9, top_k=top_k)
    # 15 new tokens: the text outgrows the block size of 6 halfway through.
    with_cache = generate(model, prompt, 15, rng=np.random.default_rng(5), **kwargs)
    without = generate(model, prompt, 15, rng=np.random.default_rng(5), use_cache=False, **kwargs)
    np.testing.assert_array_equal(with_cache, without)
    assert with_cache.shape == (2, 17)


def test_prompt_longer_than_block_size_is_cropped():
    model, vocab = model_and_vocab(block_size=6)
    long_prompt = "abcdefgh abcdefgh"
    text = sample_text(model, vocab, long_prompt, 5, seed=0)
    assert text.startswith(long_prompt) and len(text) == len(long_prompt) + 5


def test_prompt_outside_vocabulary_is_a_clear_error():
    model, vocab = model_and_vocab()
    with pytest.raises(ValueError, match="'Z' .*first at position 3"):
        sample_text(model, vocab, "abcZ", 5)


def test_empty_prompt_and_seed():
    model, vocab = model_and_vocab()
    a = sample_text(model, vocab, "", 20, seed=3)
    assert len(a) == 20 and set(a) <= set(vocab.itos)
    assert a == sample_text(model, vocab, "", 20, seed=3)


def sample_next(logits, temperature, top_k, rng):
    return draw(next_token_probs(logits, temperature, top_k), rng)


def test_top_1_is_greedy_and_temperature_sharpens():
    logits = np.array([[1.0, 3.0, 2.0]] * 2000)
    rng = np.random.default_rng(0)
    assert (sample_next(logits, 5.0, 1, rng) == 1).all()
    cold = np.bincount(sample_next(logits, 0.1, None, rng), minlength=3) / 2000
    warm = np.bincount(sample_next(logits, 1.0, None, rng), minlength=3) / 2000
    assert cold[1] > 0.99
    expected = np.exp([1.0, 3.0, 2.0]) / np.exp([1.0, 3.0, 2.0]).sum()
    np.testing.assert_allclose(warm, expected, atol=0.03)


def test_top_k_never_samples_outside_the_k_best():
    logits = np.array([[0.0, 1.0, 2.0, 3.0]] * 500)
    ids = sample_next(logits, 1.0, 2, np.random.default_rng(0))
    assert set(ids.tolist()) == {2, 3}


@pytest.mark.parametrize(
    "kwargs, message", [({"temperature": 0.0}, "temperature"), ({"top_k": 0}, "top_k")]
)
def test_bad_sampling_options(kwargs, message):
    model, _ = model_and_vocab()
    with pytest.raises(ValueError, match=message):
        generate(model, np.array([[1]]), 3, rng=np.random.default_rng(0), **kwargs)
