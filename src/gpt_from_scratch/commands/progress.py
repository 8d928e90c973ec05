"""The progress bars of the commands: one tqdm bar, and a training-loop callback that moves it."""

from __future__ import annotations

import numpy as np
from tqdm import tqdm


def progress_bar(total: int, *, initial: int = 0, desc: str = "training", unit: str = "step"):
    """A bar that redraws at most once a second."""
    return tqdm(total=total, initial=initial, desc=desc, unit=unit, mininterval=1.0)


def show_progress(bar):
    """A callback for the training loop: one step of ``bar``, and every 100 steps the mean
    loss of the last 100 and the learning rate."""

    def callback(step: int, history) -> None:
        bar.update(1)
        if step % 100 == 0:
            bar.set_postfix(loss=f"{np.mean(history.loss[-100:]):.4f}", lr=f"{history.lr[-1]:.3g}")

    return callback
