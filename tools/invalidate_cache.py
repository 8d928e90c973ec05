"""Drop the book's execution cache when the library it imports, or a run it reads, changed.

Jupyter Book's cache keys each chapter on the code in its cells. Our chapters import their
logic from src/, and some read recorded runs (book/*/results/*.json), so a change to either must
re-execute them although no cell changed. We keep a hash of those files beside the cache and,
when it differs, clear the cache and Sphinx's saved doctrees: without the doctrees Sphinx reads
every chapter again (a chapter it did not read would keep the outputs of the old library, and
its executed notebook would be empty).
"""

import hashlib
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "_build" / ".jupyter_cache"
DOCTREES = ROOT / "_build" / ".doctrees"
STAMP = ROOT / "_build" / ".src-hash"


def source_hash() -> str:
    digest = hashlib.sha256()
    inputs = [*(ROOT / "src").rglob("*.py"), *(ROOT / "book").glob("*/results/*.json")]
    for path in sorted(inputs):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def main() -> None:
    current = source_hash()
    previous = STAMP.read_text().strip() if STAMP.exists() else None
    if previous != current and CACHE.exists():
        print("src/ or a recorded run changed since the last build: clearing the execution cache")
        shutil.rmtree(CACHE)
        shutil.rmtree(DOCTREES, ignore_errors=True)
    STAMP.parent.mkdir(parents=True, exist_ok=True)
    STAMP.write_text(current + "\n")


if __name__ == "__main__":
    main()
