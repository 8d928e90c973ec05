"""Model files: round trips, atomic writes, and errors that name the file and line."""

import json
import re

import pytest

from gpt_from_scratch.bpe import BasicTokenizer, ModelFileError, RegexTokenizer, Tokenizer
from gpt_from_scratch.bpe.regex_tokenizer import GPT2_SPLIT_PATTERN

TEXT = "the cat sat on the mat; the cat ate the rat. 東京 😀 1234 it's\n" * 10


@pytest.fixture
def regex_tokenizer():
    tokenizer = RegexTokenizer(GPT2_SPLIT_PATTERN)
    tokenizer.train(TEXT, 256 + 40)
    tokenizer.register_special_tokens({"<|endoftext|>": 400, 'say "hi"\n': 401})
    return tokenizer


def test_regex_tokenizer_round_trips(tmp_path, regex_tokenizer):
    model_path, vocab_path = regex_tokenizer.save(tmp_path / "toy")
    assert model_path.name == "toy.model" and vocab_path.name == "toy.vocab"
    loaded = RegexTokenizer.load(model_path)
    assert loaded.pattern == GPT2_SPLIT_PATTERN
    assert loaded.special_tokens == regex_tokenizer.special_tokens
    assert loaded.merges == regex_tokenizer.merges and loaded.vocab == regex_tokenizer.vocab
    assert loaded.encode(TEXT, allowed_special="all") == regex_tokenizer.encode(
        TEXT, allowed_special="all"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy.model", "toy.vocab"]


def test_basic_tokenizer_round_trips_and_vocab_file_is_readable(tmp_path):
    tokenizer = BasicTokenizer()
    tokenizer.train(TEXT, 256 + 20)
    model_path, vocab_path = tokenizer.save(tmp_path / "basic")
    assert BasicTokenizer.load(model_path).merges == tokenizer.merges
    vocab_lines = vocab_path.read_text(encoding="utf-8").splitlines()
    assert vocab_lines[10] == "[\\u000a] 10"
    assert re.fullmatch(r"\[.\]\[.\] -> \[..\] 256", vocab_lines[256])


def test_a_byte_permutation_round_trips(tmp_path):
    # GPT-4's single bytes have shuffled ids; here byte b has id 255 - b, and "hi" is a merge
    tokenizer = RegexTokenizer(byte_ids=[255 - b for b in range(256)])
    tokenizer.set_merges({(255 - ord("h"), 255 - ord("i")): 256})
    model_path, _ = tokenizer.save(tmp_path / "shuffled")
    loaded = RegexTokenizer.load(model_path)
    assert loaded.byte_ids == tokenizer.byte_ids
    assert loaded.encode("hi!") == tokenizer.encode("hi!") == [256, 255 - ord("!")]
    assert loaded.decode([256]) == "hi"


def test_training_needs_the_identity_byte_order():
    tokenizer = RegexTokenizer(byte_ids=[255 - b for b in range(256)])
    with pytest.raises(ValueError, match="byte order"):
        tokenizer.train("abc abc", 260)


def write_model(tmp_path, text):
    path = tmp_path / "bad.model"
    path.write_text(text, encoding="utf-8")
    return path


GOOD_HEAD = 'gpt_from_scratch.bpe v1\npattern ""\nspecial 0\nbytes identity\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gpt_from_scratch.bpe v9\n", r"bad.model, line 1: unknown version"),
        (GOOD_HEAD + "merges 2\n97 97\n256 999\n", r"bad.model, line 7: .*unknown token 999"),
        (GOOD_HEAD + "merges 3\n97 97\n256 97\n", r"bad.model, line 8: file ends early"),
        ("gpt_from_scratch.bpe v1\npattern \n", r"bad.model, line 2: expected a JSON string"),
        ('gpt_from_scratch.bpe v1\npattern ""\nspecial x\n', r"line 3: expected an integer"),
        (GOOD_HEAD + "merges 1\n97\n", r"line 6: expected a merge 'first second'"),
        (GOOD_HEAD.replace("identity", "1 2 3") + "merges 0\n", r"line 4: expected 'bytes"),
        (GOOD_HEAD + "merges 2\n97 97\n97 97\n", r"line 7: merge \(97, 97\) appears twice"),
        (GOOD_HEAD + "merges 1\n97 97\n1 2\n", r"line 7: unexpected line after the last merge"),
        ("", r"bad.model, line 1: unknown version ''"),
    ],
)
def test_bad_model_files_name_the_file_and_line(tmp_path, text, message):
    with pytest.raises(ModelFileError, match=message):
        RegexTokenizer.load(write_model(tmp_path, text))


def test_a_binary_file_is_a_clear_error(tmp_path):
    path = tmp_path / "binary.model"
    path.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ModelFileError, match="binary.model: not a UTF-8 text file"):
        RegexTokenizer.load(path)


def test_basic_tokenizer_refuses_a_model_with_a_pattern(tmp_path, regex_tokenizer):
    model_path, _ = regex_tokenizer.save(tmp_path / "toy")
    with pytest.raises(ModelFileError, match="toy.model: BasicTokenizer .*use RegexTokenizer"):
        BasicTokenizer.load(model_path)


