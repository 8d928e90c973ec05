"""GPT-2's tokenizer, ``r50k_base``, rebuilt from its published ranks like GPT-4's.

The file ``r50k_base.tiktoken`` holds GPT-2's 50,256 BPE tokens as
``base64-token rank`` lines, the format of ``cl100k_base``; the ranks imply the merges
(see ``gpt4``). The split is GPT-2's regex, and the one special token is
``<|endoftext|>`` = 50256.
"""

from __future__ import annotations

import os
from pathlib import Path

from .. import data
from .gpt4 import load_ranks, recover_merges
from .regex_tokenizer import GPT2_SPLIT_PATTERN, RegexTokenizer

GPT2_SPECIAL_TOKENS = {"<|endoftext|>": 50256}

R50K_BASE = data.DataSet(
    "r50k_base",
    "r50k_base.tiktoken",
    "https://openaipublic.blob.core.windows.net/encodings/r50k_base.tiktoken",
    "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
    "GPT-2's BPE ranks",
)


def r50k_path() -> Path:
    """The local copy of ``r50k_base.tiktoken``, found and checked as ``data.path``
    finds a data set: in ``$GPT_FROM_SCRATCH_DATA``, then the user cache, else
    downloaded into the cache."""
    ds = R50K_BASE
    mirror = data.mirror_dir()
    if mirror is not None and data.local_copy(mirror / ds.filename, ds.sha256):
        return mirror / ds.filename
    cached = data.cache_dir() / ds.filename
    if data.local_copy(cached, ds.sha256):
        return cached
    try:
        return data.download(ds.url, cached, ds.sha256)
    except OSError as err:
        raise data.DataError(
            f"could not download {ds.filename} from {ds.url} ({err}); without "
            f"network, put it into ${data.ENV_DATA}"
        ) from err


class GPT2Tokenizer(RegexTokenizer):
    """``r50k_base``: GPT-2's split pattern, its 50,256 BPE tokens, ``<|endoftext|>``.

    >>> tokenizer = GPT2Tokenizer()                      # doctest: +SKIP
    >>> tokenizer.encode(" SolidGoldMagikarp")             # doctest: +SKIP
    [43453]
    """

    def __init__(self, ranks_path: str | os.PathLike | None = None):
        ranks = load_ranks(r50k_path() if ranks_path is None else ranks_path)
        byte_ids = [ranks[bytes([byte])] for byte in range(256)]
        super().__init__(GPT2_SPLIT_PATTERN, GPT2_SPECIAL_TOKENS, byte_ids)
        self.set_merges(recover_merges(ranks))

    def train(self, text, vocab_size, fast=True, callback=None):
        raise NotImplementedError("GPT2Tokenizer is pretrained; train a RegexTokenizer")
