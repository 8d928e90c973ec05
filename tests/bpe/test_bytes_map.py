"""GPT-2's byte encoder: a bijection from the 256 bytes onto visible characters, the one
that GPT-2's published files and the ranks of ``r50k_base`` imply."""

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gpt_from_scratch import data
from gpt_from_scratch.bpe.bytes_map import (
    bytes_to_unicode,
    text_to_token,
    token_to_text,
    unicode_to_bytes,
)
from gpt_from_scratch.bpe.gpt4 import load_ranks

# The bytes that GPT-2's encoder keeps as themselves, as its release lists them:
# "!" to "~", "¡" to "¬" and "®" to "ÿ".
KEPT = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]


def test_a_bijection_onto_256_visible_characters():
    table = bytes_to_unicode()
    assert sorted(table) == list(range(256))
    characters = list(table.values())
    assert len(set(characters)) == 256
    assert all(len(c) == 1 and c.isprintable() and not c.isspace() for c in characters)
    assert unicode_to_bytes() == {c: b for b, c in table.items()}


def test_visible_latin1_bytes_stand_for_themselves_and_the_rest_follow_in_order():
    table = bytes_to_unicode()
    assert all(table[b] == chr(b) for b in KEPT)
    others = [b for b in range(256) if b not in KEPT]
    assert len(others) == 68
    assert [table[b] for b in others] == [chr(0x100 + i) for i in range(68)]
    assert (table[ord(" ")], table[ord("\n")], table[0]) == ("Ġ", "Ċ", "Ā")


@given(st.binary(max_size=40))
def test_token_text_round_trips(token):
    text = token_to_text(token)
    assert text_to_token(text) == token
    assert len(text) == len(token) and not any(c.isspace() for c in text)


@pytest.fixture(scope="module")
def r50k_ranks():
    try:
        return load_ranks(data.path("r50k_base"))
    except data.DataError as err:
        if os.environ.get("GPT_FROM_SCRATCH_REQUIRE_ORACLES") == "1":
            pytest.fail(f"r50k_base is not available: {err}")
        pytest.skip(f"r50k_base is not available: {err}")


def test_the_r50k_byte_ranks_are_the_stand_ins_in_code_point_order(r50k_ranks):
    """GPT-2's vocabulary lists the 256 byte tokens first, sorted by their stand-in
    character; r50k_base keeps those ids as the ranks of the single bytes."""
    table = bytes_to_unicode()
    by_character = sorted(range(256), key=lambda b: table[b])
    assert [r50k_ranks[bytes([b])] for b in by_character] == list(range(256))
    assert r50k_ranks[b" "] == 220 and token_to_text(b" ") == "Ġ"
