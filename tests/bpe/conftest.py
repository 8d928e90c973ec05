"""Shared fixtures of the tokenizer tests: cl100k is built once per session, ours and tiktoken's."""

import functools

import pytest

from gpt_from_scratch import data
from gpt_from_scratch.bpe import GPT4_SPECIAL_TOKENS, GPT4_SPLIT_PATTERN, GPT4Tokenizer


@pytest.fixture(scope="session")
def gpt4(dataset):
    return GPT4Tokenizer(dataset("cl100k_base"))


@functools.cache
def _tiktoken_cl100k(tiktoken):
    """tiktoken's cl100k_base built offline from the data file (tiktoken downloads nothing)."""
    from tiktoken.load import load_tiktoken_bpe

    ranks_file = data.path("cl100k_base")
    ranks = load_tiktoken_bpe(str(ranks_file), expected_hash=data.dataset("cl100k_base").sha256)
    return tiktoken.Encoding(
        name="cl100k_base_offline",
        pat_str=GPT4_SPLIT_PATTERN,
        mergeable_ranks=ranks,
        special_tokens=GPT4_SPECIAL_TOKENS,
    )


@pytest.fixture
def cl100k(tiktoken):
    """The oracle: tiktoken's cl100k_base (skips, or fails in CI, without tiktoken)."""
    return _tiktoken_cl100k(tiktoken)
