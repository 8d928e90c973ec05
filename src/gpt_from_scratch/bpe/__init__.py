"""Byte-pair encoding, the tokenizer of GPT-2 and GPT-4, one idea per module.

- ``base``: pair statistics, merging, the plain trainer, the vocabulary, model files
- ``basic``: :class:`BasicTokenizer`, BPE on raw UTF-8 bytes
- ``regex_tokenizer``: :class:`RegexTokenizer`, BPE after a GPT-2/GPT-4 regex split, with
  special tokens
- ``train_fast``: the incremental trainer, same merges as the plain one
- ``gpt4``: :class:`GPT4Tokenizer`, ``cl100k_base`` rebuilt from its ranks
"""

from .base import ModelFileError, Tokenizer, get_stats, merge, train_plain
from .basic import BasicTokenizer
from .gpt4 import GPT4_SPECIAL_TOKENS, GPT4Tokenizer
from .regex_tokenizer import GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN, RegexTokenizer
from .train_fast import train_fast

__all__ = [
    "BasicTokenizer",
    "GPT2_SPLIT_PATTERN",
    "GPT4_SPECIAL_TOKENS",
    "GPT4_SPLIT_PATTERN",
    "GPT4Tokenizer",
    "ModelFileError",
    "RegexTokenizer",
    "Tokenizer",
    "get_stats",
    "merge",
    "train_fast",
    "train_plain",
]
