"""The pieces every byte-pair-encoding tokenizer shares.

Pair statistics and merging (the two operations of BPE), the plain training loop built from
them, a vocabulary rebuilt from the merges, and a human-readable model file.

Ids 0..255 stand for the 256 byte values; every merge adds one id, 256, 257, ... in order.

>>> get_stats([1, 2, 3, 1, 2])
{(1, 2): 2, (2, 3): 1, (3, 1): 1}
>>> merge([1, 2, 3, 1, 2], (1, 2), 4)
[4, 3, 4]
"""

from __future__ import annotations

import json
import os
import unicodedata
from collections.abc import Callable, Container, Iterable, Sequence
from itertools import pairwise
from pathlib import Path

import regex

from gpt_from_scratch.files import atomic_write

Pair = tuple[int, int]

MODEL_VERSION = "gpt_from_scratch.bpe v1"

# A text every tokenizer must give back exactly after encode and decode: ASCII, accents, CJK,
# emoji (one with a skin-tone modifier), digits, punctuation, and every kind of white space.
PROBE = (
    "Plain ASCII; accents: café, naïve, Ångström. 東京 and 안녕 😀👍🏽 "
    'digits 0123456789 3.14 it\'s ("quoted") <tag>!?\ttab  two spaces\nnew line\r\nend \n'
)


def get_stats(
    ids: Sequence[int],
    counts: dict[Pair, int] | None = None,
) -> dict[Pair, int]:
    """Count every adjacent pair of ids, adding to ``counts`` if given.

    >>> get_stats([1, 2, 3, 1, 2])
    {(1, 2): 2, (2, 3): 1, (3, 1): 1}
    """
    counts = {} if counts is None else counts
    for pair in pairwise(ids):
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def merge(ids: Sequence[int], pair: Pair, idx: int) -> list[int]:
    """Replace every occurrence of ``pair`` in ``ids`` by ``idx``, left to right.

    Occurrences never overlap: in ``[5, 5, 5]`` the pair ``(5, 5)`` is replaced once.

    >>> merge([1, 2, 3, 1, 2], (1, 2), 4)
    [4, 3, 4]
    >>> merge([5, 5, 5], (5, 5), 6)
    [6, 5]
    """
    first, second = pair
    out = []
    i, n = 0, len(ids)
    while i < n:
        if ids[i] == first and i + 1 < n and ids[i + 1] == second:
            out.append(idx)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def best_pair(counts: dict[Pair, int]) -> Pair:
    """The pair to merge next: the highest count; among equal counts, the smallest pair.

    "Smallest" compares pairs as tuples, so ``(97, 98)`` wins over ``(256, 97)``. Both
    trainers use this rule, which makes training deterministic.

    >>> best_pair({(256, 97): 2, (97, 98): 2, (98, 100): 1})
    (97, 98)
    """
    return min(counts, key=lambda pair: (-counts[pair], pair))


def train_plain(
    chunks: Iterable[bytes],
    num_merges: int,
    callback: Callable[[int], None] | None = None,
) -> list[tuple[Pair, int]]:
    """Learn up to ``num_merges`` merges the plain way: count all pairs, merge the
    best, repeat.

    Returns each merged pair with its count when it was chosen. Pairs are counted
    inside each chunk only, never across two chunks. Training stops early when no
    chunk has two tokens left. Merge ``i`` creates id ``256 + i``.
    ``callback(merges so far)`` runs after each merge.

    >>> train_plain([b"aaabdaaabac"], 3)
    [((97, 97), 4), ((97, 98), 2), ((256, 257), 2)]
    """
    sequences = [list(chunk) for chunk in chunks]
    merges = []
    for i in range(num_merges):
        counts: dict[Pair, int] = {}
        for ids in sequences:
            get_stats(ids, counts)
        if not counts:
            break
        pair = best_pair(counts)
        sequences = [merge(ids, pair, 256 + i) for ids in sequences]
        merges.append((pair, counts[pair]))
        if callback is not None:
            callback(len(merges))
    return merges


