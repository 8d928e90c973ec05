"""Checkpoints that are safe to load and safe to write.

Every model and command of the book saves and loads through this module. A checkpoint is a
folder with two files:

- ``model.npz``: named numpy arrays (weights, optimizer state, ...), read with
  ``allow_pickle=False``, so loading a file can never run code;
- ``meta.json``: everything else, human-readable: the model type, its configuration, the
  vocabulary, the training step, losses.

Both are written with :func:`gpt_from_scratch.files.atomic_write`, the arrays first and the
metadata last, so neither is ever half-written. The metadata records the SHA-256 of the bytes
of the arrays file it belongs to, so a folder whose two files do not belong together is
detected on load.

:func:`save_training` and :func:`restore_training` put a model and its optimizer into that
form: the model's ``state_dict()`` as arrays ``model.<name>``, the optimizer's ``state_dict()``
as arrays ``optimizer.<parameter index>.<slot>`` plus its scalars in the metadata.

>>> import numpy as np, tempfile
>>> folder = tempfile.mkdtemp()
>>> save_checkpoint(folder, {"w": np.ones(3, dtype=np.float32)}, {"type": "mlp", "step": 10})
>>> state, meta = load_checkpoint(folder, expected_type="mlp")
>>> state["w"].tolist(), meta["step"]
([1.0, 1.0, 1.0], 10)
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from gpt_from_scratch.files import atomic_write, sha256_file

ARRAYS = "model.npz"
META = "meta.json"
FORMAT_VERSION = 1


class CheckpointError(RuntimeError):
    """A checkpoint is missing, damaged, or not the kind that was asked for."""


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
    buffer = io.BytesIO()
    np.savez(buffer, **state)
    arrays = buffer.getvalue()
    atomic_write(folder / ARRAYS, arrays)
    record = dict(json.loads(meta_text))
    record["format_version"] = FORMAT_VERSION
    record["arrays_sha256"] = hashlib.sha256(arrays).hexdigest()
    atomic_write(folder / META, (json.dumps(record, indent=2, sort_keys=True) + "\n").encode())


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
    if sha256_file(arrays) != meta.get("arrays_sha256"):
        raise CheckpointError(
            f"{arrays}: contents do not match {META} (truncated, corrupt or from another run)"
        )
    try:
        with np.load(arrays, allow_pickle=False) as npz:
            state = {name: npz[name] for name in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise CheckpointError(f"{arrays}: cannot be read ({err})") from err
    return state, meta


def save_training(folder: str | Path, meta: dict[str, Any], model, optimizer=None) -> None:
    """Save ``model`` (and ``optimizer``, to resume) with ``meta`` as one checkpoint."""
    arrays = {f"model.{name}": array for name, array in model.state_dict().items()}
    if optimizer is not None:
        state = optimizer.state_dict()
        for index, slots in state.pop("state").items():
            for slot, array in slots.items():
                arrays[f"optimizer.{index}.{slot}"] = array
        meta = {**meta, "optimizer": state}
    save_checkpoint(folder, arrays, meta)


def restore_training(folder: str | Path, state, meta, model, optimizer=None) -> None:
    """Load the arrays of a :func:`save_training` checkpoint into ``model`` (and ``optimizer``).

    Weights that do not fit the model, or optimizer state that does not fit the optimizer,
    raise :class:`CheckpointError` naming the folder.
    """
    weights = {k.removeprefix("model."): v for k, v in state.items() if k.startswith("model.")}
    try:
        model.load_state_dict(weights)
        if optimizer is not None:
            slots: dict[int, dict[str, np.ndarray]] = {}
            for key, array in state.items():
                if key.startswith("optimizer."):
                    _, index, slot = key.split(".", 2)
                    slots.setdefault(int(index), {})[slot] = array
            optimizer.load_state_dict({**meta["optimizer"], "state": slots})
    except (KeyError, TypeError, ValueError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        raise CheckpointError(
            f"{folder}: the checkpoint does not fit the model ({message})"
        ) from None
