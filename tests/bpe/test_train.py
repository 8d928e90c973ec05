"""The fast trainer learns exactly the plain trainer's merges."""

import random
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpt_from_scratch.bpe import RegexTokenizer, get_stats, train_fast, train_plain
from gpt_from_scratch.bpe.regex_tokenizer import GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN
from gpt_from_scratch.bpe.train_fast import merge_with_delta


def made_up_corpus(seed: int, words: int) -> str:
    """Text with Zipf-like word frequencies, digits, punctuation, newlines and non-ASCII."""
    rng = random.Random(seed)
    lexicon = ["the", "cat", "sat", "on", "mat", "aaaa", "naïve", "東京", "😀😀", "1234", "it's"]
    lexicon += ["".join(rng.choices("abcdeé", k=rng.randint(1, 7))) for _ in range(40)]
    weights = [1 / (rank + 1) for rank in range(len(lexicon))]
    pieces = []
    for word in rng.choices(lexicon, weights, k=words):
        pieces.append(word + rng.choice([" ", " ", " ", ", ", ".\n", "!!", "\n\n", "  "]))
    return "".join(pieces)


CORPORA = {
    "wikipedia": "aaabdaaabac",
    "repeats": "aaaaaaaaaaaaaaaaaaaabababababababab" * 3,
    "made-up-1": made_up_corpus(1, 400),
    "made-up-2": made_up_corpus(2, 700),
}


@pytest.mark.parametrize("name", list(CORPORA))
@pytest.mark.parametrize("pattern", ["none", "gpt2", "gpt4"])
@pytest.mark.parametrize("num_merges", [5, 60, 300])
def test_fast_merges_equal_plain_merges(name, pattern, num_merges):
    text = CORPORA[name]
    if pattern == "none":
        chunks = [text.encode("utf-8")]
    else:
        split_pattern = GPT2_SPLIT_PATTERN if pattern == "gpt2" else GPT4_SPLIT_PATTERN
        chunks = [chunk.encode("utf-8") for chunk in RegexTokenizer(split_pattern).split(text)]
    assert train_fast(chunks, num_merges) == train_plain(chunks, num_merges)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 3), max_size=30), st.integers(0, 3), st.integers(0, 3))
def test_merge_with_delta_equals_the_change_in_a_full_recount(ids, first, second):
    new_ids, delta = merge_with_delta(ids, (first, second), 9)
    before, after = Counter(get_stats(ids)), Counter(get_stats(new_ids))
    expected = Counter(after)
    expected.subtract(before)
    assert {p: c for p, c in delta.items() if c} == {p: c for p, c in expected.items() if c}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.text(alphabet="ab c\n", max_size=12), min_size=1, max_size=12),
    st.integers(1, 25),
)
def test_fast_equals_plain_on_drawn_chunks(texts, num_merges):
    chunks = [text.encode("utf-8") for text in texts]
    assert train_fast(chunks, num_merges) == train_plain(chunks, num_merges)