def build_vocab(
    merges: dict[Pair, int],
    byte_ids: Sequence[int] = range(256),
) -> dict[int, bytes]:
    """The bytes behind every id: single bytes first, then each merge joins its
    pair's bytes.

    ``byte_ids[b]`` is the id of byte ``b`` (the identity, except for GPT-4's
    shuffled ranks).

    >>> build_vocab({(104, 105): 256})[256]
    b'hi'
    """
    vocab = {idx: bytes([byte]) for byte, idx in enumerate(byte_ids)}
    for (first, second), idx in sorted(merges.items(), key=lambda item: item[1]):
        vocab[idx] = vocab[first] + vocab[second]
    return vocab


def render_token(token: bytes) -> str:
    """A token's bytes as printable text: control characters are shown as ``\\u000a`` escapes.

    >>> render_token(b"hi\\n")
    'hi\\\\u000a'
    """
    text = token.decode("utf-8", errors="replace")
    return "".join(f"\\u{ord(ch):04x}" if unicodedata.category(ch)[0] == "C" else ch for ch in text)


class ModelFileError(ValueError):
    """A tokenizer model file that cannot be read; the message names the file and line."""


def compile_pattern(pattern: str) -> regex.Pattern:
    """The split pattern, compiled, once it is known to keep every character of a text.

    It must compile, have no capture group (``findall`` would return the groups, not the
    chunks) and cover :data:`PROBE`: a pattern such as ``\\w+`` silently drops the spaces and
    punctuation between its matches. A failure is a ``ValueError`` that says which.
    """
    shown = f"split pattern {pattern!r:.80}"
    try:
        compiled = regex.compile(pattern)
    except regex.error as err:
        raise ValueError(f"{shown} does not compile: {err}") from None
    if compiled.groups:
        raise ValueError(
            f"{shown} has {compiled.groups} capture group(s), and a split keeps only the "
            "groups; write (?:...) for a group"
        )
    dropped = dropped_characters(compiled, PROBE)
    if dropped:
        raise ValueError(
            f"{shown} drops the characters {dropped!r} of a probe text, which fall between "
            "its matches; a split must keep every character"
        )
    return compiled


def dropped_characters(compiled: regex.Pattern, text: str) -> str:
    """The characters of ``text`` that no match of ``compiled`` covers, each once, in order.

    >>> dropped_characters(regex.compile(r"\\w+"), "hello world!")
    ' !'
    """
    kept = set()
    for found in compiled.finditer(text):
        kept.update(range(found.start(), found.end()))
    return "".join(dict.fromkeys(ch for i, ch in enumerate(text) if i not in kept))


def special_token_problem(text, idx, vocab: Container[int], owners: dict[int, str]) -> str:
    """What is wrong with special token ``text`` of id ``idx`` ("" if nothing): it must be a
    non-empty string whose id, an int >= 0, is not a byte's, a merge's (in ``vocab``) or that
    of another special token (``owners``, id -> text)."""
    name = f"special token {text!r}"
    if not isinstance(text, str) or not text:
        return f"{name}: a special token is a non-empty string"
    if isinstance(idx, bool) or not isinstance(idx, int) or idx < 0:
        return f"{name}: its id must be an int >= 0, got {idx!r}"
    if idx < 256:
        return f"{name}: id {idx} is a byte's id (0..255 are the bytes)"
    if idx in vocab:
        return f"{name}: id {idx} is already the id of a merge"
    if idx in owners:
        return f"{name}: id {idx} is already the id of special token {owners[idx]!r}"
    return ""


def check_special_tokens(special_tokens: dict[str, int], vocab: Container[int]) -> None:
    """A ``ValueError`` for the first special token that :func:`special_token_problem` refuses."""
    owners: dict[int, str] = {}
    for text, idx in special_tokens.items():
        problem = special_token_problem(text, idx, vocab, owners)
        if problem:
            raise ValueError(problem)
        owners[idx] = text


def check_ids(ids: Iterable[int], *known: Container[int]) -> None:
    """A ``ValueError`` for the first id that none of ``known`` (the vocabulary, the
    special ids) holds."""
    for idx in ids:
        if not any(idx in ids_of for ids_of in known):
            raise ValueError(f"invalid token id {idx}: not in the vocabulary")