def snapshot(folder):
    """Every file under ``folder`` with its bytes: what a load must leave unchanged."""
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def head(pattern="", special=()):
    """The lines of a model file up to its merges: a pattern and special tokens (text, id)."""
    lines = ["gpt_from_scratch.bpe v1", f"pattern {json.dumps(pattern)}", f"special {len(special)}"]
    lines += [f"{json.dumps(text)} {idx}" for text, idx in special]
    return "\n".join(lines) + "\nbytes identity\n"


ONE_MERGE = "merges 1\n97 97\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (head("(unclosed") + ONE_MERGE, r"line 2: split pattern '\(unclosed' does not compile"),
        (head(r"(\w+)|\W") + ONE_MERGE, r"line 2: split pattern .* has 1 capture group\(s\)"),
        (head(r"\w+") + ONE_MERGE, r"line 2: split pattern '\\\\w\+' drops the characters ' "),
        (head(special=[("<|x|>", 97)]) + ONE_MERGE, r"line 4: .*id 97 is a byte's id"),
        (head(special=[("<|x|>", 256)]) + ONE_MERGE, r"line 4: .*id 256 is already .* a merge"),
        (
            head(special=[("<|x|>", 300), ("<|y|>", 300)]) + ONE_MERGE,
            r"line 5: special token '<\|y\|>': id 300 is already the id of special token",
        ),
        (
            head(special=[("<|x|>", 300), ("<|x|>", 301)]) + ONE_MERGE,
            r"line 5: special token '<\|x\|>' appears twice \(first on line 4\)",
        ),
        (head(special=[("", 300)]) + ONE_MERGE, r"line 4: special token '': .*non-empty string"),
        (head(special=[("<|x|>", -1)]) + ONE_MERGE, r"line 4: .*id must be an int >= 0, got -1"),
        (head().replace("special 0", "special -1") + ONE_MERGE, r"line 3: .*count >= 0, found -1"),
        (head() + "merges -2\n", r"line 5: expected a count >= 0, found -2"),
    ],
)
def test_a_model_file_is_checked_fully(tmp_path, text, message):
    path = write_model(tmp_path, text)
    before = snapshot(tmp_path)
    with pytest.raises(ModelFileError, match=r"bad\.model, " + message) as caught:
        RegexTokenizer.load(path)
    assert "\n" not in str(caught.value)
    assert snapshot(tmp_path) == before


def test_a_good_model_file_with_every_check_passes(tmp_path):
    path = write_model(tmp_path, head(GPT2_SPLIT_PATTERN, [("<|x|>", 257)]) + ONE_MERGE)
    loaded = RegexTokenizer.load(path)
    assert loaded.special_tokens == {"<|x|>": 257} and loaded.merges == {(97, 97): 256}


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda folder: folder / "nothing.model", r"nothing\.model: cannot read the model file"),
        (lambda folder: folder, r": is a folder, not a \.model file"),
    ],
)
def test_a_missing_model_file_or_a_folder_is_named(tmp_path, make, message):
    before = snapshot(tmp_path)
    with pytest.raises(ModelFileError, match=message):
        RegexTokenizer.load(make(tmp_path))
    assert snapshot(tmp_path) == before


def test_a_byte_that_is_not_utf8_is_named_by_line_and_offset(tmp_path):
    path = tmp_path / "binary.model"
    path.write_bytes(b'gpt_from_scratch.bpe v1\npattern "\xff"\n')
    with pytest.raises(ModelFileError, match=r"binary\.model: not a UTF-8 .*line 2, byte 33"):
        RegexTokenizer.load(path)


class LossyTokenizer(RegexTokenizer):
    """A tokenizer whose encode loses the last character: the load's round trip must see it."""

    def encode_ordinary(self, text):
        return super().encode_ordinary(text[:-1])


def test_a_tokenizer_that_does_not_round_trip_the_probe_is_refused(tmp_path):
    path = write_model(tmp_path, head(GPT2_SPLIT_PATTERN) + ONE_MERGE)
    with pytest.raises(ModelFileError, match=r"bad\.model, line 5: the merges do not give"):
        LossyTokenizer.load(path)


def test_merges_whose_ids_have_a_gap_cannot_be_saved(tmp_path):
    tokenizer = RegexTokenizer()
    tokenizer.set_merges({(97, 97): 256, (98, 98): 258})
    with pytest.raises(ValueError, match=r"numbers the merges 256, 257, .* a gap or a repeat"):
        tokenizer.save(tmp_path / "new" / "gap")
    assert list(tmp_path.iterdir()) == []


def test_the_base_class_reads_a_model_file_it_cannot_encode_with(tmp_path, regex_tokenizer):
    model_path, _ = regex_tokenizer.save(tmp_path / "toy")
    saved = Tokenizer.load(model_path)
    assert saved.pattern == GPT2_SPLIT_PATTERN and saved.merges == regex_tokenizer.merges
