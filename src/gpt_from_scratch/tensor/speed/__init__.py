"""The engine's speed layer: what the operations call to share their work between the cores.

The engine's ops (`engine`, `functional`) say what to compute; this package decides how. It
never imports them: it takes and returns numpy arrays, and each function computes what one
numpy expression would.

What is split, over a pool of `get_num_threads()` threads (`threads.py`):

- `matmul(a, b)` and `matmuls(*pairs)`: matrix products by rows (several products in one
  region, as a linear layer's backward pass needs); `linear(x, weight, bias, then)`: a
  layer's forward rows, each thread adding the bias and applying `then` to its own rows;
- `elementwise(function, inputs, outputs)`: a pass over independent entries (GELU's forward
  and backward);
- `scatter_rows(rows, ids, num_rows)`: the embedding backward, the rows of each id summed;
- `parallel_for(block, n, grain)`: anything else made of independent rows (attention splits
  its batch of sequences).

What was measured (on the 2-core build machine, the GPT chapter's model):

- numpy releases Python's global interpreter lock inside its loops and its BLAS calls, so
  threads that each work on their own block of rows really run at the same time. Operations
  made of many short numpy calls (LayerNorm, the AdamW update) stay serial: between calls each
  thread must take the lock back, and those handovers cost more than the calls save.
- BLAS libraries have threads of their own, but they parallelise only large products, and
  between products their idle threads keep spinning on the cores our blocks need. So BLAS gets
  one thread (through threadpoolctl) and the products are split here; with
  `set_num_threads(1)` everything, products included, runs on the calling thread.
- Work under about a million multiply-adds (or 32,768 entries) stays on the calling thread:
  waking a worker and hearing back costs 50 to 100 microseconds.
- glibc's `malloc` returns a freed large array's memory to the kernel, and every first write
  to a fresh page is then a page fault: one to four thousand per training step, 5 to 15 ms of
  kernel time. `memory.keep_freed_memory` keeps that memory for the next step instead.

Nothing happens at import. The first call into the layer that may split (with one thread
too), or an explicit `set_num_threads`, limits BLAS to one thread, keeps freed memory and
registers a fork hook (a forked child makes workers of its own); the first call that splits
starts the workers.

>>> import numpy as np
>>> from gpt_from_scratch.tensor import speed
>>> speed.matmul(np.ones((2, 3)), np.ones((3, 4))).tolist()
[[3.0, 3.0, 3.0, 3.0], [3.0, 3.0, 3.0, 3.0]]
"""

from gpt_from_scratch.tensor.speed.kernels import (
    elementwise,
    linear,
    matmul,
    matmuls,
    scatter_rows,
)
from gpt_from_scratch.tensor.speed.threads import (
    get_num_threads,
    grain,
    parallel_for,
    set_num_threads,
)

__all__ = [
    "elementwise",
    "get_num_threads",
    "grain",
    "linear",
    "matmul",
    "matmuls",
    "parallel_for",
    "scatter_rows",
    "set_num_threads",
]
