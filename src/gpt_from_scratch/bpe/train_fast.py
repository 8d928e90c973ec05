"""Fast BPE training: after each merge, update only the pair counts the merge touched.

The plain loop (:func:`~gpt_from_scratch.bpe.base.train_plain`) recounts every pair of the whole
corpus for every merge. Three ideas make it fast, and none changes the result:

1. **Deduplicated chunks.** A regex split yields the same chunk (`" the"`) thousands of times;
   we keep each distinct chunk once, with its count, and weight its pairs by that count.
2. **Local updates.** Merging pair ``(a, b)`` only changes pairs that overlap an occurrence of
   it, in the chunks that contain it (an index ``pair -> chunks`` finds them).
3. **A priority queue.** A heap of ``(-count, pair)`` gives the next merge; entries whose count
   went stale are skipped when popped (lazy deletion) instead of being searched for.

The tie-break is the plain loop's: highest count, then smallest pair, so the merges are equal.
The gain comes from the split: on one unsplit text (``BasicTokenizer``) every merge still scans
the whole sequence once, and the fast trainer is only a few times faster than the plain one.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Callable, Iterable
from itertools import pairwise

from .base import Pair


def merge_with_delta(ids: list[int], pair: Pair, idx: int) -> tuple[list[int], Counter]:
    """Merge ``pair`` into ``idx`` in ``ids`` and return the change in pair counts.

    Only pairs touching a merged position change: each merge at ``i`` removes the
    pairs that start at ``i - 1``, ``i`` and ``i + 1`` and adds the pairs around the
    new token. Positions are collected in sets first, so two adjacent merges never
    count a shared pair twice.

    >>> new, delta = merge_with_delta([1, 2, 3, 1, 2], (1, 2), 9)
    >>> new, dict(delta)
    ([9, 3, 9], {(1, 2): -2, (2, 3): -1, (3, 1): -1, (9, 3): 1, (3, 9): 1})
    """
    first, second = pair
    new_ids: list[int] = []
    # removed: positions i in ids of removed pairs (ids[i], ids[i + 1]);
    # added: positions j in new_ids of added pairs (new_ids[j], new_ids[j + 1])
    removed: set[int] = set()
    added: set[int] = set()
    i, n = 0, len(ids)
    while i < n:
        if ids[i] == first and i + 1 < n and ids[i + 1] == second:
            removed.update(p for p in (i - 1, i, i + 1) if 0 <= p < n - 1)
            j = len(new_ids)  # the new token's position; its left neighbour is at j - 1
            added.update(q for q in (j - 1, j) if q >= 0)
            new_ids.append(idx)
            i += 2
        else:
            new_ids.append(ids[i])
            i += 1
    delta: Counter = Counter()
    for p in removed:
        delta[ids[p], ids[p + 1]] -= 1
    for j in added:
        if j + 1 < len(new_ids):
            delta[new_ids[j], new_ids[j + 1]] += 1
    return new_ids, delta


def train_fast(
    chunks: Iterable[bytes],
    num_merges: int,
    callback: Callable[[int], None] | None = None,
) -> list[tuple[Pair, int]]:
    """The same merges and counts as ``train_plain(chunks, num_merges)``, computed
    incrementally. ``callback(merges so far)`` runs after each merge.

    >>> train_fast([b"aaabdaaabac"], 3)
    [((97, 97), 4), ((97, 98), 2), ((256, 257), 2)]
    """
    chunk_counts = Counter(chunks)
    sequences = [list(chunk) for chunk in chunk_counts]
    weights = list(chunk_counts.values())

    counts: Counter = Counter()
    # pair -> chunks that contain it (may hold stale chunks)
    where: dict[Pair, set[int]] = {}
    for c, ids in enumerate(sequences):
        for pair in pairwise(ids):
            counts[pair] += weights[c]
            where.setdefault(pair, set()).add(c)
    heap = [(-count, pair) for pair, count in counts.items()]
    heapq.heapify(heap)

    merges: list[tuple[Pair, int]] = []
    while len(merges) < num_merges and heap:
        neg_count, pair = heapq.heappop(heap)
        if counts.get(pair, 0) != -neg_count or neg_count == 0:
            continue  # a stale entry: this pair's count changed after it was pushed
        idx = 256 + len(merges)
        changed: Counter = Counter()
        for c in where.pop(pair):
            sequences[c], delta = merge_with_delta(sequences[c], pair, idx)
            for touched, change in delta.items():
                changed[touched] += change * weights[c]
                if change > 0:
                    where.setdefault(touched, set()).add(c)
        for touched, change in changed.items():
            if change:
                counts[touched] += change
                heapq.heappush(heap, (-counts[touched], touched))
        del counts[pair]
        merges.append((pair, -neg_count))
        if callback is not None:
            callback(len(merges))
    return merges
