"""Pair statistics, merging, the tie-break rule and the Wikipedia example."""

from gpt_from_scratch.bpe import BasicTokenizer, get_stats, merge, train_plain
from gpt_from_scratch.bpe.base import best_pair, build_vocab, render_token


def test_get_stats_counts_adjacent_pairs_and_accumulates():
    counts = get_stats([1, 2, 3, 1, 2])
    assert counts == {(1, 2): 2, (2, 3): 1, (3, 1): 1}
    get_stats([1, 2], counts)
    assert counts[1, 2] == 3


def test_merge_replaces_left_to_right_without_overlap():
    assert merge([1, 2, 3, 1, 2], (1, 2), 4) == [4, 3, 4]
    assert merge([5, 5, 5, 5, 5], (5, 5), 6) == [6, 6, 5]
    assert merge([1], (1, 2), 4) == [1]


def test_best_pair_is_highest_count_then_smallest_pair():
    assert best_pair({(9, 9): 1, (3, 4): 5, (2, 7): 5, (1, 1): 4}) == (2, 7)


def test_wikipedia_example_gives_the_three_known_merges_and_ids():
    # aaabdaaabac -> ZabdZabac (Z=aa) -> ZYdZYac (Y=ab) -> XdXac (X=ZY)
    tokenizer = BasicTokenizer()
    tokenizer.train("aaabdaaabac", vocab_size=256 + 3, fast=False)
    a, b, c, d = (ord(ch) for ch in "abcd")
    assert tokenizer.merges == {(a, a): 256, (a, b): 257, (256, 257): 258}
    assert tokenizer.encode("aaabdaaabac") == [258, d, 258, a, c]
    assert tokenizer.vocab[258] == b"aaab"
    assert tokenizer.decode([258, d, 258, a, c]) == "aaabdaaabac"


def test_training_stops_when_nothing_is_left_to_merge():
    assert train_plain([b"ab", b"c"], 10) == [((97, 98), 1)]


def test_vocab_follows_a_byte_permutation():
    byte_ids = list(reversed(range(256)))
    vocab = build_vocab({(255 - ord("h"), 255 - ord("i")): 256}, byte_ids)
    assert vocab[255 - ord("h")] == b"h" and vocab[256] == b"hi"


def test_render_token_escapes_control_characters():
    assert render_token(b"a\nb\t") == "a\\u000ab\\u0009"
    assert render_token(b"\xe2\x82") == "\ufffd"
