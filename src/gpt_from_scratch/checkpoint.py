"""Checkpoints that are safe to load and safe to write.

A checkpoint is a folder with two files:

- ``model.npz``: named numpy arrays (weights, optimizer state, ...), read with
  ``allow_pickle=False``, so loading a file can never run code;
- ``meta.json``: everything else, human-readable: the model type, its configuration, the
  vocabulary, the training step, losses.

Both are written to temporary files in the same folder and then renamed over the old ones
(``os.replace`` is atomic on POSIX), the arrays first and the metadata last. A run killed
mid-save leaves the previous checkpoint whole: at worst a stray ``*.tmp`` file, never a
half-written ``model.npz``. The metadata records the SHA-256 of the arrays file it belongs to,
so a folder whose two files do not belong together is detected on load.

>>> import numpy as np, tempfile
>>> folder = tempfile.mkdtemp()
>>> save_checkpoint(folder, {"w": np.ones(3, dtype=np.float32)}, {"type": "mlp", "step": 10})
>>> state, meta = load_checkpoint(folder, expected_type="mlp")
>>> state["w"].tolist(), meta["step"]
([1.0, 1.0, 1.0], 10)
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

ARRAYS = "model.npz"
META = "meta.json"
FORMAT_VERSION = 1


class CheckpointError(RuntimeError):
    """A checkpoint is missing, damaged, or not the kind that was asked for."""


def _write_atomic(target: Path, write) -> None:
    """Write ``target`` by calling ``write(file)`` on a temporary file, then renaming it."""
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_checkpoint(folder: str | Path, state: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Save named arrays and JSON-able metadata into ``folder`` (created if needed), atomically."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, value in state.items():
        if not isinstance(value, np.ndarray) or value.dtype == object:
            raise TypeError(
                f"checkpoint entry {name!r} must be a numeric numpy array, got {type(value)}"
            )
    try:
        meta_text = json.dumps(meta, indent=2, sort_keys=True)
    except TypeError as err:
        raise TypeError(f"checkpoint metadata is not JSON-serialisable: {err}") from err
    _write_atomic(folder / ARRAYS, lambda f: np.savez(f, **state))
    record = dict(json.loads(meta_text))
    record["format_version"] = FORMAT_VERSION
    record["arrays_sha256"] = _sha256(folder / ARRAYS)
    text = json.dumps(record, indent=2, sort_keys=True) + "\n"
    _write_atomic(folder / META, lambda f: f.write(text.encode("utf-8")))


def load_meta(folder: str | Path) -> dict[str, Any]:
    """Read and check ``meta.json`` of a checkpoint folder."""
    path = Path(folder) / META
    if not path.exists():
        raise CheckpointError(f"{folder}: no checkpoint here ({META} is missing)")
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path}: not valid JSON ({err}); the checkpoint is damaged") from err
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: expected a JSON object; the checkpoint is damaged")
    if meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: unknown checkpoint format version {meta.get('format_version')!r} "
            f"(this library reads version {FORMAT_VERSION})"
        )
    return meta


def load_checkpoint(
    folder: str | Path, expected_type: str | None = None
) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Load ``(state, meta)`` from a checkpoint folder, checking that it is whole.

    ``expected_type``, when given, must equal ``meta["type"]``.
    """
    folder = Path(folder)
    meta = load_meta(folder)
    if expected_type is not None and meta.get("type") != expected_type:
        raise CheckpointError(
            f"{folder}: checkpoint holds a {meta.get('type')!r} model, "
            f"not a {expected_type!r} model"
        )
    arrays = folder / ARRAYS
    if not arrays.exists():
        raise CheckpointError(f"{folder}: {ARRAYS} is missing")
    if _sha256(arrays) != meta.get("arrays_sha256"):
        raise CheckpointError(
            f"{arrays}: contents do not match {META} (truncated, corrupt or from another run)"
        )
    try:
        with np.load(arrays, allow_pickle=False) as npz:
            state = {name: npz[name] for name in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise CheckpointError(f"{arrays}: cannot be read ({err})") from err
    return state, meta
