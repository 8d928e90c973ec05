"""Making more: the one sampler of every language model in the book, one token at a time.

A model gives, at every step, logits for each possible next token. Sampling turns them into
probabilities (softmax of ``logits / temperature``, optionally only over the ``top_k`` likeliest
tokens), draws one, appends it, and asks again. Temperature below 1 sharpens the distribution,
above 1 flattens it.

>>> next_token_probs(np.array([[0.0, np.log(3.0)]])).round(2).tolist()
[[0.25, 0.75]]
"""

from __future__ import annotations

import numpy as np

from gpt_from_scratch.makemore.data import BOUNDARY, Vocabulary
from gpt_from_scratch.tensor import no_grad


def next_token_probs(
    logits: np.ndarray, temperature: float = 1.0, top_k: int | None = None
) -> np.ndarray:
    """Softmax of ``logits / temperature`` over the last axis, stably, in float64;
    with ``top_k``, every token below the k-th largest logit gets probability 0."""
    scaled = logits.astype(np.float64) / temperature  # (B, V)
    if top_k is not None and top_k < scaled.shape[-1]:
        kth_largest = np.partition(scaled, -top_k, axis=-1)[:, -top_k, None]  # (B, 1)
        scaled = np.where(scaled < kth_largest, -np.inf, scaled)
    scaled -= scaled.max(axis=-1, keepdims=True)  # largest 0: exp cannot overflow
    weights = np.exp(scaled)
    return weights / weights.sum(axis=-1, keepdims=True)


def draw(probs: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One index per row of ``probs`` (B, V), row i drawn with probabilities probs[i].

    Inverse-CDF sampling: u is uniform below the row's total, and the index drawn is
    the first whose cumulative probability exceeds u, so a token of probability 0 is
    never drawn.
    """
    cumulative = np.cumsum(probs, axis=-1)  # (B, V)
    u = rng.random((len(probs), 1)) * cumulative[:, -1:]  # (B, 1)
    return np.minimum((cumulative <= u).sum(axis=-1), probs.shape[-1] - 1)  # (B,)


def sample_word(
    probs: np.ndarray, vocab: Vocabulary, rng: np.random.Generator, max_len: int = 50
) -> str:
    """One word from a table ``probs[i, j]`` = P(next = j | current = i): start at the
    boundary, draw the next character from the current one's row, stop at the boundary.

    :func:`sample` does the same for any model and many words at once.
    """
    end = vocab.stoi[BOUNDARY]
    current, letters = end, []
    for _ in range(max_len):
        current = draw(probs[[current]], rng)[0]  # one draw from row `current`
        if current == end:
            break
        letters.append(vocab.itos[current])
    return "".join(letters)


@no_grad()
def generate(
    model,
    idx: np.ndarray,
    max_new_tokens: int,
    *,
    rng: np.random.Generator,
    temperature: float = 1.0,
    top_k: int | None = None,
    stop: int | None = None,
    use_cache: bool = True,
) -> np.ndarray:
    """Extend each row of ``idx`` (B, T) by up to ``max_new_tokens`` sampled tokens.

    The model sees the last ``block_size`` tokens; its logits are read at the last
    position. With ``stop``, a row that draws it is finished (later entries of that row
    are ``stop`` too), and sampling ends when every row is. With ``use_cache`` and a
    model that has ``new_cache`` (the GPT), the keys and values of the positions already
    seen are kept, so a new token costs one position's forward pass; once the text
    outgrows the block, every position shifts (absolute position embeddings) and each
    step recomputes the window. The cache never changes which tokens are drawn.
    """
    check_sampling(temperature, top_k)
    idx = np.asarray(idx, dtype=np.int64)
    block_size = model.block_size
    use_cache = use_cache and hasattr(model, "new_cache")
    alive = np.ones(len(idx), dtype=bool)  # rows that have not drawn `stop`
    cache = None
    with model.mode(training=False):
        for _ in range(max_new_tokens):
            if cache is not None and idx.shape[1] <= block_size:
                logits, _ = model(idx[:, -1:], cache=cache)  # only the newest token
            else:
                cache = model.new_cache() if use_cache else None
                window = idx[:, -block_size:]
                logits, _ = model(window, cache=cache) if use_cache else model(window)
            last = logits.data[:, -1] if logits.ndim == 3 else logits.data  # (B, V)
            nxt = draw(next_token_probs(last, temperature, top_k), rng)  # (B,)
            if stop is not None:
                nxt = np.where(alive, nxt, stop)
                alive &= nxt != stop
            idx = np.concatenate([idx, nxt[:, None]], axis=1)  # (B, T + 1)
            if not alive.any():
                break
    return idx


def check_sampling(temperature: float, top_k: int | None) -> None:
    """A ``ValueError`` unless the temperature is a finite number > 0 and top_k >= 1."""
    if not 0 < temperature < float("inf") or (top_k is not None and top_k < 1):
        raise ValueError(
            f"need a finite temperature > 0 and top_k >= 1, got {temperature}, {top_k}"
        )


def sample(
    model,
    vocab: Vocabulary,
    n: int,
    *,
    seed: int,
    max_len: int = 50,
    temperature: float = 1.0,
) -> list[str]:
    """``n`` new words from ``model``, drawn with a generator seeded by ``seed``.

    Every word starts from a context of ``block_size`` boundaries and ends at the
    first boundary it draws (or after ``max_len`` characters). The same model and seed
    give the same words.
    """
    if n == 0:
        return []
    end = vocab.stoi[BOUNDARY]
    start = np.full((n, model.block_size), end, dtype=np.int64)  # (n, block_size)
    rng = np.random.default_rng(seed)
    out = generate(model, start, max_len, rng=rng, temperature=temperature, stop=end)
    return [vocab.decode(row[row != end]) for row in out[:, model.block_size :]]
