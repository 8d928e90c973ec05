"""Part III: a GPT (decoder-only Transformer) trained on characters, on the tensor engine.

>>> from gpt_from_scratch.gpt import GPT, GPTConfig, CharVocab, generate, train
"""

from gpt_from_scratch.gpt.config import GPTConfig
from gpt_from_scratch.gpt.data import CharVocab, encode_text, get_batch, train_val_split
from gpt_from_scratch.gpt.generate import generate, sample_next, sample_text
from gpt_from_scratch.gpt.model import GPT, BigramLanguageModel
from gpt_from_scratch.gpt.train import (
    History,
    TrainConfig,
    estimate_loss,
    load_model,
    train,
    train_step,
)

__all__ = [
    "GPT",
    "BigramLanguageModel",
    "CharVocab",
    "GPTConfig",
    "History",
    "TrainConfig",
    "encode_text",
    "estimate_loss",
    "generate",
    "get_batch",
    "load_model",
    "sample_next",
    "sample_text",
    "train",
    "train_step",
    "train_val_split",
]
