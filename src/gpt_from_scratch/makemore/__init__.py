"""makemore: character-level language models that learn from a list of words to make more.

One data pipeline (``data``), one training loop (``train``) and one sampler (``sample``) are
shared by every model of Part II: the bigram (``bigram``), the MLP of Bengio et al. (``mlp``),
the deeper networks of the later chapters, and the WaveNet-like model.
"""

from gpt_from_scratch.makemore.data import (
    BOUNDARY,
    Vocabulary,
    build_examples,
    load_words,
    split_words,
)
from gpt_from_scratch.makemore.sample import sample
from gpt_from_scratch.makemore.train import History, evaluate, step_decay, train

__all__ = [
    "BOUNDARY",
    "History",
    "Vocabulary",
    "build_examples",
    "evaluate",
    "load_words",
    "sample",
    "split_words",
    "step_decay",
    "train",
]
