"""GPT4Tokenizer equals tiktoken's cl100k_base, token for token."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpt_from_scratch.bpe.gpt4 import bpe_parts, load_ranks

pytestmark = pytest.mark.oracle

# The oracle fixture is built once and never changes, so sharing it across drawn inputs is safe.
SHARED_FIXTURES = [HealthCheck.function_scoped_fixture]

SAMPLES = [
    "",
    "hello world!!!? (안녕하세요!) lol123 😉",
    "    indented code\n\n\n\tdef f(x):  \r\n  return x**2   ",
    "I'M SURE YOU'LL SEE, it's 12345678 ×÷ 3.14159",
    "<|endoftext|> is only text here",
]


def test_published_example(gpt4):
    assert gpt4.encode("hello world!!!? (안녕하세요!) lol123 😉") == [
        15339, 1917, 12340, 30, 320, 31495, 230, 75265, 243, 92245, 16715, 28509, 4513, 57037,
    ]  # fmt: skip


def test_the_single_bytes_are_a_permutation_and_vocab_matches_the_file(gpt4, dataset):
    ranks = load_ranks(dataset("cl100k_base"))
    assert sorted(gpt4.byte_ids) == list(range(256)) and gpt4.byte_ids[ord("!")] == 0
    assert len(gpt4.vocab) == len(ranks) == 100256
    assert all(gpt4.vocab[rank] == token for token, rank in ranks.items())


@pytest.mark.parametrize("name", ["taylorswift", "tinyshakespeare"])
def test_ids_equal_tiktoken_on_the_data_sets(gpt4, cl100k, dataset, name):
    text = dataset(name).read_text(encoding="utf-8")
    ids = gpt4.encode(text)
    assert ids == cl100k.encode(text)
    assert gpt4.decode(ids) == text


@pytest.mark.parametrize("text", SAMPLES)
def test_ids_equal_tiktoken_on_samples(gpt4, cl100k, text):
    assert gpt4.encode_ordinary(text) == cl100k.encode_ordinary(text)


# Characters assigned in Python's Unicode database (14.0). A code point that it leaves
# unassigned, such as U+323B0, can be a letter to the regex module, which follows a newer
# Unicode, and not to tiktoken's tables: the two split patterns then cut differently.
ASSIGNED = st.characters(exclude_categories=("Cn", "Cs"))


@settings(max_examples=300, deadline=None, suppress_health_check=SHARED_FIXTURES)
@given(text=st.text(ASSIGNED, max_size=60))
def test_ids_equal_tiktoken_on_drawn_strings(gpt4, cl100k, text):
    assert gpt4.encode_ordinary(text) == cl100k.encode_ordinary(text)
    assert gpt4.decode(cl100k.encode_ordinary(text)) == cl100k.decode(cl100k.encode_ordinary(text))


@settings(max_examples=100, deadline=None, suppress_health_check=SHARED_FIXTURES)
@given(pieces=st.lists(st.sampled_from(["a", "A", " ", "1", "\n", "\r", "'s", "é", "😉", "!"])))
def test_ids_equal_tiktoken_on_drawn_tricky_strings(gpt4, cl100k, pieces):
    text = "".join(pieces)
    assert gpt4.encode_ordinary(text) == cl100k.encode_ordinary(text)


SPECIAL_TEXT = "<|fim_prefix|>def f(<|fim_suffix|>)<|fim_middle|><|endoftext|><|endofprompt|>"


@pytest.mark.parametrize(
    "allowed", ["all", {"<|endoftext|>"}, {"<|fim_prefix|>", "<|fim_suffix|>"}, set()]
)
def test_special_tokens_behave_as_in_tiktoken(gpt4, cl100k, allowed):
    for disallowed in ["all", ()]:
        try:
            expected = cl100k.encode(
                SPECIAL_TEXT, allowed_special=allowed, disallowed_special=disallowed
            )
        except ValueError:
            with pytest.raises(ValueError, match="disallowed"):
                gpt4.encode(SPECIAL_TEXT, allowed_special=allowed, disallowed_special=disallowed)
        else:
            got = gpt4.encode(SPECIAL_TEXT, allowed_special=allowed, disallowed_special=disallowed)
            assert got == expected


def test_special_token_ids(gpt4, cl100k):
    assert gpt4.encode("<|endofprompt|>", allowed_special="all") == [100276]
    assert gpt4.special_tokens == cl100k._special_tokens


def test_bpe_parts_recovers_the_merge_of_a_token():
    ranks = {b"a": 0, b"b": 1, b"ab": 2, b"aab": 3, b"aa": 4}
    # "aa" has rank 4 > 3, so "aab" is "a" + "ab"
    assert bpe_parts(ranks, b"aab", max_rank=3) == [b"a", b"ab"]


def test_bad_ranks_file_names_the_line(tmp_path):
    bad = tmp_path / "bad.tiktoken"
    bad.write_bytes(b"IQ== 0\nnot-base64! 1\n")
    with pytest.raises(ValueError, match=r"bad.tiktoken, line 2"):
        load_ranks(bad)
