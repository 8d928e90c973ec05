"""GPT-2's byte encoder: one visible character for each of the 256 byte values.

GPT-2's tokenizer files are text: ``encoder.json`` maps each token, written as a
string, to its id, and ``vocab.bpe`` holds one merge per line, two tokens separated by
a space. A token's bytes, though, can be anything: a space, a newline, a control byte,
half of a UTF-8 character. Written as they are, a space would break the line format,
and a lone byte such as 0xE2 would not be valid text at all. So each byte gets a
stand-in character, and a token is written as the stand-ins of its bytes.

The rule: a byte that is a visible character of Latin-1 (printable, and not a space)
stands for itself, so ``a`` is ``a`` and ``é`` (0xE9) is ``é``; the remaining 68 bytes
(the space, the control bytes, DEL, the no-break space and the soft hyphen) take the
characters from U+0100 on, in byte order. The space becomes ``Ġ`` (U+0120) and the
newline ``Ċ`` (U+010A), which is why GPT-2's vocabulary is full of words that start
with ``Ġ``.
"""

from __future__ import annotations

FIRST_SPARE = 0x100  # the first code point past Latin-1, where the stand-ins begin


def visible(byte: int) -> bool:
    """Whether the Latin-1 character with code ``byte`` shows as itself: printable,
    and not a space.

    >>> visible(ord("a")), visible(ord(" ")), visible(0x0A), visible(0xE9)
    (True, False, False, True)
    """
    character = chr(byte)
    return character.isprintable() and not character.isspace()


def bytes_to_unicode() -> dict[int, str]:
    """Byte value -> the character that stands for it in GPT-2's vocabulary files.

    >>> table = bytes_to_unicode()
    >>> table[ord("a")], table[ord(" ")], table[ord("\\n")], table[0]
    ('a', 'Ġ', 'Ċ', 'Ā')
    """
    table = {}
    spare = FIRST_SPARE
    for byte in range(256):
        if visible(byte):
            table[byte] = chr(byte)
        else:
            table[byte] = chr(spare)
            spare += 1
    return table


def unicode_to_bytes() -> dict[str, int]:
    """The inverse table: stand-in character -> byte value."""
    return {character: byte for byte, character in bytes_to_unicode().items()}


def token_to_text(token: bytes) -> str:
    """A token's bytes as GPT-2's files write it.

    >>> token_to_text(b" hello\\n")
    'ĠhelloĊ'
    """
    table = bytes_to_unicode()
    return "".join(table[byte] for byte in token)


def text_to_token(text: str) -> bytes:
    """The bytes of a token written as GPT-2's files write it.

    >>> text_to_token("ĠhelloĊ")
    b' hello\\n'
    """
    inverse = unicode_to_bytes()
    return bytes(inverse[character] for character in text)
