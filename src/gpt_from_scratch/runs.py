"""Run folders: where a training run keeps its checkpoints, so that no kill ever loses one.

::

    OUT/lock                    held by the one process that writes the run; holds its pid
    OUT/checkpoints.json        the pointer: which step folders are "last" and "best"
    OUT/steps/step-00000500/    one checkpoint (gpt_from_scratch.checkpoint): model.safetensors,
                                optimizer.safetensors, meta.json

A save writes a new step folder whole and flushes it (:func:`~gpt_from_scratch.checkpoint.
save_checkpoint`), then replaces the pointer with one atomic rename, and only then removes the
step folders the pointer no longer names. At every instant the pointer names complete folders:
the previous ones or the new ones. The pointer records the SHA-256 of each named folder's
``meta.json``, which in turn holds the hashes of its array files, so every byte of a checkpoint
is checked on load.

The run keeps the ``keep`` most recent checkpoints, plus the best. While a run writes, it holds
an exclusive ``fcntl.flock`` on ``OUT/lock``; a second writer is refused with the holder's pid.
Readers (sampling) take no lock: the pointer always names whole folders.

>>> import numpy as np, tempfile
>>> run = RunFolder(tempfile.mkdtemp(), keep=1)
>>> with run.lock():
...     for step, loss in [(10, 2.5), (20, 2.1), (30, 2.3)]:
...         _ = run.save(step, {"model": {"w": np.full(2, step, np.float32)}}, {"loss": loss},
...                  best=loss < 2.2 or step == 10)
>>> run.load("last")[1]["loss"], run.load("best")[1]["loss"], run.step_folders()
(2.3, 2.1, ['step-00000020', 'step-00000030'])
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gpt_from_scratch.checkpoint import (
    Arrays,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
    training_state,
)
from gpt_from_scratch.files import atomic_write, boundary, fsync_folder

POINTER = "checkpoints.json"
LOCK = "lock"
STEPS = "steps"
POINTER_VERSION = 1


class RunLockedError(RuntimeError):
    """Another process is writing to the run folder."""


def step_name(step: int) -> str:
    return f"step-{step:08d}"


def named_entries(pointer: dict[str, Any]) -> list[dict[str, str]]:
    """The pointer's entries: the last, the best and the recent checkpoints."""
    return [pointer["last"], pointer["best"], *pointer["recent"]]


def named_folders(pointer: dict[str, Any]) -> set[str]:
    """The step folders a pointer names."""
    return {entry["folder"] for entry in named_entries(pointer)}


