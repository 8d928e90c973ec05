"""The book's convention for the code it shows (book/contributing.md), checked on the
chapters that follow it: every included block has a caption with its path, shown code and
code cells fit 88 columns, and the code shown outside dropdowns holds at most 3 ``raise``
lines: the guards live beside the rules, not in them."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(str(p.relative_to(ROOT)) for p in ROOT.glob("book/*/*.md"))
WIDTH = 88
MOST_RAISES = 3
INCLUDE = re.compile(r"```\{literalinclude\} (\S+)\n((?::[^\n]*\n)*)")


@dataclass
class Include:
    path: Path
    options: dict[str, str]
    lines: list[str]
    in_dropdown: bool


def option_lines(options: str) -> dict[str, str]:
    found = re.findall(r"^:([\w-]+):[ \t]*(.*)$", options, flags=re.M)
    return {key: value.strip().strip('"') for key, value in found}


def pyobject_lines(source: str, name: str) -> list[str]:
    """The lines of the function or class ``name`` (``Class.method``), decorators too."""
    node: ast.AST = ast.parse(source)
    for part in name.split("."):
        node = next(
            child
            for child in ast.iter_child_nodes(node)
            if isinstance(child, (ast.FunctionDef, ast.ClassDef)) and child.name == part
        )
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return source.splitlines()[first - 1 : node.end_lineno]


def selected_lines(source: str, options: dict[str, str]) -> list[str]:
    """The lines a literalinclude shows, for the options the book uses."""
    if "pyobject" in options:
        return pyobject_lines(source, options["pyobject"])
    lines = source.splitlines()
    start, stop = 0, len(lines)
    if "start-at" in options:
        start = next(i for i, line in enumerate(lines) if options["start-at"] in line)
    if "start-after" in options:
        start = 1 + next(i for i, line in enumerate(lines) if options["start-after"] in line)
    if "end-before" in options:
        stop = next(i for i in range(start, len(lines)) if options["end-before"] in lines[i])
    if "end-at" in options:
        stop = 1 + next(i for i in range(start, len(lines)) if options["end-at"] in lines[i])
    return lines[start:stop]


def dropdown_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges of ``:::{dropdown}`` blocks."""
    spans = []
    for match in re.finditer(r"^(:{3,})\{dropdown\}.*$", text, flags=re.M):
        fence = match.group(1)
        end = re.compile(rf"^{fence}\s*$", flags=re.M).search(text, match.end())
        spans.append((match.start(), end.end() if end else len(text)))
    return spans


def includes(chapter: str) -> list[Include]:
    md = ROOT / chapter
    text = md.read_text(encoding="utf-8")
    spans = dropdown_spans(text)
    found = []
    for match in INCLUDE.finditer(text):
        path = (md.parent / match.group(1)).resolve()
        options = option_lines(match.group(2))
        lines = selected_lines(path.read_text(encoding="utf-8"), options)
        inside = any(a <= match.start() < b for a, b in spans)
        found.append(Include(path, options, lines, inside))
    return found


def code_cells(chapter: str) -> list[str]:
    text = (ROOT / chapter).read_text(encoding="utf-8")
    return re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", text, flags=re.S)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_included_block_is_captioned_with_its_path(chapter):
    for include in includes(chapter):
        path = str(include.path.relative_to(ROOT))
        assert include.options.get("caption", "").startswith(path), (chapter, path)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_shown_code_fits_the_page(chapter):
    for include in includes(chapter):
        wide = [line for line in include.lines if len(line) > WIDTH]
        assert not wide, (include.path.name, include.options, wide)
    for cell in code_cells(chapter):
        wide = [line for line in cell.splitlines() if len(line) > WIDTH]
        assert not wide, wide


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_code_shown_holds_the_rule_not_the_guards(chapter):
    shown = [include for include in includes(chapter) if not include.in_dropdown]
    raises = [
        (include.path.name, line.strip())
        for include in shown
        for line in include.lines
        if line.strip().startswith("raise")
    ]
    assert len(raises) <= MOST_RAISES, raises


def test_the_reader_of_includes_follows_each_option(tmp_path):
    source = "def f():\n    return 1\n\n\nclass A:\n    def g(self):\n        raise X\n"
    assert pyobject_lines(source, "A.g") == ["    def g(self):", "        raise X"]
    assert selected_lines(source, {"start-at": "class A", "end-before": "raise"}) == [
        "class A:",
        "    def g(self):",
    ]
    text = ":::{dropdown} Solution\n```{literalinclude} x.py\n```\n:::\noutside\n"
    ((a, b),) = dropdown_spans(text)
    assert text.index("literalinclude") in range(a, b) and text.index("outside") >= b
