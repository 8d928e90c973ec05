"""Writing files so that a crash never leaves half of one, and the SHA-256 of a file.

A file is written to a temporary file in the same folder, flushed to disk, then renamed over
the target: ``os.replace`` is atomic on POSIX, so a reader sees the old file or the new one,
never a mixture, whenever the process is killed.

>>> import tempfile, pathlib
>>> target = pathlib.Path(tempfile.mkdtemp()) / "hello.txt"
>>> atomic_write(target, b"hello\\n")
>>> target.read_text(), sha256_file(target)[:12]
('hello\\n', '5891b5b522d5')
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO


def atomic_write(target: str | os.PathLike, content: bytes | Callable[[BinaryIO], None]) -> None:
    """Write ``content`` (bytes, or a function that writes into a binary file) to ``target``.

    If writing raises (``content`` may raise to refuse what it wrote), the temporary file is
    removed and ``target`` is left as it was.
    """
    target = Path(target)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(content):
                content(f)
            else:
                f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
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
