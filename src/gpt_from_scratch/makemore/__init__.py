"""makemore: character-level language models that learn from a list of words to make more.

One data pipeline (``data``), one training loop (``train``) and one sampler (``sample``) serve
every language model of the book, from the bigram (``bigram``), the MLP of Bengio et al.
(``mlp``), the deeper networks of the later chapters and the WaveNet-like model to Part III's
GPT: each is called as ``model(idx, targets) -> (logits, loss)``.
"""

from gpt_from_scratch.makemore.data import (
    BOUNDARY,
    CharVocab,
    Vocabulary,
    build_examples,
    examples_by_split,
    load_words,
    split_words,
)
from gpt_from_scratch.makemore.sample import generate, sample
from gpt_from_scratch.makemore.train import (
    History,
    evaluate,
    evaluate_every,
    minibatches,
    train,
    train_step,
)

__all__ = [
    "BOUNDARY",
    "CharVocab",
    "History",
    "Vocabulary",
    "build_examples",
    "evaluate",
    "evaluate_every",
    "examples_by_split",
    "generate",
    "load_words",
    "minibatches",
    "sample",
    "split_words",
    "train",
    "train_step",
]
