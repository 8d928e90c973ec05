"""Freed arrays' memory stays in the process, so allocating the same arrays again costs no page
faults (glibc only)."""

import resource
import sys

import numpy as np
import pytest

from gpt_from_scratch.tensor import memory


def page_faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def faults_per_round(rounds=20):
    """Page faults per round of a training step's pattern: allocate and write four arrays of
    6 MB (a step's activations), then free them all."""
    start = page_faults()
    for _ in range(rounds):
        arrays = [np.ones((768, 2048), dtype=np.float32) for _ in range(4)]
        del arrays
    return (page_faults() - start) / rounds


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mallopt is glibc's")
def test_reallocated_arrays_reuse_freed_memory():
    if not memory.keep_freed_memory():
        pytest.skip("this Linux has no glibc mallopt")
    faults_per_round(3)  # the first rounds may grow the heap
    # With glibc's default settings the freed 24 MB go back to the kernel after each round,
    # and the next round faults in about 2,000 fresh pages.
    assert faults_per_round() < 10


def test_elsewhere_it_reports_false(monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert memory.keep_freed_memory() is False
