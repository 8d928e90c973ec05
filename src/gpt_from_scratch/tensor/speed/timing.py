"""Measuring what the speed layer buys: wall time and page faults per call of a step.

>>> median_seconds(lambda: None, repeats=3) >= 0.0
True
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(step: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    """Median wall time of `repeats` calls of `step()`, after `warmup` untimed calls."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def page_faults_per_call(step: Callable[[], object], repeats: int) -> float:
    """Minor page faults of this process per call of `step()` (after one untimed call):
    each is a first write to a fresh page, which the kernel answers with a zeroed one."""
    import resource  # Unix only

    step()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(repeats):
        step()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / repeats
