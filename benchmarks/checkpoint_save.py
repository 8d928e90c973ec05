"""Saving a checkpoint of nanoGPT's CPU configuration: our run folder against ``torch.save``.

The state saved is what ``gpt train`` saves at every evaluation: the GPT of the default
:class:`~gpt_from_scratch.gpt.config.GPTConfig` (nanoGPT's Tiny Shakespeare CPU model), and its
AdamW moments after one training step. Ours is :meth:`RunFolder.save_training`: three files
written and flushed to disk (``fsync``), a folder renamed, the pointer file replaced, the old
step removed. The anchor is ``torch.save`` of the same tensors into one file, flushed with
``fsync`` as well, so both pay for reaching the disk. Saves of the two alternate, so a burst
of load hits both. Prints the median wall time of each and the ratio ours / torch.
Target: ours under 100 ms.

Run: python benchmarks/checkpoint_save.py [--repeats 15]
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from gpt_from_scratch.gpt.config import GPTConfig
from gpt_from_scratch.gpt.model import GPT
from gpt_from_scratch.gpt.train import TrainConfig, make_optimizer
from gpt_from_scratch.makemore.train import train_step
from gpt_from_scratch.runs import RunFolder


def trained_one_step():
    """The default GPT and its AdamW after one step (so that both moments exist)."""
    config = GPTConfig(vocab_size=65)
    model = GPT(config)
    optimizer = make_optimizer(model, TrainConfig())
    rng = np.random.default_rng(0)
    x = rng.integers(0, config.vocab_size, (12, config.block_size))
    train_step(model, optimizer, x, np.roll(x, -1, axis=1), grad_clip=1.0)
    return model, optimizer


def torch_saver(model, optimizer, folder: Path):
    """A function that saves the same arrays with ``torch.save``, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    names = {id(p): name for name, p in model.named_parameters()}
    tensors = {f"model.{k}": torch.from_numpy(v) for k, v in model.state_dict().items()}
    for p in optimizer.parameters():
        for slot, array in optimizer.state[id(p)].items():
            tensors[f"optimizer.{names[id(p)]}.{slot}"] = torch.from_numpy(array)

    def save(step: int) -> None:
        path = folder / f"torch-{step}.pt"
        with open(path, "wb") as f:
            torch.save(tensors, f)
            f.flush()
            os.fsync(f.fileno())
        path.unlink()

    return save


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    model, optimizer = trained_one_step()
    size = sum(a.nbytes for a in model.state_dict().values())
    size += sum(a.nbytes for s in optimizer.state.values() for a in s.values())
    with tempfile.TemporaryDirectory() as tmp:
        run = RunFolder(Path(tmp) / "run", keep=1)
        torch_save = torch_saver(model, optimizer, Path(tmp))
        ours, theirs = [], []
        with run.lock():
            for step in range(1, args.repeats + 1):
                began = time.perf_counter()
                run.save_training(step, {"type": "gpt", "step": step}, model, optimizer, best=True)
                ours.append(time.perf_counter() - began)
                if torch_save is not None:
                    began = time.perf_counter()
                    torch_save(step)
                    theirs.append(time.perf_counter() - began)
    ms = 1000 * statistics.median(ours)
    print(f"{model.num_parameters():,} parameters, {size / 2**20:.1f} MiB of weights and moments")
    print(f"ours (run folder, safetensors, fsync): {ms:.1f} ms (target: under 100 ms)")
    if theirs:
        torch_ms = 1000 * statistics.median(theirs)
        print(f"torch.save + fsync: {torch_ms:.1f} ms; ratio ours / torch {ms / torch_ms:.2f}x")


if __name__ == "__main__":
    main()
