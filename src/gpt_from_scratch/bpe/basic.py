"""The simplest BPE tokenizer: byte-pair encoding straight on the UTF-8 bytes of the text.

>>> tokenizer = BasicTokenizer()
>>> tokenizer.train("aaabdaaabac", vocab_size=256 + 3)
>>> tokenizer.encode("aaabdaaabac")
[258, 100, 258, 97, 99]
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise

from .base import Tokenizer, merge, train_plain
from .train_fast import train_fast


def encode_bytes(
    data: bytes,
    merges: dict,
    byte_ids: Sequence[int] = range(256),
) -> list[int]:
    """Encode bytes by applying the merges in the order they were learned.

    At each step the pair with the lowest merge id among the adjacent pairs is merged
    everywhere; learned earlier means merged earlier, exactly as in training.

    >>> encode_bytes(b"aaab", {(97, 97): 256, (256, 97): 257})
    [257, 98]
    """
    ids = [byte_ids[byte] for byte in data]
    while len(ids) >= 2:
        pair = min(pairwise(ids), key=lambda p: merges.get(p, float("inf")))
        if pair not in merges:
            break  # no adjacent pair can be merged any more
        ids = merge(ids, pair, merges[pair])
    return ids


def check_no_split(pattern: str, special_tokens) -> None:
    """A ``ValueError`` if a :class:`BasicTokenizer` is given a split pattern or
    special tokens, which it cannot hold."""
    if pattern or special_tokens:
        raise ValueError(
            "BasicTokenizer splits no text and has no special tokens; "
            "use RegexTokenizer for a model with a pattern or special tokens"
        )


class BasicTokenizer(Tokenizer):
    """BPE on raw bytes: no split of the text, no special tokens."""

    def __init__(self, pattern="", special_tokens=None, byte_ids=None):
        check_no_split(pattern, special_tokens)
        super().__init__(byte_ids=byte_ids)

    def train(self, text: str, vocab_size: int, fast: bool = True, callback=None):
        """Learn ``vocab_size - 256`` merges from ``text`` (fast or plain trainer,
        same result); ``callback(merges so far)`` runs after each merge."""
        self.check_trainable(text, vocab_size)
        trainer = train_fast if fast else train_plain
        learned = trainer([text.encode("utf-8")], vocab_size - 256, callback)
        self.set_merges({pair: 256 + i for i, (pair, _count) in enumerate(learned)})

    def encode(self, text: str) -> list[int]:
        return encode_bytes(text.encode("utf-8"), self.merges, self.byte_ids)
