"""Keep freed array memory in the process, so that the next training step reuses it.

A training step allocates and frees the same large arrays every time: activations, gradients,
temporaries of a few hundred kilobytes to a few megabytes each. By default glibc's `malloc`
gives such blocks back to the operating system when they are freed, so the next step's arrays
get fresh pages from the kernel, and every first write to a fresh 4 KiB page is a page fault,
answered with a zeroed page. On the GPT chapter's model that was one to four thousand faults
per step, 5 to 15 ms of kernel time (measured on a 2-core build machine). Two `mallopt`
settings keep the memory instead: blocks up to 32 MiB come from the heap rather than from a
mapping of their own, and up to 256 MiB of free heap is kept before any is returned.

The memory a process keeps is bounded by its own peak use; nothing is allocated in advance.
The speed layer makes these settings at its first parallel operation, not at import.
"""

from __future__ import annotations

import ctypes
import sys

# glibc's parameter numbers for mallopt, from <malloc.h>
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 32 * 1024 * 1024  # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD = 256 * 1024 * 1024


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to keep freed blocks for reuse; False without glibc."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # another C library (musl has no mallopt)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
