"""How fast the tokenizer trains and encodes, against the plain trainer and against tiktoken.

1. Training a GPT-4-pattern RegexTokenizer to vocabulary 512 on taylorswift.txt: the plain
   trainer (recount every pair for every merge) versus the fast one (deduplicated chunks, local
   count updates, a heap). The merges must be identical. Target: fast at least 20x faster.
2. Encoding taylorswift.txt with GPT4Tokenizer (cold cache) versus tiktoken's cl100k_base
   (Rust), both built offline from the same ranks file. Target: within 20x of tiktoken.

Run: python benchmarks/bpe_speed.py
"""

import time

from gpt_from_scratch import data
from gpt_from_scratch.bpe import GPT4_SPECIAL_TOKENS, GPT4Tokenizer, RegexTokenizer
from gpt_from_scratch.bpe.base import train_plain
from gpt_from_scratch.bpe.regex_tokenizer import GPT4_SPLIT_PATTERN
from gpt_from_scratch.bpe.train_fast import train_fast

VOCAB_SIZE = 512


def seconds(function, *args, repeat=1):
    """The best wall time of ``repeat`` calls, and the last result."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = function(*args)
        best = min(best, time.perf_counter() - start)
    return best, result


def bench_training(text: str) -> None:
    chunks = [chunk.encode("utf-8") for chunk in RegexTokenizer().split(text)]
    fast_s, fast_merges = seconds(train_fast, chunks, VOCAB_SIZE - 256, repeat=3)
    plain_s, plain_merges = seconds(train_plain, chunks, VOCAB_SIZE - 256)
    assert fast_merges == plain_merges, "the fast trainer's merges differ from the plain ones"
    print(f"training to vocab {VOCAB_SIZE} on taylorswift.txt ({len(chunks)} chunks):")
    print(f"  plain trainer  {plain_s:8.3f} s")
    print(f"  fast trainer   {fast_s:8.3f} s   ({plain_s / fast_s:.1f}x faster, merges identical)")


def tiktoken_cl100k():
    try:
        import tiktoken
        from tiktoken.load import load_tiktoken_bpe
    except ImportError:
        return None
    ranks_file = data.path("cl100k_base")
    ranks = load_tiktoken_bpe(str(ranks_file), expected_hash=data.dataset("cl100k_base").sha256)
    return tiktoken.Encoding(
        name="cl100k_base_offline",
        pat_str=GPT4_SPLIT_PATTERN,
        mergeable_ranks=ranks,
        special_tokens=GPT4_SPECIAL_TOKENS,
    )


def bench_encoding(text: str) -> None:
    load_s, ours = seconds(GPT4Tokenizer)
    print(f"GPT4Tokenizer: built from the cl100k_base ranks in {load_s:.2f} s")

    def encode_cold(text):
        ours.cache.clear()
        return ours.encode(text)

    ours_s, ids = seconds(encode_cold, text, repeat=3)
    warm_s, _ = seconds(ours.encode, text, repeat=3)
    print(f"encoding taylorswift.txt ({len(text)} characters, {len(ids)} tokens):")
    print(f"  GPT4Tokenizer  {ours_s:8.3f} s cold cache, {warm_s:.3f} s warm")
    reference = tiktoken_cl100k()
    if reference is None:
        print("  tiktoken is not installed: no comparison")
        return
    tiktoken_s, expected = seconds(reference.encode, text, repeat=3)
    assert ids == expected, "GPT4Tokenizer's ids differ from tiktoken's"
    ratio = ours_s / tiktoken_s
    print(f"  tiktoken       {tiktoken_s:8.3f} s   (ours is {ratio:.1f}x slower, cold cache)")


def main() -> None:
    text = data.read_text("taylorswift")
    bench_training(text)
    bench_encoding(text)


if __name__ == "__main__":
    main()
