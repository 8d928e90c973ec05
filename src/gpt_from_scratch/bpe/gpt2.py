"""GPT-2's tokenizer, ``r50k_base``, rebuilt from its published ranks like GPT-4's.

The file ``r50k_base.tiktoken`` holds GPT-2's 50,256 BPE tokens as
``base64-token rank`` lines, the format of ``cl100k_base``; the ranks imply the merges
(see ``gpt4``). The split is GPT-2's regex, and the one special token is
``<|endoftext|>`` = 50256.
"""

from __future__ import annotations

import os

from .. import data
from .gpt4 import load_ranks, recover_merges
from .regex_tokenizer import GPT2_SPLIT_PATTERN, RegexTokenizer

GPT2_SPECIAL_TOKENS = {"<|endoftext|>": 50256}


class GPT2Tokenizer(RegexTokenizer):
    """``r50k_base``: GPT-2's split pattern, its 50,256 BPE tokens, ``<|endoftext|>``.

    >>> tokenizer = GPT2Tokenizer()                      # doctest: +SKIP
    >>> tokenizer.encode(" SolidGoldMagikarp")             # doctest: +SKIP
    [43453]
    """

    def __init__(self, ranks_path: str | os.PathLike | None = None):
        ranks = load_ranks(data.path("r50k_base") if ranks_path is None else ranks_path)
        byte_ids = [ranks[bytes([byte])] for byte in range(256)]
        super().__init__(GPT2_SPLIT_PATTERN, GPT2_SPECIAL_TOKENS, byte_ids)
        self.set_merges(recover_merges(ranks))

    def train(self, text, vocab_size, fast=True, callback=None):
        raise NotImplementedError("GPT2Tokenizer is pretrained; train a RegexTokenizer")
