"""GPT-4's tokenizer, ``cl100k_base``, rebuilt from its published ranks.

OpenAI publishes the tokenizer as "ranks": every token's bytes (base64) and its rank, which is
also its id. There are no merges in the file, but BPE implies them: a token of rank ``r`` is the
merge of the two parts that BPE, allowed only ranks below ``r``, leaves when it encodes the
token's bytes. Recovering those pairs gives a tokenizer of our own kind.

The single bytes have ranks 0..255, but not in byte order (``"!"`` has rank 0): ``byte_ids``
holds this permutation, and encoding starts from it.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from .. import data
from .base import Pair
from .regex_tokenizer import GPT4_SPLIT_PATTERN, RegexTokenizer

GPT4_SPECIAL_TOKENS = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}


def load_ranks(path: str | os.PathLike) -> dict[bytes, int]:
    """Read a ``.tiktoken`` file: one ``base64-token rank`` per line.

    Errors name the file and the line.
    """
    path = Path(path)
    ranks = {}
    with open(path, "rb") as f:
        for number, line in enumerate(f, start=1):
            fields = line.split()
            try:
                token, rank = base64.b64decode(fields[0], validate=True), int(fields[1])
                if len(fields) != 2:
                    raise ValueError("more than two fields")
            except (IndexError, ValueError) as err:
                raise ValueError(
                    f"{path}, line {number}: expected 'base64-token rank' ({err})"
                ) from err
            ranks[token] = rank
    return ranks


def bpe_parts(ranks: dict[bytes, int], token: bytes, max_rank: int) -> list[bytes]:
    """Encode ``token`` with byte-level BPE using only ranks below ``max_rank``;
    return the parts.

    Each step merges the adjacent pair whose joined bytes have the lowest rank.

    >>> ranks = {b"a": 0, b"b": 1, b"c": 2, b"ab": 3, b"abc": 4}
    >>> bpe_parts(ranks, b"abc", max_rank=4)
    [b'ab', b'c']
    """
    parts = [bytes([byte]) for byte in token]
    while True:
        best_index, best_rank = None, max_rank
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and rank < best_rank:
                best_index, best_rank = i, rank
        if best_index is None:
            return parts
        merged = parts[best_index] + parts[best_index + 1]
        parts[best_index : best_index + 2] = [merged]


def check_two_parts(token: bytes, rank: int, parts: list[bytes]) -> None:
    """A ``ValueError`` unless BPE below ``rank`` leaves ``token`` in two parts."""
    if len(parts) != 2:
        raise ValueError(f"token {token!r} (rank {rank}) is not a merge of two lower ranks")


def recover_merges(ranks: dict[bytes, int]) -> dict[Pair, int]:
    """The merge ``(id of left part, id of right part) -> rank`` behind every
    multi-byte token."""
    merges = {}
    for token, rank in ranks.items():
        if len(token) == 1:
            continue
        parts = bpe_parts(ranks, token, max_rank=rank)
        check_two_parts(token, rank, parts)
        merges[ranks[parts[0]], ranks[parts[1]]] = rank
    return merges


class GPT4Tokenizer(RegexTokenizer):
    """``cl100k_base``: GPT-4's split pattern, its 100,256 BPE tokens and its special tokens.

    >>> tokenizer = GPT4Tokenizer()                      # doctest: +SKIP
    >>> tokenizer.encode("hello world!!!? (안녕하세요!) lol123 😉")   # doctest: +SKIP
    [15339, 1917, 12340, 30, 320, 31495, 230, 75265, 243, 92245, 16715, 28509, 4513, 57037]
    """

    def __init__(self, ranks_path: str | os.PathLike | None = None):
        path = data.path("cl100k_base") if ranks_path is None else ranks_path
        ranks = load_ranks(path)
        byte_ids = [ranks[bytes([byte])] for byte in range(256)]
        super().__init__(GPT4_SPLIT_PATTERN, GPT4_SPECIAL_TOKENS, byte_ids)
        self.set_merges(recover_merges(ranks))

    def train(self, text, vocab_size, fast=True, callback=None):
        raise NotImplementedError("GPT4Tokenizer is pretrained; train a RegexTokenizer instead")
