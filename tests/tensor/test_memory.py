"""A training loop's memory stays bounded: after a few warm-up steps, thousands more steps of the
same model raise the process's peak memory by almost nothing."""

import subprocess
import sys
import textwrap

import pytest

TRAINING = """
import resource
import numpy as np
from gpt_from_scratch.tensor import functional as F
from gpt_from_scratch.tensor import Tensor, manual_seed, nn, optim, set_num_threads

def peak_mib():  # ru_maxrss is in KiB on Linux, in bytes on macOS
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10)

set_num_threads(THREADS)
manual_seed(0)
model = nn.Sequential(nn.Linear(64, 512), nn.Tanh(), nn.Linear(512, 512), nn.Tanh(),
                      nn.Linear(512, 10))
optimizer = optim.AdamW(model.parameters(), lr=1e-3)
rng = np.random.default_rng(0)
x = Tensor(rng.standard_normal((256, 64)))  # (256, 64); activations of 512 KiB each
y = rng.integers(0, 10, 256)

def steps(n):
    for _ in range(n):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optim.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

steps(20)
warm = peak_mib()
steps(400)
print(warm, peak_mib())
"""


@pytest.mark.skipif(sys.platform == "win32", reason="needs the resource module")
@pytest.mark.parametrize("threads", [1, 2])
def test_peak_memory_does_not_grow_after_warm_up(threads):
    code = f"import sys\nTHREADS = {threads}\n" + textwrap.dedent(TRAINING)
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    warm, final = map(float, result.stdout.split())
    assert final - warm < 8, f"peak memory grew from {warm:.0f} MiB to {final:.0f} MiB"
