"""Model files: round trips, atomic writes, and errors that name the file and line."""

import re

import pytest

from gpt_from_scratch.bpe import BasicTokenizer, ModelFileError, RegexTokenizer
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
    with pytest.raises(ValueError, match="use RegexTokenizer"):
        BasicTokenizer.load(model_path)
