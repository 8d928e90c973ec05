"""Words in, training examples out: the data pipeline every makemore model shares.

A word list becomes a vocabulary of characters (plus the boundary token ``.`` that marks where a
word starts and ends), is split into train/dev/test words, and each split becomes examples: the
``block_size`` previous characters (the context) and the character that follows (the target).

>>> vocab = Vocabulary.from_words(["emma", "ava"])
>>> vocab.itos
['.', 'a', 'e', 'm', 'v']
>>> X, Y = build_examples(["ava"], vocab, block_size=2)
>>> X.tolist(), Y.tolist()
([[0, 0], [0, 1], [1, 4], [4, 1]], [1, 4, 1, 0])
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from gpt_from_scratch.data import DataFileError, read_text_file

BOUNDARY = "."


def check_characters(itos: Sequence[str]) -> list[str]:
    """``itos`` as a list, if it is a vocabulary: distinct single characters, at least one."""
    itos = list(itos)
    if not itos:
        raise ValueError("a vocabulary needs at least one character (an empty text has none)")
    bad = [ch for ch in itos if not isinstance(ch, str) or len(ch) != 1]
    if bad:
        raise ValueError(f"vocabulary entries must be single characters, got {bad[:5]}")
    if len(set(itos)) != len(itos):
        raise ValueError(f"vocabulary has repeated characters: {itos}")
    return itos


def check_known(text: str, stoi: dict[str, int]) -> None:
    """A ``ValueError`` naming the first character of ``text`` that is not in ``stoi``."""
    unknown = sorted(set(text) - stoi.keys())
    if unknown:
        where = text.index(unknown[0])
        raise ValueError(
            f"{len(unknown)} character(s) not in the vocabulary: {''.join(unknown)!r} "
            f"(first at position {where} of {text!r:.60}); "
            f"the vocabulary is {''.join(stoi)!r}"
        )


class CharVocab:
    """Characters numbered from 0 in a fixed order: the vocabulary of a
    character-level model.

    >>> vocab = CharVocab.from_text("hello")
    >>> vocab.itos, vocab.encode("hole"), vocab.decode([1, 0, 2, 2, 3])
    (['e', 'h', 'l', 'o'], [1, 3, 2, 0], 'hello')
    """

    def __init__(self, itos: Sequence[str]):
        self.itos: list[str] = check_characters(itos)
        self.stoi: dict[str, int] = {ch: i for i, ch in enumerate(self.itos)}

    @classmethod
    def from_text(cls, text: str):
        """Every distinct character of ``text``, sorted (65 for Tiny Shakespeare)."""
        return cls(sorted(set(text)))

    @property
    def size(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> list[int]:
        check_known(text, self.stoi)
        return [self.stoi[ch] for ch in text]

    def decode(self, ids: Iterable[int]) -> str:
        return "".join(self.itos[int(i)] for i in ids)

    def to_json(self) -> dict:
        """A JSON-able description, for checkpoints: ``{"itos": ["a", "b", ...]}``."""
        return {"itos": list(self.itos)}

    @classmethod
    def from_json(cls, obj: dict):
        """The inverse of :meth:`to_json`."""
        if not isinstance(obj, dict) or "itos" not in obj:
            raise ValueError(f'a vocabulary in JSON is {{"itos": [...]}}, got {obj!r:.80}')
        return cls(obj["itos"])

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.itos == other.itos


class Vocabulary(CharVocab):
    """A vocabulary of words' characters: the boundary ``.`` is id 0, the rest follow sorted.

    >>> vocab = Vocabulary(list(".ab"))
    >>> vocab.encode("ba"), vocab.decode([2, 1, 0])
    ([2, 1], 'ba.')
    """

    def __init__(self, itos: Sequence[str]):
        itos = list(itos)
        if not itos or itos[0] != BOUNDARY:
            raise ValueError(f"a vocabulary starts with the boundary {BOUNDARY!r}, got {itos[:1]}")
        super().__init__(itos)

    @classmethod
    def from_words(cls, words: Iterable[str]) -> Vocabulary:
        """The boundary, then the characters of ``words``, sorted (27 for names)."""
        chars = sorted(set().union(*map(set, words)) - {BOUNDARY})
        return cls([BOUNDARY, *chars])

    def __repr__(self) -> str:
        return f"Vocabulary({''.join(self.itos)!r})"


def load_words(path: str | Path, vocab: Vocabulary | None = None) -> list[str]:
    """The words of a UTF-8 text file: each line stripped, blank lines skipped."""
    lines = read_text_file(path).splitlines()
    words = [line.strip() for line in lines if line.strip()]
    check_words(lines, vocab, path)
    return words


def check_words(lines: list[str], vocab: Vocabulary | None, path: str | Path) -> None:
    """A :class:`~gpt_from_scratch.data.DataFileError` naming the file and the line of the
    first word holding the boundary ``.`` or (given ``vocab``) a character outside it, or
    saying why the file has no words."""
    for number, line in enumerate(lines, start=1):
        if line.strip():
            check_word(line.strip(), vocab, f"{path}, line {number}")
    if not any(line.strip() for line in lines):
        raise DataFileError(f"{path}: no words ({_why_no_words(lines)})")


def check_word(word: str, vocab: Vocabulary | None, where: str) -> None:
    """Refuse a word that holds the boundary ``.`` or, given ``vocab``, a character outside it."""
    for ch in word:
        if ch == BOUNDARY or (vocab is not None and ch not in vocab.stoi):
            why = "is the word boundary" if ch == BOUNDARY else "is not in the vocabulary"
            raise DataFileError(f"{where}: character {ch!r} in {word!r} {why}")


def _why_no_words(lines: list[str]) -> str:
    if not lines:
        return "the file is empty"
    return f"its {len(lines)} line{'s are' if len(lines) > 1 else ' is'} blank"


Fractions = tuple[float, float, float]


def split_words(
    words: Sequence[str], seed: int = 42, fractions: Fractions = (0.8, 0.1, 0.1)
) -> tuple[list[str], list[str], list[str]]:
    """Shuffle ``words`` with ``seed`` and cut them into (train, dev, test).

    The same seed gives the same split; every word lands in exactly one part.

    >>> train, dev, test = split_words([str(i) for i in range(10)], seed=0)
    >>> len(train), len(dev), len(test)
    (8, 1, 1)
    """
    check_fractions(fractions)
    order = np.random.default_rng(seed).permutation(len(words))
    shuffled = [words[i] for i in order]
    n_train = int(fractions[0] * len(words))
    n_dev = int((fractions[0] + fractions[1]) * len(words))
    return shuffled[:n_train], shuffled[n_train:n_dev], shuffled[n_dev:]


def check_fractions(fractions: Fractions) -> None:
    """A ``ValueError`` unless ``fractions`` are three non-negative numbers summing to 1."""
    if len(fractions) != 3 or min(fractions) < 0 or abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"fractions must be three numbers >= 0 summing to 1: {fractions}")


def build_examples(
    words: Iterable[str], vocab: Vocabulary, block_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """(context, next character) pairs of every position of every word, as int64 ids.

    The context starts as ``block_size`` boundaries and slides along the word; each
    word ends with a boundary target, so a model learns where words stop. A word of
    length L gives L + 1 examples: ``X`` is (N, block_size), ``Y`` is (N,).
    """
    if block_size < 1:
        raise ValueError(f"block_size must be at least 1, got {block_size}")
    contexts, targets = [], []
    for word in words:
        context = [0] * block_size
        for target in vocab.encode(word) + [vocab.stoi[BOUNDARY]]:
            contexts.append(context)
            targets.append(target)
            context = context[1:] + [target]
    X = np.array(contexts, dtype=np.int64).reshape(-1, block_size)  # (N, block_size)
    Y = np.array(targets, dtype=np.int64)  # (N,)
    return X, Y


def examples_by_split(
    words: Sequence[str], vocab: Vocabulary, block_size: int, seed: int = 42
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The seeded train/dev/test split of ``words``, each part made into (X, Y) examples.

    A part that receives no words is left out of the result.
    """
    parts = zip(("train", "dev", "test"), split_words(words, seed=seed), strict=True)
    return {name: build_examples(part, vocab, block_size) for name, part in parts if part}


def check_contexts(idx: np.ndarray, block_size: int | None = None) -> None:
    """A ``ValueError`` unless ``idx`` is a batch of contexts (B, T) with T >= 1 (and at most
    ``block_size``, if given): what a model reads."""
    shape = np.shape(idx)
    too_long = block_size is not None and len(shape) == 2 and shape[1] > block_size
    if len(shape) != 2 or shape[1] < 1 or too_long:
        limit = "" if block_size is None else f" <= {block_size}"
        raise ValueError(f"contexts must be (batch, T) with 1 <= T{limit}, got shape {shape}")
