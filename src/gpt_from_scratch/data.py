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
    ]
}


class DataError(RuntimeError):
    """A data set is unknown, missing, or its bytes are not the published ones."""


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
    mirror = os.environ.get(ENV_DATA)
    if mirror:
        if not Path(mirror).is_dir():
            raise DataError(f"${ENV_DATA} is {mirror!r}, which is not a folder")
        candidate = Path(mirror) / ds.filename
        if candidate.exists():
            verify(candidate, ds.sha256)
            return candidate
    cached = cache_dir() / ds.filename
    if cached.exists():
        verify(cached, ds.sha256)
        return cached
    try:
        return download(ds.url, cached, ds.sha256)
    except DataError:
        raise
    except OSError as err:
        raise DataError(
            f"could not download {name!r} from {ds.url} ({err}); without network, set "
            f"${ENV_DATA} to a folder holding {ds.filename}"
        ) from err


def file_or_dataset(text: str) -> Path:
    """An existing file's path, else the local file of the data set named ``text``.

    The one rule for every command's input: a file comes first, so ``names`` means the file
    ``./names`` if there is one, else the names data set.
    """
    candidate = Path(text)
    if candidate.is_file():
        return candidate
    if candidate.is_dir():
        raise DataError(f"{text}: is a folder, not a text file")
    if text in DATASETS:
        return path(text)
    known = ", ".join(DATASETS)
    raise DataError(f"{text}: no such file (nor a data set name: {known})")


def read_text(name: str) -> str:
    """The text of data set ``name`` (UTF-8)."""
    return path(name).read_text(encoding="utf-8")
