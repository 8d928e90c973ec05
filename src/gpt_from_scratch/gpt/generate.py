"""Sampling text from a trained model: temperature, top-k, and a key/value cache.

A language model gives, at every step, a probability for each possible next token. Sampling
draws one, appends it, and asks again. Temperature divides the logits before the softmax (below
1 sharpens the distribution, above 1 flattens it); top-k keeps only the k likeliest tokens.

>>> logits = np.array([[0.0, 10.0, 0.0]])
>>> sample_next(logits, temperature=1.0, top_k=1, rng=np.random.default_rng(0))
array([1])
"""

from __future__ import annotations

import numpy as np

from gpt_from_scratch.tensor import no_grad


def sample_next(
    logits: np.ndarray, temperature: float, top_k: int | None, rng: np.random.Generator
) -> np.ndarray:
    """One token id per row of ``logits`` (B, V), drawn from softmax(logits / temperature),
    restricted to the ``top_k`` largest logits when given."""
    logits = logits.astype(np.float64) / temperature  # (B, V)
    if top_k is not None and top_k < logits.shape[-1]:
        kth_largest = np.partition(logits, -top_k, axis=-1)[:, -top_k, None]  # (B, 1)
        logits = np.where(logits < kth_largest, -np.inf, logits)
    probs = np.exp(logits - logits.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)  # (B, V)
    # Inverse-CDF sampling: the first token whose cumulative probability exceeds u.
    u = rng.random((probs.shape[0], 1))  # (B, 1)
    ids = (np.cumsum(probs, axis=-1) < u).sum(axis=-1)  # (B,)
    return np.minimum(ids, probs.shape[-1] - 1)


def generate(
    model,
    idx: np.ndarray,
    max_new_tokens: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    rng: np.random.Generator | None = None,
    use_cache: bool = True,
) -> np.ndarray:
    """Extend each row of ``idx`` (B, T) by ``max_new_tokens`` sampled tokens -> (B, T + new).

    The model only sees the last ``block_size`` tokens (a longer context is cropped). With
    ``use_cache`` (and a model that has ``new_cache``), the keys and values of the positions
    already processed are kept, so each new token costs one position's forward pass instead of
    the whole context's. Once the text outgrows the block size every position shifts (the
    position embeddings are absolute), so from then on each step recomputes the cropped window:
    the cache never changes which tokens are drawn, only how fast.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be at least 1, got {top_k}")
    idx = np.asarray(idx, dtype=np.int64)
    if idx.ndim != 2 or idx.shape[1] == 0:
        raise ValueError(
            f"generate needs a (batch, time) prompt of at least one token, got {idx.shape}"
        )
    rng = rng if rng is not None else np.random.default_rng()
    block_size = model.block_size
    use_cache = use_cache and hasattr(model, "new_cache")
    was_training = model.training
    model.eval()
    cache = None
    with no_grad():
        for _ in range(max_new_tokens):
            if cache is not None and idx.shape[1] <= block_size:
                logits, _ = model(idx[:, -1:], cache=cache)  # only the newest token
            else:
                context = idx[:, -block_size:]
                cache = model.new_cache() if use_cache else None
                logits, _ = model(context, cache=cache) if use_cache else model(context)
            next_ids = sample_next(logits.data[:, -1, :], temperature, top_k, rng)  # (B,)
            idx = np.concatenate([idx, next_ids[:, None]], axis=1)
    model.train(was_training)
    return idx


def sample_text(
    model,
    vocab,
    prompt: str,
    length: int,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    seed: int = 0,
    use_cache: bool = True,
) -> str:
    """The prompt followed by ``length`` sampled characters.

    Every character of the prompt must be in ``vocab`` (a ``ValueError`` names the first that is
    not). An empty prompt starts from the first token of the vocabulary (a newline for
    Shakespeare), which is not part of the returned text.
    """
    ids = vocab.encode(prompt) if prompt else [0]
    out = generate(
        model,
        np.array([ids]),
        length,
        temperature=temperature,
        top_k=top_k,
        rng=np.random.default_rng(seed),
        use_cache=use_cache,
    )
    text = vocab.decode(out[0])
    return text if prompt else text[1:]
