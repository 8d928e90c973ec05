"""Round trips, the split patterns and special tokens of our own trained tokenizers."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpt_from_scratch.bpe import (
    GPT2_SPLIT_PATTERN,
    GPT4_SPLIT_PATTERN,
    BasicTokenizer,
    RegexTokenizer,
)

TRAINING_TEXT = (
    "Byte pair encoding merges the most frequent pair of tokens, again and again. "
    "Ünïcödé text, 東京 and emoji 😀🎉 are bytes too: 1234567 + 89 = 1234656!\n\n" * 20
)
MIXED = "hello world!!!? (안녕하세요!) lol123 😉 naïve café Ωμέγα ١٢٣ 東京\n\n  \t end  "


@pytest.fixture(scope="module")
def basic():
    tokenizer = BasicTokenizer()
    tokenizer.train(TRAINING_TEXT, 256 + 64)
    return tokenizer


@pytest.fixture(scope="module")
def regex_tokenizer():
    tokenizer = RegexTokenizer()
    tokenizer.train(TRAINING_TEXT, 256 + 64)
    tokenizer.register_special_tokens({"<|endoftext|>": 1000, "<|pad|>": 1001})
    return tokenizer


# The tokenizers are trained once and never change, so sharing them across inputs is safe.
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text())
def test_decode_encode_round_trip_on_arbitrary_unicode(basic, regex_tokenizer, text):
    assert basic.decode(basic.encode(text)) == text
    assert regex_tokenizer.decode(regex_tokenizer.encode_ordinary(text)) == text


@pytest.mark.parametrize("text", ["", "a", MIXED, "👩‍👩‍👧‍👦🇯🇵", TRAINING_TEXT])
def test_round_trip_on_emoji_and_mixed_scripts(basic, regex_tokenizer, text):
    assert basic.decode(basic.encode(text)) == text
    assert regex_tokenizer.decode(regex_tokenizer.encode(text)) == text


def test_trained_merges_shorten_the_training_text(basic, regex_tokenizer):
    n_bytes = len(TRAINING_TEXT.encode("utf-8"))
    assert len(basic.encode(TRAINING_TEXT)) < n_bytes / 2
    assert len(regex_tokenizer.encode(TRAINING_TEXT)) < n_bytes / 2


def test_gpt2_split_keeps_words_spaces_numbers_and_punctuation_apart():
    split = RegexTokenizer(GPT2_SPLIT_PATTERN).split
    assert split("Hello world's 123 dogs!!?   x\n") == [
        "Hello",
        " world",
        "'s",
        " 123",
        " dogs",
        "!!?",
        "  ",
        " x",
        "\n",
    ]


def test_gpt4_split_chunks_numbers_in_threes_and_ignores_case_of_contractions():
    split = RegexTokenizer().split
    assert split("1234567 HE'S here") == ["123", "456", "7", " HE", "'S", " here"]


def test_regex_tokenizer_never_merges_across_chunks(regex_tokenizer):
    for token in regex_tokenizer.vocab.values():
        text = token.decode("utf-8", errors="ignore")
        assert len(regex_tokenizer.split(text)) <= 1


def test_special_tokens_allowed_disallowed_and_as_text(regex_tokenizer):
    text = "one<|endoftext|>two<|pad|>"
    with pytest.raises(ValueError, match=r"'<\|endoftext\|>' at index 3, which is disallowed"):
        regex_tokenizer.encode(text)
    ids = regex_tokenizer.encode(text, allowed_special="all")
    assert ids.count(1000) == 1 and ids[-1] == 1001
    assert regex_tokenizer.decode(ids) == text
    as_text = regex_tokenizer.encode(text, disallowed_special=())
    assert 1000 not in as_text and regex_tokenizer.decode(as_text) == text
    with pytest.raises(ValueError, match="<\\|pad\\|>"):
        regex_tokenizer.encode(text, allowed_special={"<|endoftext|>"})


def test_unknown_special_tokens_and_ids_are_errors(regex_tokenizer):
    with pytest.raises(ValueError, match="unknown special tokens"):
        regex_tokenizer.encode("x", allowed_special={"<|nope|>"})
    with pytest.raises(ValueError, match="invalid token id 5000"):
        regex_tokenizer.decode([5000])
    with pytest.raises(ValueError, match="id 300 is already the id of a merge"):
        regex_tokenizer.register_special_tokens({"<|bad|>": 300})


def test_vocab_size_below_the_bytes_is_an_error():
    with pytest.raises(ValueError, match="at least 256"):
        BasicTokenizer().train("abc", 100)


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("(unclosed", r"split pattern '\(unclosed' does not compile: missing \)"),
        (r"(\w+)|\W", r"has 1 capture group\(s\), and a split keeps only the groups"),
        (r"(?P<word>\w+)|\W", r"has 1 capture group\(s\)"),
        (r"\w+", r"drops the characters ' ;:,.*' of a probe text"),
        (r"\w+|\s", r"drops the characters ';:,.*' of a probe text"),
        (r"[^\n]+", r"drops the characters '\\n' of a probe text"),
        ("", "drops the characters 'Plain ASCI"),
    ],
)
def test_a_split_pattern_that_loses_text_is_refused(pattern, message):
    with pytest.raises(ValueError, match=message):
        RegexTokenizer(pattern)


def test_the_published_patterns_and_scoped_flags_keep_every_character():
    for pattern in (GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN, r"(?i:\w+)|\W"):
        assert RegexTokenizer(pattern).split("hello world!") != ["hello", "world"]
    assert "".join(RegexTokenizer(GPT2_SPLIT_PATTERN).split("hello world!")) == "hello world!"


@pytest.mark.parametrize(
    ("text", "vocab_size", "message"),
    [
        ("", 300, "the training text is empty"),
        (b"abc", 300, "the training text must be a str, got bytes"),
        ("abc", 255, "vocab_size must be at least 256 .*got 255"),
        ("abc", 300.0, "vocab_size must be an int, got float"),
        ("abc", "300", "vocab_size must be an int, got str"),
        ("abc", True, "vocab_size must be an int, got bool"),
    ],
)
@pytest.mark.parametrize("kind", [BasicTokenizer, RegexTokenizer])
def test_training_on_nothing_or_to_a_bad_size_is_refused(kind, text, vocab_size, message):
    tokenizer = kind()
    with pytest.raises(ValueError, match=message):
        tokenizer.train(text, vocab_size)
    assert tokenizer.merges == {}


@pytest.mark.parametrize(
    ("special", "message"),
    [
        ({"<|x|>": 97}, r"'<\|x\|>': id 97 is a byte's id \(0..255 are the bytes\)"),
        ({"": 400}, "special token '': a special token is a non-empty string"),
        ({"<|x|>": -1}, r"its id must be an int >= 0, got -1"),
        ({"<|x|>": "400"}, r"its id must be an int >= 0, got '400'"),
        ({"<|x|>": 400, "<|y|>": 400}, r"'<\|y\|>': id 400 is already the id of special token"),
    ],
)
def test_bad_special_tokens_are_refused(special, message):
    with pytest.raises(ValueError, match=message):
        RegexTokenizer(special_tokens=special)


def test_special_tokens_in_the_way_of_training_are_refused():
    tokenizer = RegexTokenizer(special_tokens={"<|x|>": 260})
    with pytest.raises(ValueError, match=r"\{'<\|x\|>': 260\} have ids below vocab_size=300"):
        tokenizer.train("aaa bbb", 300)
    with pytest.raises(ValueError, match="id 256 is already the id of a merge"):
        RegexTokenizer(special_tokens={"<|x|>": 256}).set_merges({(97, 97): 256})


def test_a_registered_special_token_may_not_take_another_ones_id(regex_tokenizer):
    with pytest.raises(ValueError, match=r"id 1000 is already the id of special token '<\|endo"):
        regex_tokenizer.register_special_tokens({"<|new|>": 1000})
    assert "<|new|>" not in regex_tokenizer.special_tokens
