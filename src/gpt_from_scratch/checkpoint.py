"""Checkpoints that are safe to load and safe to write.

Every model and command of the book saves and loads through this module. A checkpoint is a
folder of named arrays and one metadata file:

- ``model.safetensors`` (and ``optimizer.safetensors``, ...): named arrays in the safetensors
  format, a JSON header and raw bytes, so loading a file can never run code. The weights file
  alone loads in PyTorch (``safetensors.torch.load_file``), named as in ``state_dict()``;
- ``meta.json``: everything else, human-readable: the model type, its configuration, the
  vocabulary, the training step, losses, and the SHA-256 of the bytes of every array file.

A checkpoint folder is written whole under a temporary name, each file flushed to disk, and
then renamed into place; an existing folder is never written into. Loading reads each file
once, checks its hash against the metadata, and parses those same bytes. A run that replaces
its checkpoints as it trains keeps them in a :class:`gpt_from_scratch.runs.RunFolder`.

:func:`save_training` and :func:`restore_training` put a model and its optimizer into that
form: the model's ``state_dict()`` as ``model.safetensors``, the optimizer's moments as
``optimizer.safetensors`` named ``<parameter name>.<slot>``, its settings in the metadata.

>>> import numpy as np, tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp()) / "step-10"
>>> arrays = {"model": {"w": np.ones(3, np.float32)}}
>>> _ = save_checkpoint(folder, arrays, {"type": "mlp", "step": 10})
>>> arrays, meta = load_checkpoint(folder, expected_type="mlp")
>>> arrays["model"]["w"].tolist(), meta["step"]
([1.0, 1.0, 1.0], 10)
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.numpy
from safetensors import SafetensorError

from gpt_from_scratch.files import fsync_folder, rename, temporary_name, write_synced

META = "meta.json"
SUFFIX = ".safetensors"
FORMAT_VERSION = 2
Arrays = dict[str, dict[str, np.ndarray]]


class CheckpointError(RuntimeError):
    """A checkpoint is missing, damaged, or not the kind that was asked for."""


def encode_arrays(arrays: Arrays) -> dict[str, bytes]:
    """File name -> the safetensors bytes of its named arrays; a clear error for non-arrays."""
    files = {}
    for stem, named in arrays.items():
        for name, value in named.items():
            if not isinstance(value, np.ndarray) or value.dtype == object:
                raise TypeError(
                    f"checkpoint entry {stem}/{name} must be a numeric numpy array, "
                    f"got {type(value).__name__}"
                )
        contiguous = {name: np.asarray(value, order="C") for name, value in named.items()}
        files[stem + SUFFIX] = safetensors.numpy.save(contiguous)
    return files


def encode_meta(meta: dict[str, Any], files: dict[str, bytes]) -> bytes:
    """The metadata with the format version and each array file's SHA-256, as JSON bytes."""
    record = {
        **meta,
        "format_version": FORMAT_VERSION,
        "files": {name: hashlib.sha256(content).hexdigest() for name, content in files.items()},
    }
    try:
        return (json.dumps(record, indent=2, sort_keys=True, allow_nan=True) + "\n").encode()
    except (TypeError, ValueError) as err:
        raise TypeError(f"checkpoint metadata is not JSON-serialisable: {err}") from None


