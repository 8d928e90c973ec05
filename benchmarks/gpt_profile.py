"""Where one training step of the GPT spends its time, by the engine's parallel operations.

The model and step are those of gpt_train.py (nanoGPT's CPU configuration, batch 12 x 64).
Every call of the speed layer's `parallel_for` is timed on the calling thread: the block it runs
itself, under the name of the engine operation that asked for it (and of the speed function
that split it, if another), and the wait for the workers after it. What is left of the step is
serial work (LayerNorm, AdamW, residual additions, the graph's bookkeeping). With one thread
every block is the whole operation, so the two runs side by side show what each operation
gains from the second core.

    python benchmarks/gpt_profile.py             # one thread, then the default thread count
    python benchmarks/gpt_profile.py --steps 100
"""

import argparse
import collections
import contextlib
import sys
import time

import numpy as np

from gpt_from_scratch.gpt import GPT, GPTConfig
from gpt_from_scratch.makemore.train import train_step
from gpt_from_scratch.tensor import get_num_threads, manual_seed, set_num_threads
from gpt_from_scratch.tensor.speed import threads

CONFIG = GPTConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0)
BATCH = 12


@contextlib.contextmanager
def timed_parallel_for(totals):
    """Replace parallel_for, wherever the engine's modules call it, by one that adds each call's
    time on the calling thread to `totals`: the operation's own block under the operation's
    name, and the wait for the workers after it."""
    real = threads.parallel_for

    def parallel_for(block, n, grain=1):
        name = operation_name(block, sys._getframe(1))
        caller_done = []

        def caller_block(start, stop):  # the range that starts at 0 runs on the calling thread
            begin = time.perf_counter()
            block(start, stop)
            if start == 0:
                caller_done.append(time.perf_counter())
                totals[name] += caller_done[0] - begin

        real(caller_block, n, grain)
        totals["waiting for the workers"] += time.perf_counter() - caller_done[0]

    callers = [
        module
        for module_name, module in list(sys.modules.items())
        if module_name.startswith("gpt_from_scratch")
        and getattr(module, "parallel_for", None) is real
    ]
    for module in callers:
        module.parallel_for = parallel_for
    try:
        yield
    finally:
        for module in callers:
            module.parallel_for = real


def operation_name(block, frame):
    """The engine operation that called the speed layer (the first frame outside it), and the
    speed function that made the block, e.g. "linear_backward (matmuls)"."""
    while frame.f_globals.get("__name__", "").startswith("gpt_from_scratch.tensor.speed"):
        frame = frame.f_back
    code = frame.f_code
    caller = getattr(code, "co_qualname", code.co_name).split(".<locals>")[0]
    kernel = block.__qualname__.split(".<locals>")[0]
    return caller if caller == kernel else f"{caller} ({kernel})"


def profile(n_threads, steps, x, y):
    """Milliseconds per step, whole and by operation, at `n_threads` threads."""
    set_num_threads(n_threads)
    manual_seed(0)
    model = GPT(CONFIG)
    optimizer = model.configure_optimizer(lr=1e-3, weight_decay=0.1)

    for _ in range(5):  # warm up
        train_step(model, optimizer, x, y, grad_clip=1.0)
    totals = collections.defaultdict(float)
    with timed_parallel_for(totals):
        start = time.perf_counter()
        for _ in range(steps):
            train_step(model, optimizer, x, y, grad_clip=1.0)
        elapsed = time.perf_counter() - start
    totals["serial: everything else"] = elapsed - sum(totals.values())
    return 1e3 * elapsed / steps, {name: 1e3 * seconds / steps for name, seconds in totals.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=50, help="timed steps per thread count")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.integers(0, CONFIG.vocab_size, (BATCH, CONFIG.block_size))
    y = rng.integers(0, CONFIG.vocab_size, (BATCH, CONFIG.block_size))
    default_threads = get_num_threads()
    runs = {}
    try:
        for n_threads in sorted({1, default_threads}):
            runs[n_threads] = profile(n_threads, args.steps, x, y)
    finally:
        set_num_threads(default_threads)
    names = sorted({name for _, parts in runs.values() for name in parts}, key=_row_order)
    print(f"{'ms per step, on the calling thread':40s}" + "".join(f"{t:>9} thr" for t in runs))
    for name in names:
        print(
            f"{name:40s}" + "".join(f"{parts.get(name, 0.0):13.2f}" for _, parts in runs.values())
        )
    print(f"{'whole step':40s}" + "".join(f"{whole:13.2f}" for whole, _ in runs.values()))


def _row_order(name):
    return name.startswith("waiting"), name.startswith("serial"), name


if __name__ == "__main__":
    main()