class Tokenizer:
    """The state of a BPE tokenizer and what every kind shares: vocabulary, decode, save, load.

    ``merges`` maps a pair of ids to the id that replaces it; ``pattern`` is the regular
    expression that splits text before BPE (empty: no split); ``special_tokens`` maps special
    strings such as ``<|endoftext|>`` to their ids.
    """

    def __init__(
        self,
        pattern: str = "",
        special_tokens: dict[str, int] | None = None,
        byte_ids: Sequence[int] | None = None,
    ):
        self.pattern = pattern
        self.special_tokens = dict(special_tokens or {})
        self.merges: dict[Pair, int] = {}
        self.byte_ids = list(range(256) if byte_ids is None else byte_ids)
        if sorted(self.byte_ids) != list(range(256)):
            raise ValueError("byte_ids must be a permutation of 0..255")
        self.vocab = build_vocab(self.merges, self.byte_ids)
        check_special_tokens(self.special_tokens, self.vocab)

    def set_merges(self, merges: dict[Pair, int]) -> None:
        """Install learned merges and rebuild the vocabulary from them; a merge may not take
        the id of a special token."""
        vocab = build_vocab(merges, self.byte_ids)
        check_special_tokens(self.special_tokens, vocab)
        self.merges, self.vocab = dict(merges), vocab

    def check_trainable(self, text: str, vocab_size: int) -> None:
        """Training learns ids 256, 257, ... up to ``vocab_size - 1`` on top of the bytes in
        their natural order, from a text that is not empty."""
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, int):
            raise ValueError(f"vocab_size must be an int, got {type(vocab_size).__name__}")
        if vocab_size < 256:
            raise ValueError(f"vocab_size must be at least 256 (the bytes), got {vocab_size}")
        if not isinstance(text, str):
            raise ValueError(f"the training text must be a str, got {type(text).__name__}")
        if not text:
            raise ValueError("the training text is empty: there is nothing to learn merges from")
        if self.byte_ids != list(range(256)):
            raise ValueError("training needs the identity byte order (byte b has id b)")
        taken = {token: idx for token, idx in self.special_tokens.items() if idx < vocab_size}
        if taken:
            raise ValueError(
                f"special tokens {taken} have ids below vocab_size={vocab_size}, which "
                "training gives to merges; register special tokens after training"
            )

    @property
    def vocab_size(self) -> int:
        return len(self.vocab) + len(self.special_tokens)

    def decode(self, ids: Iterable[int]) -> str:
        """Ids back to text; byte sequences that are not valid UTF-8 become U+FFFD."""
        specials = self.special_tokens.items()
        inverse_special = {idx: text.encode("utf-8") for text, idx in specials}
        ids = list(ids)
        check_ids(ids, self.vocab, inverse_special)
        pieces = []
        for idx in ids:
            if idx in self.vocab:
                pieces.append(self.vocab[idx])
            else:
                pieces.append(inverse_special[idx])
        return b"".join(pieces).decode("utf-8", errors="replace")

    # -- model files ---------------------------------------------------------------------------

    def save(self, prefix: str | os.PathLike) -> tuple[Path, Path]:
        """Write ``prefix.model`` (to load) and ``prefix.vocab`` (to read), each atomically.

        The model file is text: a version line, the split pattern and the special tokens as
        JSON strings, then one merge per line, ``first second``, in the order they were learned.
        """
        prefix = Path(prefix)
        model_path = prefix.with_name(prefix.name + ".model")
        vocab_path = prefix.with_name(prefix.name + ".vocab")
        model_text, vocab_text = self._model_text(), self._vocab_text()
        model_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(model_path, model_text.encode("utf-8"))
        atomic_write(vocab_path, vocab_text.encode("utf-8"))
        return model_path, vocab_path

    def _model_text(self) -> str:
        ids = sorted(self.merges.values())
        if ids != list(range(256, 256 + len(ids))):
            raise ValueError(
                "a model file numbers the merges 256, 257, ... by their order; these merges "
                f"have ids {ids[:3]}...{ids[-1:]}, with a gap or a repeat"
            )
        lines = [MODEL_VERSION, f"pattern {json.dumps(self.pattern)}"]
        lines.append(f"special {len(self.special_tokens)}")
        lines += [f"{json.dumps(text)} {idx}" for text, idx in self.special_tokens.items()]
        identity = self.byte_ids == list(range(256))
        lines.append("bytes identity" if identity else "bytes " + " ".join(map(str, self.byte_ids)))
        lines.append(f"merges {len(self.merges)}")
        lines += [f"{a} {b}" for (a, b), _ in sorted(self.merges.items(), key=lambda m: m[1])]
        return "\n".join(lines) + "\n"

    def _vocab_text(self) -> str:
        parents = {idx: pair for pair, idx in self.merges.items()}
        lines = []
        for idx, token in sorted(self.vocab.items()):
            if idx in parents:
                a, b = parents[idx]
                lines.append(
                    f"[{render_token(self.vocab[a])}][{render_token(self.vocab[b])}] "
                    f"-> [{render_token(token)}] {idx}"
                )
            else:
                lines.append(f"[{render_token(token)}] {idx}")
        lines += [f"special [{text}] {idx}" for text, idx in self.special_tokens.items()]
        return "\n".join(lines) + "\n"

    def encode_ordinary(self, text: str) -> list[int]:
        """``text`` as ids with no special-token handling: ``encode``, for a kind of tokenizer
        without special tokens; :class:`RegexTokenizer` has its own."""
        return self.encode(text)

    @classmethod
    def load(cls, model_file: str | os.PathLike) -> Tokenizer:
        """Read a ``.model`` file written by :meth:`save`, checking all of it: the version, the
        split pattern (:func:`compile_pattern`), the special tokens, the merges, and a round
        trip of :data:`PROBE`. A failure is a :class:`ModelFileError` naming the file and line.
        """
        reader = _LineReader.open(Path(model_file))
        version = reader.next("the version line")
        if version != MODEL_VERSION:
            reader.fail(f"unknown version {version!r} (this code reads {MODEL_VERSION!r})")
        pattern = reader.json_after("pattern", reader.next("the pattern line"))
        if pattern:
            reader.check(compile_pattern, pattern)
        special_lines = reader.special_tokens()
        byte_ids = reader.byte_ids(reader.next("the byte-id line"))
        merges_line = reader.number + 1
        merges = reader.merges()
        reader.expect_end()
        reader.check_special_tokens(special_lines, range(256 + len(merges)))
        special_tokens = {text: idx for text, (idx, _) in special_lines.items()}
        try:
            tokenizer = cls(pattern=pattern, special_tokens=special_tokens, byte_ids=byte_ids)
        except ValueError as err:  # a kind that cannot hold what the file describes
            raise ModelFileError(f"{reader.path}: {err}") from None
        tokenizer.set_merges(merges)
        reader.check(check_round_trip, tokenizer, line=merges_line)
        return tokenizer


