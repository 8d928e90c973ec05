"""The makemore data pipeline: vocabulary, word files, the split, the examples."""

import numpy as np
import pytest

from gpt_from_scratch.data import DataFileError
from gpt_from_scratch.makemore.data import (
    BOUNDARY,
    Vocabulary,
    build_examples,
    examples_by_split,
    load_words,
    split_words,
)

WORDS = ["emma", "olivia", "ava", "isabella", "sophia"]


def test_vocabulary_puts_the_boundary_first_then_sorted_characters():
    vocab = Vocabulary.from_words(WORDS)
    assert vocab.itos[0] == BOUNDARY == "."
    assert vocab.itos[1:] == sorted(set("".join(WORDS)))
    assert vocab.size == len(vocab.itos)
    assert all(vocab.stoi[ch] == i for i, ch in enumerate(vocab.itos))


def test_vocabulary_of_all_letters_has_27_entries():
    vocab = Vocabulary.from_words(["abcdefghijklm", "nopqrstuvwxyz"])
    assert vocab.size == 27 and "".join(vocab.itos) == ".abcdefghijklmnopqrstuvwxyz"


def test_encode_decode_round_trip():
    vocab = Vocabulary.from_words(WORDS)
    for word in WORDS:
        assert vocab.decode(vocab.encode(word)) == word


def test_encode_rejects_unknown_characters():
    vocab = Vocabulary.from_words(WORDS)
    with pytest.raises(ValueError, match="'z' .first at position 0 of 'zoe'"):
        vocab.encode("zoe")


def test_vocabulary_json_round_trip():
    vocab = Vocabulary.from_words(WORDS)
    assert Vocabulary.from_json(vocab.to_json()) == vocab
    with pytest.raises(ValueError, match="itos"):
        Vocabulary.from_json({"chars": "abc"})
    with pytest.raises(ValueError, match="starts with the boundary"):
        Vocabulary(["a", "."])


def test_load_words_strips_and_skips_blank_lines(tmp_path):
    path = tmp_path / "names.txt"
    path.write_text("emma\n\n  ava \r\nolivia\n", encoding="utf-8")
    assert load_words(path) == ["emma", "ava", "olivia"]


@pytest.mark.parametrize("text", ["", "\n\n   \n"])
def test_load_words_rejects_a_file_without_words(tmp_path, text):
    path = tmp_path / "empty.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=r"empty\.txt: no words"):
        load_words(path)


def test_load_words_names_the_line_of_a_character_outside_the_vocabulary(tmp_path):
    path = tmp_path / "names.txt"
    path.write_text("emma\nava\n\nzoë\n", encoding="utf-8")
    vocab = Vocabulary(list(".abcdefghijklmnopqrstuvwxyz"))
    with pytest.raises(ValueError, match=r"names\.txt, line 4: character 'ë' in 'zoë'"):
        load_words(path, vocab)
    assert load_words(path)[-1] == "zoë"  # without a vocabulary any character is a character


def test_load_words_rejects_the_boundary_inside_a_word(tmp_path):
    path = tmp_path / "names.txt"
    path.write_text("emma\nj.r.r\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 2: character '.' in 'j.r.r' is the word boundary"):
        load_words(path)


def test_load_words_names_the_line_that_is_not_utf8(tmp_path):
    path = tmp_path / "names.txt"
    path.write_bytes(b"emma\n\xffava\n")
    with pytest.raises(ValueError, match="line 2: not UTF-8"):
        load_words(path)


def snapshot(folder):
    return {p: p.read_bytes() if p.is_file() else None for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, r"names\.txt: no such file"),
        ("folder", r"names\.txt: is a folder, not a text file"),
        (b"", r"names\.txt: no words \(the file is empty\)"),
        (b"\n", r"names\.txt: no words \(its 1 line is blank\)"),
        (b"  \n\t\n\r\n", r"names\.txt: no words \(its 3 lines are blank\)"),
        (b"emma\nava\n\x80\n", r"names\.txt, line 3: not UTF-8 text \(byte 9: invalid start"),
        (b"emma\nann.a\n", r"names\.txt, line 2: character '\.' in 'ann\.a' is the word boundary"),
        (b"emma\n\nZoe\n", r"names\.txt, line 3: character 'Z' in 'Zoe' is not in the vocab"),
    ],
)
def test_load_words_says_what_is_wrong_and_where(tmp_path, content, message):
    path = tmp_path / "names.txt"
    if content == "folder":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    before = snapshot(tmp_path)
    vocab = Vocabulary(list(".abcdefghijklmnopqrstuvwxyz"))
    with pytest.raises(DataFileError, match=message) as caught:
        load_words(path, vocab)
    assert "\n" not in str(caught.value) and isinstance(caught.value, ValueError)
    assert snapshot(tmp_path) == before


def test_split_is_a_partition_and_follows_the_fractions():
    words = [f"w{i}" for i in range(1000)]
    train, dev, test = split_words(words, seed=42)
    assert (len(train), len(dev), len(test)) == (800, 100, 100)
    assert sorted(train + dev + test) == sorted(words)
    assert not (set(train) & set(dev) or set(train) & set(test) or set(dev) & set(test))


def test_split_is_deterministic_and_depends_on_the_seed():
    words = [f"w{i}" for i in range(100)]
    assert split_words(words, seed=7) == split_words(words, seed=7)
    assert split_words(words, seed=7) != split_words(words, seed=8)
    assert split_words(words, seed=7)[0] != words[:80]  # shuffled


def test_split_rejects_bad_fractions():
    with pytest.raises(ValueError, match="summing to 1"):
        split_words(WORDS, fractions=(0.8, 0.1, 0.2))


def test_build_examples_slides_a_padded_context_along_each_word():
    vocab = Vocabulary.from_words(["emma"])  # . e m a -> 0 2 3 1
    X, Y = build_examples(["emma"], vocab, block_size=3)
    assert X.dtype == np.int64 and Y.dtype == np.int64
    assert X.tolist() == [[0, 0, 0], [0, 0, 2], [0, 2, 3], [2, 3, 3], [3, 3, 1]]
    assert Y.tolist() == [2, 3, 3, 1, 0]


def test_build_examples_gives_one_example_per_character_plus_the_end():
    vocab = Vocabulary.from_words(WORDS)
    X, Y = build_examples(WORDS, vocab, block_size=1)
    assert X.shape == (sum(len(w) + 1 for w in WORDS), 1) and Y.shape == (len(X),)
    assert (Y == 0).sum() == len(WORDS) == (X[:, 0] == 0).sum()


def test_build_examples_of_no_words_is_empty_and_rejects_block_size_0():
    vocab = Vocabulary.from_words(WORDS)
    X, Y = build_examples([], vocab, block_size=3)
    assert X.shape == (0, 3) and Y.shape == (0,)
    with pytest.raises(ValueError, match="block_size"):
        build_examples(WORDS, vocab, block_size=0)


def test_examples_by_split_follows_the_seeded_split():
    words = [f"{a}{b}" for a in "abcde" for b in "fghij"]
    vocab = Vocabulary.from_words(words)
    splits = examples_by_split(words, vocab, block_size=2, seed=5)
    for name, part in zip(("train", "dev", "test"), split_words(words, seed=5), strict=True):
        X, Y = build_examples(part, vocab, block_size=2)
        assert np.array_equal(splits[name][0], X) and np.array_equal(splits[name][1], Y)
    one_word = split_words(["ab"])
    names_with_words = [n for n, p in zip(("train", "dev", "test"), one_word, strict=True) if p]
    assert list(examples_by_split(["ab"], vocab, block_size=2)) == names_with_words
