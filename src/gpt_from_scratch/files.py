"""Writing files so that a crash never leaves half of one, and the SHA-256 of a file.

A file is written to a temporary file in the same folder, flushed to disk, then renamed over
the target: ``os.replace`` is atomic on POSIX, so a reader sees the old file or the new one,
never a mixture, whenever the process is killed. The folder is flushed after the rename, so
the new name survives a power cut too.

Every write, flush and rename passes a :func:`boundary`: the kill-anywhere tests make the
process signal itself at the Nth one (see :data:`CRASH_AT`).

>>> import tempfile, pathlib
>>> target = pathlib.Path(tempfile.mkdtemp()) / "hello.txt"
>>> atomic_write(target, b"hello\\n")
>>> target.read_text(), sha256_file(target)[:12]
('hello\\n', '5891b5b522d5')
"""

from __future__ import annotations

import hashlib
import os
import secrets
import signal
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

# A test hook: "N:SIGNAL" (say "7:SIGKILL") makes the process send itself SIGNAL at the Nth
# boundary; "count:PATH" appends each boundary's label to PATH, to learn how many there are.
CRASH_AT = "GPT_FROM_SCRATCH_CRASH_AT"
_boundaries_passed = 0


def boundary(label: str) -> None:
    """Mark a point between two disk operations, where a kill must leave everything whole."""
    global _boundaries_passed
    hook = os.environ.get(CRASH_AT)
    if not hook:
        return
    _boundaries_passed += 1
    where, _, what = hook.partition(":")
    if where == "count":
        with open(what, "a", encoding="utf-8") as log:
            log.write(f"{_boundaries_passed} {label}\n")
    elif int(where) == _boundaries_passed:
        os.kill(os.getpid(), getattr(signal, what))


def write_synced(path: Path, content: bytes | Callable[[BinaryIO], None]) -> None:
    """Write ``content`` to a new file ``path`` and flush it to disk."""
    boundary(f"write {path.name}")
    with open(path, "xb") as f:
        if callable(content):
            content(f)
        else:
            f.write(content)
        f.flush()
        boundary(f"fsync {path.name}")
        os.fsync(f.fileno())
    boundary(f"wrote {path.name}")


def fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (new names, renames, removals) to disk."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    boundary(f"fsync folder {folder.name}")


def rename(source: Path, target: Path) -> None:
    """Rename atomically (replacing a file ``target``), then flush the folder."""
    boundary(f"rename {source.name} -> {target.name}")
    os.replace(source, target)
    boundary(f"renamed {target.name}")
    fsync_folder(target.parent)


def temporary_name(target: Path) -> Path:
    """A fresh hidden name beside ``target``: ``.NAME.<pid>.<random>.tmp``."""
    return target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")


def atomic_write(target: str | os.PathLike, content: bytes | Callable[[BinaryIO], None]) -> None:
    """Write ``content`` (bytes, or a function that writes into a binary file) to ``target``.

    If writing raises (``content`` may raise to refuse what it wrote), the temporary file is
    removed and ``target`` is left as it was.
    """
    target = Path(target)
    tmp = temporary_name(target)
    try:
        write_synced(tmp, content)
        rename(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def sha256_file(path: str | os.PathLike) -> str:
    """The SHA-256 of a file's bytes, as hex, read a megabyte at a time."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
