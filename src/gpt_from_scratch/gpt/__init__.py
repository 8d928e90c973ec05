"""Part III: a GPT (decoder-only Transformer) trained on characters, on the tensor engine.

>>> from gpt_from_scratch.gpt import GPT, GPTConfig, CharVocab, fit, sample_text
"""

from gpt_from_scratch.gpt.config import GPTConfig
from gpt_from_scratch.gpt.data import CharVocab, encode_text, get_batch, train_val_split
from gpt_from_scratch.gpt.generate import sample_text
from gpt_from_scratch.gpt.heads import (
    BatchedSelfAttention,
    Head,
    MultiHeadAttention,
    batched_from_model,
    heads_from_batched,
)
from gpt_from_scratch.gpt.model import GPT, BigramLanguageModel, NextCharacterGPT
from gpt_from_scratch.gpt.train import (
    TrainConfig,
    estimate_loss,
    fit,
    make_optimizer,
    random_windows,
)

__all__ = [
    "GPT",
    "BatchedSelfAttention",
    "BigramLanguageModel",
    "CharVocab",
    "GPTConfig",
    "Head",
    "MultiHeadAttention",
    "NextCharacterGPT",
    "TrainConfig",
    "batched_from_model",
    "encode_text",
    "estimate_loss",
    "fit",
    "get_batch",
    "heads_from_batched",
    "make_optimizer",
    "random_windows",
    "sample_text",
    "train_val_split",
]
