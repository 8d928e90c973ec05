"""BPE after a regex split: the text is cut into chunks first, and merges never cross chunks.

GPT-2 introduced the split so that a word never fuses with the punctuation or space around it
(no ``"dog."``, ``"dog!"``, ``"dog?"`` tokens). Special tokens such as ``<|endoftext|>`` are
matched before the split and get ids of their own, with tiktoken's rules for which are allowed.

>>> tokenizer = RegexTokenizer()
>>> tokenizer.split("Hello world123!!")
['Hello', ' world', '123', '!!']
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Literal

import regex

from .base import Tokenizer, check_special_tokens, compile_pattern, train_plain
from .basic import encode_bytes
from .train_fast import train_fast

GPT2_SPLIT_PATTERN = (
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
)
GPT4_SPLIT_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)

CACHE_LIMIT = 1 << 16  # chunks remembered by encode before the cache is emptied

Special = Literal["all"] | Collection[str]


class RegexTokenizer(Tokenizer):
    """BPE on the chunks of a split pattern (GPT-4's by default), with special tokens."""

    def __init__(self, pattern: str = GPT4_SPLIT_PATTERN, special_tokens=None, byte_ids=None):
        super().__init__(pattern, special_tokens, byte_ids)
        self.compiled_pattern = compile_pattern(pattern)
        self.cache: dict[str, list[int]] = {}

    def split(self, text: str) -> list[str]:
        """The chunks of ``text`` under the split pattern; joined, they give ``text`` back."""
        return self.compiled_pattern.findall(text)

    def train(self, text: str, vocab_size: int, fast: bool = True, callback=None):
        """Learn ``vocab_size - 256`` merges, counting pairs only inside chunks;
        ``callback(merges so far)`` runs after each merge."""
        self.check_trainable(text, vocab_size)
        chunks = [chunk.encode("utf-8") for chunk in self.split(text)]
        trainer = train_fast if fast else train_plain
        learned = trainer(chunks, vocab_size - 256, callback)
        self.set_merges({pair: 256 + i for i, (pair, _count) in enumerate(learned)})

    def register_special_tokens(self, special_tokens: dict[str, int]) -> None:
        """Add special tokens, e.g. ``{"<|endoftext|>": 100257}``; each needs an id of its own,
        not a byte's, a merge's or another special token's."""
        check_special_tokens({**self.special_tokens, **special_tokens}, self.vocab)
        self.special_tokens.update(special_tokens)

    def set_merges(self, merges) -> None:
        super().set_merges(merges)
        self.cache = {}

    def encode_chunk(self, chunk: str) -> list[int]:
        """One chunk's ids; repeated chunks (``" the"``) come from the cache."""
        ids = self.cache.get(chunk)
        if ids is None:
            if len(self.cache) >= CACHE_LIMIT:
                self.cache.clear()
            ids = encode_bytes(chunk.encode("utf-8"), self.merges, self.byte_ids)
            self.cache[chunk] = ids
        return ids

    def encode_ordinary(self, text: str) -> list[int]:
        """Encode ``text`` as plain text: special-token strings get no special treatment."""
        ids: list[int] = []
        for chunk in self.split(text):
            ids.extend(self.encode_chunk(chunk))
        return ids

    def encode(
        self,
        text: str,
        allowed_special: Special = frozenset(),
        disallowed_special: Special = "all",
    ) -> list[int]:
        """Encode ``text``, with tiktoken's rules for special tokens.

        ``allowed_special`` strings become their special ids. A ``disallowed_special``
        string found in the text raises ``ValueError`` (by default every special token
        not allowed is disallowed: text from a user must not smuggle in an
        ``<|endoftext|>``). Special strings that are neither are encoded as ordinary
        text.
        """
        allowed = self._special_set(allowed_special)
        disallowed = self._special_set(disallowed_special)
        if disallowed_special == "all":
            disallowed -= allowed
        check_disallowed_special(text, disallowed)
        if not allowed:
            return self.encode_ordinary(text)
        ids: list[int] = []
        start = 0
        for found in _alternation(allowed).finditer(text):
            ids.extend(self.encode_ordinary(text[start : found.start()]))
            ids.append(self.special_tokens[found.group()])
            start = found.end()
        ids.extend(self.encode_ordinary(text[start:]))
        return ids

    def _special_set(self, which: Special) -> set[str]:
        if which == "all":
            return set(self.special_tokens)
        unknown = set(which) - set(self.special_tokens)
        if unknown:
            raise ValueError(f"unknown special tokens {sorted(unknown)}")
        return set(which)


def check_disallowed_special(text: str, disallowed: Collection[str]) -> None:
    """A ``ValueError`` for the first ``disallowed`` special token found in ``text``."""
    if not disallowed:
        return
    found = _alternation(disallowed).search(text)
    if found:
        raise ValueError(
            f"the text contains the special token {found.group()!r} at index "
            f"{found.start()}, which is disallowed; pass it in allowed_special to encode "
            "it as a special token, or disallowed_special=() to encode it as text"
        )


def _alternation(tokens: Collection[str]) -> regex.Pattern:
    """A pattern matching any of ``tokens``, longest first so that no token hides a longer one."""
    return regex.compile("|".join(regex.escape(t) for t in sorted(tokens, key=len, reverse=True)))