def check_round_trip(tokenizer: Tokenizer, text: str = PROBE) -> None:
    """A ``ValueError`` unless ``text`` comes back exactly from encode, then decode. The base
    class, which reads files but cannot encode, is not checked."""
    if not hasattr(tokenizer, "encode"):
        return
    back = tokenizer.decode(tokenizer.encode_ordinary(text))
    if back != text:
        at = len(os.path.commonprefix([text, back]))
        raise ValueError(
            f"the merges do not give the probe text back: it differs from character {at} "
            f"on, {text[at : at + 20]!r} came back as {back[at : at + 20]!r}"
        )


class _LineReader:
    """Walks a model file line by line and phrases errors as ``file, line n: what``."""

    def __init__(self, path: Path, lines: list[str]):
        self.path, self.lines, self.number = path, lines, 0

    @classmethod
    def open(cls, path: Path) -> _LineReader:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as err:
            line = path.read_bytes().count(b"\n", 0, err.start) + 1
            raise ModelFileError(
                f"{path}: not a UTF-8 text file (line {line}, byte {err.start}: {err.reason})"
            ) from None
        except IsADirectoryError:
            raise ModelFileError(f"{path}: is a folder, not a .model file") from None
        except OSError as err:
            raise ModelFileError(f"{path}: cannot read the model file ({err.strerror})") from None
        return cls(path, text.removesuffix("\n").split("\n"))

    def fail(self, message: str):
        raise ModelFileError(f"{self.path}, line {self.number}: {message}")

    def check(self, check: Callable, *args, line: int | None = None) -> None:
        """Run ``check(*args)``; a ``ValueError`` it raises fails at ``line`` (default: the
        current line)."""
        self.number = self.number if line is None else line
        try:
            check(*args)
        except ValueError as err:
            self.fail(str(err))

    def special_tokens(self) -> dict[str, tuple[int, int]]:
        """The special tokens, each text with (its id, its line number)."""
        found: dict[str, tuple[int, int]] = {}
        for _ in range(self.count_after("special", self.next("the special-token count"))):
            text, _, idx = self.next("a special token").rpartition(" ")
            token = self.json_after("", text)
            if token in found:
                first = found[token][1]
                self.fail(f"special token {token!r} appears twice (first on line {first})")
            found[token] = (self.integer(idx), self.number)
        return found

    def check_special_tokens(self, found: dict[str, tuple[int, int]], vocab: range) -> None:
        owners: dict[int, str] = {}
        for token, (idx, number) in found.items():
            problem = special_token_problem(token, idx, vocab, owners)
            if problem:
                self.number = number
                self.fail(problem)
            owners[idx] = token

    def merges(self) -> dict[Pair, int]:
        """The merges, numbered 256, 257, ... in the order of their lines."""
        num_merges = self.count_after("merges", self.next("the merge count"))
        merges: dict[Pair, int] = {}
        for i in range(num_merges):
            pair = self.merge_pair(self.next(f"merge {i + 1} of {num_merges}"), 256 + i)
            if pair in merges:
                self.fail(f"merge {pair} appears twice (first as id {merges[pair]})")
            merges[pair] = 256 + i
        return merges

    def next(self, what: str) -> str:
        self.number += 1
        if self.number > len(self.lines):
            self.fail(f"file ends early (truncated?): expected {what}")
        return self.lines[self.number - 1]

    def expect_end(self) -> None:
        if self.number < len(self.lines):
            self.number += 1
            self.fail(f"unexpected line after the last merge: {self.lines[self.number - 1]!r}")

    def integer(self, text: str) -> int:
        try:
            return int(text)
        except ValueError:
            self.fail(f"expected an integer, found {text!r}")

    def json_after(self, keyword: str, line: str) -> str:
        prefix = f"{keyword} " if keyword else ""
        if not line.startswith(prefix):
            self.fail(f"expected a line starting with {prefix!r}, found {line!r}")
        try:
            value = json.loads(line[len(prefix) :])
        except json.JSONDecodeError as err:
            self.fail(f"expected a JSON string: {err}")
        if not isinstance(value, str):
            self.fail(f"expected a JSON string, found {value!r}")
        return value

    def count_after(self, keyword: str, line: str) -> int:
        head, _, count = line.partition(" ")
        if head != keyword:
            self.fail(f"expected '{keyword} <count>', found {line!r}")
        number = self.integer(count)
        if number < 0:
            self.fail(f"expected a count >= 0, found {number}")
        return number

    def byte_ids(self, line: str) -> list[int] | None:
        fields = line.split()
        if fields == ["bytes", "identity"]:
            return None
        if fields[:1] != ["bytes"] or len(fields) != 257:
            self.fail(f"expected 'bytes identity' or 'bytes' and 256 ids, found {line[:60]!r}")
        ids = [self.integer(field) for field in fields[1:]]
        if sorted(ids) != list(range(256)):
            self.fail("the byte ids are not a permutation of 0..255")
        return ids

    def merge_pair(self, line: str, new_id: int) -> Pair:
        fields = line.split()
        if len(fields) != 2:
            self.fail(f"expected a merge 'first second', found {line!r}")
        first, second = (self.integer(field) for field in fields)
        for idx in (first, second):
            if not 0 <= idx < new_id:
                self.fail(f"merge refers to unknown token {idx} (known ids are 0..{new_id - 1})")
        return first, second
