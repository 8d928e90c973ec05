"""Sampling text from a trained GPT with the book's one sampler
(:func:`gpt_from_scratch.makemore.sample.generate`: temperature, top-k, the key/value cache).
"""

from __future__ import annotations

import numpy as np

from gpt_from_scratch.makemore.sample import generate


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

    An empty prompt starts from the first token of the vocabulary (a newline for
    Shakespeare), which is not part of the returned text.
    """
    ids = vocab.encode(prompt) if prompt else [0]
    out = generate(
        model,
        np.array([ids]),
        length,
        rng=np.random.default_rng(seed),
        temperature=temperature,
        top_k=top_k,
        use_cache=use_cache,
    )
    text = vocab.decode(out[0])
    return text if prompt else text[1:]
