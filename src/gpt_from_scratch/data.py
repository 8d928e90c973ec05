"""The book's data sets, by name: found locally, or downloaded once and checked.

Lookup order for a data set's file:

1. the folder named by ``$GPT_FROM_SCRATCH_DATA`` (an offline mirror),
2. the user cache folder, ``$XDG_CACHE_HOME/gpt-from-scratch`` (else
   ``~/.cache/gpt-from-scratch``),
3. a download from the canonical URL into that cache: streamed into a temporary file, its
   SHA-256 checked, then renamed, so an interrupted or corrupt download never leaves a file.

Every file found is checked against its SHA-256 before it is used. ``python -m
gpt_from_scratch.commands.data fetch --all`` fetches them all.

>>> text = read_text("names")          # doctest: +SKIP
>>> text.splitlines()[:3]              # doctest: +SKIP
['emma', 'olivia', 'ava']
"""

from __future__ import annotations

import hashlib
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from gpt_from_scratch.files import atomic_write, sha256_file

ENV_DATA = "GPT_FROM_SCRATCH_DATA"
CACHE_NAME = "gpt-from-scratch"


@dataclass(frozen=True)
class DataSet:
    name: str
    filename: str
    url: str
    sha256: str
    description: str


DATASETS: dict[str, DataSet] = {
    d.name: d
    for d in [
        DataSet(
            "names",
            "names.txt",
            "https://raw.githubusercontent.com/karpathy/makemore/master/names.txt",
            "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d",
            "32,033 US baby names, one per line",
        ),
        DataSet(
            "tinyshakespeare",
            "tinyshakespeare.txt",
            "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
            "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
            "40,000 lines of Shakespeare",
        ),
        DataSet(
            "taylorswift",
            "taylorswift.txt",
            "https://raw.githubusercontent.com/karpathy/minbpe/master/tests/taylorswift.txt",
            "c2e39cb822d4ae0caac22152cefc306d466e31217a9c5524e493ad2b76792f57",
            "the Wikipedia article on Taylor Swift",
        ),
        DataSet(
            "cl100k_base",
            "cl100k_base.tiktoken",
            "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
            "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
            "GPT-4's BPE ranks",
        ),
        DataSet(
            "r50k_base",
            "r50k_base.tiktoken",
            "https://openaipublic.blob.core.windows.net/encodings/r50k_base.tiktoken",
            "306cd27f03c1a714eca7108e03d66b7dc042abe8c258b44c199a7ed9838dd930",
            "GPT-2's BPE ranks",
        ),
    ]
}


class DataError(RuntimeError):
    """A data set is unknown, missing, or its bytes are not the published ones."""


class DataFileError(DataError, ValueError):
    """A file given as input that cannot be used: missing, a folder, unreadable, not UTF-8
    text, or without the content expected. The message names the file (and the line)."""


def dataset(name: str) -> DataSet:
    try:
        return DATASETS[name]
    except KeyError:
        known = ", ".join(sorted(DATASETS))
        raise DataError(f"unknown data set {name!r}; known data sets: {known}") from None


def cache_dir() -> Path:
    """The user cache folder that downloads go to (it need not exist yet)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / CACHE_NAME


def verify(path: Path, expected: str) -> None:
    actual = sha256_file(path)
    if actual != expected:
        raise DataError(
            f"{path}: SHA-256 mismatch (expected {expected}, got {actual}); "
            "the file is not the published data set: delete it, or fix $" + ENV_DATA
        )


def download(url: str, target: Path, expected_sha256: str) -> Path:
    """Download ``url`` to ``target``: hashed while it streams, renamed only if it matches."""
    target.parent.mkdir(parents=True, exist_ok=True)

    def stream(out) -> None:
        digest = hashlib.sha256()
        with urllib.request.urlopen(url, timeout=60) as response:
            for block in iter(lambda: response.read(1 << 20), b""):
                digest.update(block)
                out.write(block)
        if digest.hexdigest() != expected_sha256:
            raise DataError(
                f"{url}: SHA-256 mismatch (expected {expected_sha256}, got "
                f"{digest.hexdigest()}); the download is not the published data set"
            )

    atomic_write(target, stream)
    return target


def path(name: str) -> Path:
    """The local path of data set ``name``, verified; downloaded first if it is nowhere local."""
    ds = dataset(name)
    mirror = mirror_dir()
    if mirror is not None and local_copy(mirror / ds.filename, ds.sha256):
        return mirror / ds.filename
    cached = cache_dir() / ds.filename
    if local_copy(cached, ds.sha256):
        return cached
    try:
        return download(ds.url, cached, ds.sha256)
    except DataError:
        raise
    except OSError as err:
        where = f"${ENV_DATA} to a folder holding {ds.filename}"
        if mirror is not None:
            where = f"{ds.filename} into ${ENV_DATA} ({mirror}), which does not hold it"
        raise DataError(
            f"could not download {name!r} from {ds.url} ({err}); without network, put {where}"
        ) from err


def mirror_dir() -> Path | None:
    """The folder ``$GPT_FROM_SCRATCH_DATA`` names, or None if it is unset; a DataError if it
    names nothing or a file."""
    mirror = os.environ.get(ENV_DATA)
    if not mirror:
        return None
    folder = Path(mirror)
    if not folder.is_dir():
        why = "it is a file" if folder.exists() else "nothing is there"
        raise DataError(
            f"${ENV_DATA} is {mirror!r}, which is not a folder ({why}); "
            "point it at the folder of the data files, or unset it"
        )
    return folder


def local_copy(candidate: Path, expected_sha256: str) -> bool:
    """Whether ``candidate`` is there, checked against its SHA-256 (a DataError if it is not
    the published file, or is a folder)."""
    if candidate.is_dir():
        raise DataError(f"{candidate}: is a folder, not the data set's file")
    if not candidate.exists():
        return False
    verify(candidate, expected_sha256)
    return True


def file_or_dataset(text: str) -> Path:
    """An existing file's path, else the local file of the data set named ``text``.

    The one rule for every command's input: a file comes first, so ``names`` means the file
    ``./names`` if there is one, else the names data set.
    """
    candidate = Path(text)
    if candidate.is_file():
        return candidate
    if candidate.is_dir():
        raise DataFileError(f"{text}: is a folder, not a text file")
    if text in DATASETS:
        return path(text)
    known = ", ".join(DATASETS)
    raise DataFileError(f"{text}: no such file (nor a data set name: {known})")


def read_text(name: str) -> str:
    """The text of data set ``name`` (UTF-8)."""
    return read_text_file(path(name))


def read_text_file(file: str | os.PathLike) -> str:
    """The text of a UTF-8 file. A missing file, a folder, an unreadable file or one that is not
    UTF-8 text is a :class:`DataFileError` naming it (and the line and byte offset of the first
    byte that is not UTF-8)."""
    file = Path(file)
    try:
        raw = file.read_bytes()
    except IsADirectoryError:
        raise DataFileError(f"{file}: is a folder, not a text file") from None
    except FileNotFoundError:
        raise DataFileError(f"{file}: no such file") from None
    except OSError as err:
        raise DataFileError(f"{file}: cannot be read ({err.strerror})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw.count(b"\n", 0, err.start) + 1
        raise DataFileError(
            f"{file}, line {line}: not UTF-8 text (byte {err.start}: {err.reason})"
        ) from None
