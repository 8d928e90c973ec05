"""Check that every output of the built book fits the page: no printed line, and no plain-text
result, wider than 88 columns (a wider one is clipped or scrolls in the HTML).

    python tools/check_outputs.py [_build]

It reads the executed notebooks that myst-nb writes to ``<build>/jupyter_execute``; `make test`
runs it after the strict build. It prints each wide line with its chapter and cell, and exits
with status 1 if there is one.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

WIDTH = 88


def output_texts(output: dict) -> list[str]:
    """The text an output shows: a stream's, or a result's plain text when nothing richer
    (an image, HTML) is shown instead."""
    if output.get("output_type") == "stream":
        return ["".join(output["text"])]
    data = output.get("data", {})
    if "text/plain" in data and not {"image/png", "text/html"} & data.keys():
        return ["".join(data["text/plain"])]
    return []


def wide_lines(notebook: dict, width: int = WIDTH) -> list[tuple[int, str]]:
    """(cell number, line) for every output line of ``notebook`` wider than ``width``."""
    found = []
    for number, cell in enumerate(notebook.get("cells", [])):
        for output in cell.get("outputs", []):
            for text in output_texts(output):
                found += [(number, line) for line in text.splitlines() if len(line) > width]
    return found


def shows_outputs(notebook: dict) -> bool:
    """Whether any cell of a notebook that has code cells holds an output."""
    cells = [cell for cell in notebook.get("cells", []) if cell.get("cell_type") == "code"]
    return not cells or any(cell.get("outputs") for cell in cells)


def main(argv: list[str]) -> int:
    executed = Path(argv[0] if argv else "_build") / "jupyter_execute"
    notebooks = sorted(executed.rglob("*.ipynb"))
    if not notebooks:
        print(f"error: no executed notebooks under {executed} (build the book first)")
        return 1
    failures = 0
    for path in notebooks:
        notebook = json.loads(path.read_text(encoding="utf-8"))
        if not shows_outputs(notebook):
            failures += 1
            print(f"{path}: no cell has an output (was the notebook written unexecuted?)")
        for number, line in wide_lines(notebook):
            failures += 1
            chapter = path.relative_to(executed).with_suffix(".md")
            print(f"{chapter}: cell {number}: {len(line)} columns: {line[:60]}...")
    print(f"{len(notebooks)} notebooks, {failures} output lines wider than {WIDTH} columns")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
