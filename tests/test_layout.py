"""The library's floors follow the book, read from every module's imports (with ``ast``).

- the shared plumbing (``data``, ``checkpoint``, ``runs``, ``files``) imports no part;
- a part imports only the parts before it, in the book's order, and never the commands;
- only the commands floor (and each part's ``__main__``, the thin entry into it) imports
  ``argparse`` or ``tqdm``.
"""

import ast
from pathlib import Path

import pytest

import gpt_from_scratch

PACKAGE = Path(gpt_from_scratch.__file__).parent
PARTS = ["micrograd", "tensor", "makemore", "gpt", "bpe"]  # the book's order
PLUMBING = {"data", "checkpoint", "files", "runs"}
COMMANDS_ONLY = {"argparse", "tqdm"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, relative imports resolved to absolute names."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.add(module)
            names.update(f"{module}.{alias.name}" for alias in node.names)
    return names


def floor(module: str) -> str:
    """``plumbing``, ``commands``, a part's name, or ``root`` for the package itself."""
    parts = module.split(".")
    if len(parts) == 1:
        return "root"
    if parts[-1] == "__main__" or parts[1] == "commands":
        return "commands"
    return "plumbing" if parts[1] in PLUMBING else parts[1]


MODULES = sorted(PACKAGE.rglob("*.py"))


def library_imports(path: Path) -> set[str]:
    """The floors of the library that ``path`` imports, other than its own."""
    own = floor(module_name(path))
    floors = {
        floor(name) for name in imported_modules(path) if name.startswith("gpt_from_scratch.")
    }
    return floors - {own, "root"}


def test_every_part_and_floor_is_found():
    found = {floor(module_name(path)) for path in MODULES}
    assert found == {"root", "plumbing", "commands", *PARTS}


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_floors_follow_the_book(path):
    own = floor(module_name(path))
    imports = library_imports(path)
    if own in ("plumbing", "root"):
        assert imports == set(), f"the shared plumbing imports {imports}"
    elif own in PARTS:
        later = {
            name for name in imports if name == "commands" or name in PARTS[PARTS.index(own) :]
        }
        assert later == set(), f"Part {own} imports a later floor: {later}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_only_commands_parse_arguments_and_draw_progress_bars(path):
    tops = {name.split(".")[0] for name in imported_modules(path)}
    if floor(module_name(path)) != "commands":
        assert tops & COMMANDS_ONLY == set()


def test_relative_imports_are_resolved():
    bpe_base = PACKAGE / "bpe" / "basic.py"
    assert "gpt_from_scratch.bpe.base" in imported_modules(bpe_base)