def save_checkpoint(folder: str | Path, arrays: Arrays, meta: dict[str, Any]) -> bytes:
    """Write a new checkpoint folder: ``<stem>.safetensors`` for each ``arrays[stem]``, and
    ``meta.json``. Returns the bytes of ``meta.json`` (a run's pointer records their hash).

    The folder appears whole or not at all; an existing ``folder`` is a ``FileExistsError``.
    """
    folder = Path(folder)
    if folder.exists():
        raise FileExistsError(f"{folder}: a checkpoint folder is never overwritten")
    files = encode_arrays(arrays)
    meta_bytes = encode_meta(meta, files)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = temporary_name(folder)
    staging.mkdir()
    try:
        for name, content in {**files, META: meta_bytes}.items():
            write_synced(staging / name, content)
        fsync_folder(staging)
        rename(staging, folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return meta_bytes


def parse_meta(content: bytes, path: Path) -> dict[str, Any]:
    """The metadata in ``content`` (read from ``path``), checked for what every checkpoint has."""
    try:
        meta = json.loads(content.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        message = f"{path}: not valid JSON ({err}); the checkpoint is damaged"
        raise CheckpointError(message) from None
    if not isinstance(meta, dict):
        raise CheckpointError(f"{path}: expected a JSON object; the checkpoint is damaged")
    if meta.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"{path}: unknown checkpoint format version {meta.get('format_version')!r} "
            f"(this library reads version {FORMAT_VERSION})"
        )
    files = meta.get("files")
    if not isinstance(files, dict) or not all(isinstance(h, str) for h in files.values()):
        raise CheckpointError(f"{path}: 'files' must map each array file to its SHA-256")
    return meta


def read_bytes(path: Path, what: str) -> bytes:
    """A file's bytes, or a :class:`CheckpointError` saying why it cannot be read."""
    if path.is_dir():
        raise CheckpointError(f"{path}: is a directory, not {what}")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise CheckpointError(f"{path}: {what} is missing") from None
    except OSError as err:
        raise CheckpointError(f"{path}: cannot be read ({err.strerror})") from None


def load_meta(folder: str | Path, expected_sha256: str | None = None) -> dict[str, Any]:
    """Read and check ``meta.json`` of a checkpoint folder (against a hash, when given)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"{folder}: no checkpoint here (not a folder)")
    path = folder / META
    if not path.exists():
        raise CheckpointError(f"{folder}: no checkpoint here ({META} is missing)")
    content = read_bytes(path, "the metadata")
    if expected_sha256 is not None and hashlib.sha256(content).hexdigest() != expected_sha256:
        raise CheckpointError(f"{path}: contents do not match the run's pointer file")
    return parse_meta(content, path)


def load_checkpoint(
    folder: str | Path,
    expected_type: str | None = None,
    *,
    meta_sha256: str | None = None,
    required: tuple[str, ...] = (),
) -> tuple[Arrays, dict[str, Any]]:
    """Load ``(arrays, meta)`` from a checkpoint folder, checking that every file is whole.

    ``arrays[stem][name]`` is the array ``name`` of ``<stem>.safetensors``. ``expected_type``,
    when given, must equal ``meta["type"]``; ``meta_sha256``, the hash of ``meta.json``; and
    ``meta`` must hold every key of ``required``.
    """
    folder = Path(folder)
    meta = load_meta(folder, meta_sha256)
    if expected_type is not None and meta.get("type") != expected_type:
        raise CheckpointError(
            f"{folder}: checkpoint holds a {meta.get('type')!r} model, "
            f"not a {expected_type!r} model"
        )
    missing = [key for key in required if key not in meta]
    if missing:
        raise CheckpointError(f"{folder}: meta.json lacks {missing}; the checkpoint is damaged")
    arrays = {}
    for name, sha256 in meta["files"].items():
        path = folder / name
        content = read_bytes(path, "an array file")
        if hashlib.sha256(content).hexdigest() != sha256:
            raise CheckpointError(
                f"{path}: contents do not match {META} (truncated, corrupt or from another run)"
            )
        try:
            arrays[name.removesuffix(SUFFIX)] = safetensors.numpy.load(content)
        except SafetensorError as err:
            raise CheckpointError(f"{path}: not a safetensors file ({err})") from None
    return arrays, meta


def optimizer_arrays(model, optimizer) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The optimizer's ``state_dict()`` as arrays ``<parameter name>.<slot>`` plus the JSON
    rest, which lists the parameter names in the optimizer's order."""
    names = {id(p): name for name, p in model.named_parameters()}
    order = [names[id(p)] for p in optimizer.parameters()]
    state = optimizer.state_dict()
    arrays = {
        f"{order[index]}.{slot}": array
        for index, slots in state.pop("state").items()
        for slot, array in slots.items()
    }
    return arrays, {**state, "parameters": order}


def training_state(model, optimizer=None) -> tuple[Arrays, dict[str, Any]]:
    """The arrays of ``model`` (and ``optimizer``) and the metadata they add."""
    arrays = {"model": model.state_dict()}
    if optimizer is None:
        return arrays, {}
    arrays["optimizer"], settings = optimizer_arrays(model, optimizer)
    return arrays, {"optimizer": settings}


def save_training(folder: str | Path, meta: dict[str, Any], model, optimizer=None) -> bytes:
    """Save ``model`` (and ``optimizer``, to resume) with ``meta`` as a new checkpoint folder."""
    arrays, extra = training_state(model, optimizer)
    return save_checkpoint(folder, arrays, {**meta, **extra})


def optimizer_state(arrays: dict[str, np.ndarray], settings: dict[str, Any]) -> dict[str, Any]:
    """The inverse of :func:`optimizer_arrays`: a ``state_dict()`` keyed by parameter index."""
    settings = dict(settings)
    index = {name: i for i, name in enumerate(settings.pop("parameters"))}
    slots: dict[int, dict[str, np.ndarray]] = {}
    for key, array in arrays.items():
        name, slot = key.rsplit(".", 1)
        slots.setdefault(index[name], {})[slot] = array
    return {**settings, "state": slots}


def restore_training(folder: str | Path, arrays: Arrays, meta, model, optimizer=None) -> None:
    """Load the arrays of a :func:`save_training` checkpoint into ``model`` (and ``optimizer``).

    Weights that do not fit the model, or optimizer state that does not fit the optimizer,
    raise :class:`CheckpointError` naming the folder, and then neither has changed.
    """
    before = model.state_dict()
    try:
        model.load_state_dict(arrays.get("model", {}))
        if optimizer is not None:
            state = optimizer_state(arrays.get("optimizer", {}), meta["optimizer"])
            optimizer.load_state_dict(state)
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        model.load_state_dict(before)
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        raise CheckpointError(
            f"{folder}: the checkpoint does not fit the model ({message})"
        ) from None
