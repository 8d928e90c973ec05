"""Drop the book's execution cache when the library it imports has changed.

Jupyter Book's cache keys each chapter on the code in its cells. Our chapters import their
logic from src/, so a change there must re-execute them although no cell changed. We keep a
hash of every file under src/ beside the cache and clear the cache when it differs.
"""

import hashlib
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "_build" / ".jupyter_cache"
STAMP = ROOT / "_build" / ".src-hash"


def source_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted((ROOT / "src").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def main() -> None:
    current = source_hash()
    previous = STAMP.read_text().strip() if STAMP.exists() else None
    if previous != current and CACHE.exists():
        print("src/ changed since the last build: clearing the execution cache")
        shutil.rmtree(CACHE)
    STAMP.parent.mkdir(parents=True, exist_ok=True)
    STAMP.write_text(current + "\n")


if __name__ == "__main__":
    main()
