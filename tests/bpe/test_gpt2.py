"""GPT2Tokenizer, rebuilt from r50k_base's ranks, equals tiktoken's r50k_base."""

import functools
import os

import pytest

from gpt_from_scratch import data
from gpt_from_scratch.bpe import GPT2_SPLIT_PATTERN
from gpt_from_scratch.bpe.gpt2 import (
    GPT2_SPECIAL_TOKENS,
    GPT2Tokenizer,
)
from gpt_from_scratch.bpe.gpt4 import load_ranks

SAMPLES = [
    "",
    " SolidGoldMagikarp",
    "hello world!!!? (안녕하세요!) lol123 😉",
    "def f(x):\n    if x:\n        return x**2   \n",
    "I'M SURE YOU'LL SEE, it's 12345678 ×÷ 3.14159",
]


def skip_or_fail(reason):
    if os.environ.get("GPT_FROM_SCRATCH_REQUIRE_ORACLES") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def ranks_path():
    try:
        return data.path("r50k_base")
    except data.DataError as err:
        skip_or_fail(f"r50k_base is not available: {err}")


@pytest.fixture(scope="module")
def gpt2(ranks_path):
    return GPT2Tokenizer(ranks_path)


@functools.cache
def _tiktoken_r50k(tiktoken, path):
    from tiktoken.load import load_tiktoken_bpe

    return tiktoken.Encoding(
        name="r50k_base_offline",
        pat_str=GPT2_SPLIT_PATTERN,
        mergeable_ranks=load_tiktoken_bpe(
            str(path), expected_hash=data.DATASETS["r50k_base"].sha256
        ),
        special_tokens=GPT2_SPECIAL_TOKENS,
    )


@pytest.fixture
def r50k(tiktoken, ranks_path):
    return _tiktoken_r50k(tiktoken, ranks_path)


def test_vocab_matches_the_file(gpt2, ranks_path):
    ranks = load_ranks(ranks_path)
    assert len(gpt2.vocab) == len(ranks) == 50256
    assert all(gpt2.vocab[rank] == token for token, rank in ranks.items())
    assert gpt2.byte_ids[ord("!")] == 0 and gpt2.byte_ids[ord(" ")] == 220
    assert gpt2.vocab_size == 50257


def test_solidgoldmagikarp_is_one_token(gpt2):
    assert gpt2.encode(" SolidGoldMagikarp") == [43453]
    assert len(gpt2.encode("SolidGoldMagikarp")) > 1


def test_each_space_of_an_indent_is_a_token(gpt2):
    assert gpt2.encode("        x") == [220] * 7 + gpt2.encode(" x")


def test_train_is_refused(gpt2):
    with pytest.raises(NotImplementedError):
        gpt2.train("text", 300)


@pytest.mark.oracle
@pytest.mark.parametrize("text", SAMPLES)
def test_ids_equal_tiktoken_on_samples(gpt2, r50k, text):
    assert gpt2.encode_ordinary(text) == r50k.encode_ordinary(text)


@pytest.mark.oracle
def test_ids_equal_tiktoken_on_taylorswift(gpt2, r50k, dataset):
    text = dataset("taylorswift").read_text(encoding="utf-8")
    ids = gpt2.encode(text)
    assert ids == r50k.encode(text)
    assert gpt2.decode(ids) == text
    special = "<|endoftext|>hi"
    assert gpt2.encode(special, allowed_special="all") == r50k.encode(
        special, allowed_special="all"
    )