class RunFolder:
    """A training run's folder: its pointer, its step folders and its lock."""

    def __init__(self, path: str | os.PathLike, keep: int = 2):
        if keep < 1:
            raise ValueError(f"a run keeps at least 1 recent checkpoint, got keep={keep}")
        self.path = Path(path)
        self.keep = keep
        self._lock_fd: int | None = None

    # -- reading ------------------------------------------------------------------------------

    def holds_run(self) -> bool:
        """Whether a checkpoint has been saved here (the pointer exists)."""
        return (self.path / POINTER).is_file()

    def pointer(self) -> dict[str, Any]:
        """The pointer file, checked; a :class:`CheckpointError` if there is none."""
        path = self.path / POINTER
        if not self.holds_run():
            raise CheckpointError(f"{self.path}: holds no saved run ({POINTER} is missing)")
        try:
            pointer = json.loads(path.read_text(encoding="utf-8"))
            entries = named_entries(pointer)
            if pointer.get("version") != POINTER_VERSION or not all(
                isinstance(e["folder"], str)
                and re.fullmatch(r"step-\d{8,}", e["folder"])
                and isinstance(e["meta_sha256"], str)
                for e in entries
            ):
                raise ValueError("unknown version, or an entry that is not a step folder")
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise CheckpointError(f"{path}: the run's pointer is damaged ({err})") from None
        return pointer

    def folder(self, which: str = "last") -> Path:
        """The step folder the pointer names ``which`` (``"last"`` or ``"best"``)."""
        return self.path / STEPS / self.pointer()[which]["folder"]

    def load(self, which: str = "last", expected_type: str | None = None, required=()):
        """``(arrays, meta)`` of the checkpoint the pointer names ``which``, whose meta holds
        every key of ``required`` (:func:`~gpt_from_scratch.checkpoint.load_checkpoint`).

        A writer may replace the pointer and remove the old folder while we read; then the
        pointer is read again.
        """
        for attempt in range(3):
            entry = self.pointer()[which]
            folder = self.path / STEPS / entry["folder"]
            sha256 = entry["meta_sha256"]
            try:
                return load_checkpoint(folder, expected_type, meta_sha256=sha256, required=required)
            except CheckpointError:
                if attempt == 2 or self.pointer()[which] == entry:
                    raise
        raise AssertionError("unreachable")

    def step_folders(self) -> list[str]:
        """The names of the complete step folders on disk, oldest first."""
        steps = self.path / STEPS
        if not steps.is_dir():
            return []
        return sorted(p.name for p in steps.iterdir() if p.name.startswith("step-"))

    def leftovers(self) -> list[str]:
        """Files here that belong to no run: anything but the lock, pointer, steps and the
        names given by the command (a log)."""
        known = {LOCK, POINTER, STEPS}
        return sorted(p.name for p in self.path.iterdir() if p.name not in known)

    # -- writing ------------------------------------------------------------------------------

    @contextmanager
    def lock(self) -> Iterator[RunFolder]:
        """Hold the run's exclusive lock, or raise :class:`RunLockedError` naming the holder.

        A run that fails before its first save leaves the disk as it found it: the folder and
        lock file it created are removed again.
        """
        if self.path.exists() and not self.path.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "is a file, not a run folder", str(self.path))
        created = [p for p in (self.path, self.path / LOCK) if not p.exists()]
        self.path.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            if err.errno in (errno.EAGAIN, errno.EACCES):
                raise RunLockedError(
                    f"{self.path}: another run (process {holder}) is writing here; "
                    "wait for it to finish or choose another --out"
                ) from None
            raise
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._lock_fd = fd
        try:
            self.remove_unnamed()
            yield self
        finally:
            self._lock_fd = None
            if not self.holds_run():
                self.remove_created(created)
            os.close(fd)

    def remove_created(self, created: list[Path]) -> None:
        """Remove the lock file and folder that :meth:`lock` created, if nothing else is there."""
        if (self.path / STEPS).is_dir() and not any((self.path / STEPS).iterdir()):
            (self.path / STEPS).rmdir()
        for path in reversed(created):
            if path.is_dir():
                if not any(path.iterdir()):
                    path.rmdir()
            else:
                path.unlink(missing_ok=True)

    def save(self, step: int, arrays: Arrays, meta: dict[str, Any], *, best: bool) -> Path:
        """Save a checkpoint of ``step`` and make it the last (and, if ``best``, the best)."""
        if self._lock_fd is None:
            raise RuntimeError(f"{self.path}: save() needs the run's lock (with run.lock(): ...)")
        name = step_name(step)
        folder = self.path / STEPS / name
        old = self.pointer() if self.holds_run() else None
        if old is not None and name in named_folders(old):
            raise ValueError(f"{folder}: step {step} is saved already")
        if folder.exists():
            # Written by a run killed before it could name it; the pointer names older steps.
            shutil.rmtree(folder)
        meta_bytes = save_checkpoint(folder, arrays, meta)
        entry = {"folder": name, "meta_sha256": hashlib.sha256(meta_bytes).hexdigest()}
        recent = [*(old["recent"] if old else []), entry][-self.keep :]
        pointer = {
            "version": POINTER_VERSION,
            "last": entry,
            "best": entry if best or old is None else old["best"],
            "recent": recent,
        }
        atomic_write(self.path / POINTER, (json.dumps(pointer, indent=2) + "\n").encode())
        self.remove_unnamed(named_folders(pointer))
        return folder

    def save_training(self, step: int, meta: dict[str, Any], model, optimizer=None, *, best):
        """:meth:`save` of ``model`` (and ``optimizer``), as :func:`save_training` writes them."""
        arrays, extra = training_state(model, optimizer)
        return self.save(step, arrays, {**meta, **extra}, best=best)

    def remove_unnamed(self, named: set[str] | None = None) -> None:
        """Remove step folders the pointer does not name (``named``, when the caller has just
        written the pointer), half-written ones, and the temporary files of writes that a kill
        interrupted (``.NAME.<pid>.<random>.tmp``)."""
        for stale in self.path.glob(".*.tmp"):
            boundary(f"remove {stale.name}")
            stale.unlink()
        steps = self.path / STEPS
        if not steps.is_dir():
            return
        if named is None:
            named = named_folders(self.pointer()) if self.holds_run() else set()
        removed = False
        for entry in steps.iterdir():
            if entry.name not in named and entry.name.lstrip(".").startswith("step-"):
                boundary(f"remove {entry.name}")
                shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
                removed = True
        if removed:
            fsync_folder(steps)
