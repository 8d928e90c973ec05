"""Publishing the book: the configuration with the repository's URL, the notebook downloads,
the GitHub workflow, and the browser check of every built page (tools/)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
URL = "https://github.com/someone/tiny-book"


def load_tool(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


publish_config = load_tool("publish_config")
check_browser = load_tool("check_browser")

CHAPTER = """\
---
jupytext:
  text_representation:
    format_name: myst
kernelspec:
  name: python3
  display_name: Python 3
---
# Chapter

```{code-cell}
print(6 * 7)
```
"""


def test_the_published_configuration_names_the_repository_and_turns_its_buttons_on(tmp_path):
    config = {
        "title": "T",
        "html": {"home_page_in_navbar": True, "use_repository_button": False},
        "sphinx": {"local_extensions": {"ext": "tools"}, "config": {"numfig": True}},
    }
    merged = publish_config.publish_config(config, URL, tmp_path)
    assert merged["repository"] == {"url": URL, "branch": "main", "path_to_book": ""}
    assert merged["html"] == {
        "home_page_in_navbar": True,
        "use_repository_button": True,
        "use_issues_button": True,
        "use_edit_page_button": True,
    }
    assert merged["sphinx"] == {
        "local_extensions": {"ext": str(tmp_path / "tools")},
        "config": {"numfig": True},
    }
    assert config["sphinx"]["local_extensions"] == {"ext": "tools"}  # the input is unchanged


def test_a_repository_url_without_its_scheme_is_refused(tmp_path, capsys):
    out = tmp_path / "out.yml"
    assert publish_config.main([str(ROOT / "_config.yml"), "github.com/a/b", str(out)]) == 2
    assert "https://HOST/OWNER/NAME" in capsys.readouterr().err
    assert not out.exists()


@pytest.fixture(scope="module")
def tiny_book(tmp_path_factory) -> Path:
    """A two-page book built as `make build REPOSITORY_URL=...` builds the real one: through
    tools/publish_config.py, with the book's local extensions named by a relative path."""
    book = tmp_path_factory.mktemp("book")
    tools = os.path.relpath(ROOT / "tools", book)
    config = {
        "title": "Tiny",
        "execute": {"execute_notebooks": "force"},
        "sphinx": {"local_extensions": {"notebook_downloads": tools, "unique_scripts": tools}},
    }
    (book / "_config.yml").write_text(yaml.safe_dump(config))
    toc = {"format": "jb-book", "root": "intro", "chapters": [{"file": "chapter"}]}
    (book / "_toc.yml").write_text(yaml.safe_dump(toc))
    (book / "intro.md").write_text("# Tiny\n\nA page without code.\n")
    (book / "chapter.md").write_text(CHAPTER)
    merged = book / "_build" / "publish_config.yml"
    tool = [sys.executable, str(ROOT / "tools" / "publish_config.py")]
    subprocess.run([*tool, str(book / "_config.yml"), URL, str(merged)], check=True)
    build = [str(BIN / "jupyter-book"), "build", str(book), "--config", str(merged), "-W"]
    subprocess.run(build, check=True, capture_output=True)
    return book / "_build" / "html"


def download_menu(page: str) -> list[str]:
    menu = page.split('class="dropdown dropdown-download-buttons', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'href="([^"]+)"', menu)


def test_a_book_built_with_a_url_has_repository_issue_and_edit_buttons(tiny_book):
    page = (tiny_book / "chapter.html").read_text()
    assert f'href="{URL}"' in page
    assert f'href="{URL}/edit/main/chapter.md"' in page
    assert f'href="{URL}/issues/new?' in page


def test_a_chapter_offers_its_executed_notebook_and_the_archive_of_all(tiny_book):
    assert download_menu((tiny_book / "chapter.html").read_text()) == [
        "_sources/chapter.ipynb",
        "_sources/chapter.md",
        "notebooks.zip",
    ]
    notebook = json.loads((tiny_book / "_sources" / "chapter.ipynb").read_text())
    outputs = [output for cell in notebook["cells"] for output in cell.get("outputs", [])]
    assert "".join(outputs[0]["text"]) == "42\n"
    with zipfile.ZipFile(tiny_book / "notebooks.zip") as archive:
        assert archive.namelist() == ["chapter.ipynb"]
        assert json.loads(archive.read("chapter.ipynb")) == notebook


def test_a_page_served_from_the_execution_cache_offers_its_outputs(tmp_path):
    tools = os.path.relpath(ROOT / "tools", tmp_path)
    config = {
        "title": "Cached",
        "execute": {"execute_notebooks": "cache"},
        "sphinx": {"local_extensions": {"notebook_downloads": tools}},
    }
    (tmp_path / "_config.yml").write_text(yaml.safe_dump(config))
    toc = {"format": "jb-book", "root": "chapter"}
    (tmp_path / "_toc.yml").write_text(yaml.safe_dump(toc))
    (tmp_path / "chapter.md").write_text(CHAPTER)
    build = [str(BIN / "jupyter-book"), "build", str(tmp_path), "-W"]
    subprocess.run(build, check=True, capture_output=True)
    done = subprocess.run([*build, "--all"], check=True, capture_output=True, text=True)
    assert "Using cached notebook" in done.stdout + done.stderr
    for path in ["_build/jupyter_execute/chapter.ipynb", "_build/html/_sources/chapter.ipynb"]:
        notebook = json.loads((tmp_path / path).read_text())
        outputs = [output for cell in notebook["cells"] for output in cell.get("outputs", [])]
        assert "".join(outputs[0]["text"]) == "42\n", path


def test_a_page_without_code_offers_no_notebook_of_its_own(tiny_book):
    assert download_menu((tiny_book / "intro.html").read_text()) == [
        "_sources/intro.md",
        "notebooks.zip",
    ]


def test_each_script_appears_once_in_a_page(tiny_book):
    page = (tiny_book / "chapter.html").read_text()
    assert page.count("const THEBE_JS_URL") == 1
    assert page.count("var togglebuttonSelector") == 1


def test_the_workflow_is_valid_and_passes_its_repository_url_to_the_build():
    workflow = ROOT / ".github" / "workflows" / "book.yml"
    check = [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows"]
    done = subprocess.run([*check, str(workflow)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    steps = yaml.safe_load(workflow.read_text())["jobs"]["build"]["steps"]
    runs = [step["run"] for step in steps if "run" in step]
    url = "${{ github.server_url }}/${{ github.repository }}"
    assert runs == [f'make test REPOSITORY_URL="{url}"']


# The browser check, on a hand-made book folder.


def write_pages(root: Path, pages: dict[str, str]) -> None:
    for name, body in pages.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"<!DOCTYPE html><html><head></head><body>{body}</body></html>")


def test_the_pages_are_the_html_files_outside_the_underscore_folders(tmp_path):
    write_pages(tmp_path, {"index.html": "", "book/a.html": "", "_static/x.html": ""})
    assert check_browser.pages(tmp_path) == [tmp_path / "book/a.html", tmp_path / "index.html"]


def test_a_redirecting_page_is_read_as_its_target(tmp_path):
    page = tmp_path / "index.html"
    page.write_text('<meta http-equiv="Refresh" content="0; url=book/intro.html" />')
    assert check_browser.redirect(page) == "book/intro.html"
    page.write_text("<p>content</p>")
    assert check_browser.redirect(page) is None


def test_links_to_missing_pages_and_anchors_are_broken(tmp_path):
    write_pages(tmp_path, {"a.html": "", "b/index.html": "", "c.html": ""})
    (tmp_path / "file.zip").write_bytes(b"")
    base = "http://127.0.0.1:1/"
    ids = {tmp_path / "a.html": {"top", "x y"}, tmp_path / "b/index.html": set()}
    links = [
        base + "a.html#top",
        base + "a.html#x%20y",
        base + "a.html",
        base + "b/",
        base + "file.zip",
        base + "c.html#unread",  # a page not opened: only its existence is known
        "https://example.com/missing.html",
        base + "missing.html",
        base + "a.html#nowhere",
        base + "a.html#nowhere",
    ]
    found = check_browser.broken_links(links, base, tmp_path, ids)
    assert found == ["broken link: missing.html", "broken anchor: a.html#nowhere"]


def test_what_a_page_shows_becomes_its_problems():
    seen = {
        "console": ["a.html 3:1 Uncaught ReferenceError: f is not defined"],
        "images": ["missing.png"],
        "latex": ["\\(x\\)"],
        "math_errors": ["Undefined control sequence \\foo"],
        "wide_code": ["x = 1"],
    }
    assert check_browser.page_problems(seen) == [
        "JavaScript error: a.html 3:1 Uncaught ReferenceError: f is not defined",
        "image did not load: missing.png",
        "unrendered LaTeX: '\\\\(x\\\\)'",
        "MathJax error: Undefined control sequence \\foo",
        "code wider than its box: 'x = 1'",
    ]


def browser_missing() -> str | None:
    """Why the browser test cannot run here, or None."""
    try:
        check_browser.find_program("CHROME_BINARY", check_browser.BROWSERS)
        check_browser.find_program("CHROMEDRIVER", ("chromedriver",))
    except SystemExit as err:
        return str(err)
    return None if importlib.util.find_spec("selenium") else "selenium is not installed"


# One pixel, a valid PNG.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0000003010100c9fe92ef0000000049454e44ae426082"
)


def mathjax(folder: Path) -> str:
    """A script tag for the MathJax that the book serves (sphinx-mathjax-offline's copy)."""
    dist = importlib.metadata.distribution("sphinx-mathjax-offline")
    (folder / "mathjax").symlink_to(dist.locate_file("sphinx-mathjax-offline/static/mathjax"))
    return '<script defer src="mathjax/tex-chtml.js"></script>'


@pytest.mark.skipif(bool(browser_missing()), reason=str(browser_missing()))
def test_the_browser_finds_every_kind_of_problem_and_nothing_on_a_good_page(tmp_path, capsys):
    (tmp_path / "pixel.png").write_bytes(PIXEL)
    script = mathjax(tmp_path)
    good = (
        f'{script}<h1 id="top">Good</h1><img src="pixel.png"><a href="bad.html">b</a>'
        '<p><span class="math">\\(x^2\\)</span></p><pre>\\(x\\)</pre>'
        f'<pre style="width: 800px">{"y" * 88}</pre>'
    )
    bad = (
        f"{script}<script>undefinedFunction()</script>"
        '<img src="missing.png">'
        '<p><span class="math">\\(x^{2\\)</span></p>'
        '<p><span class="math">\\(\\undefinedmacro\\)</span></p>'
        '<p><span class="math">\\(a \\over b \\over c\\)</span></p>'
        '<a href="good.html#top">ok</a><a href="good.html#nowhere">x</a><a href="gone.html">x</a>'
        f'<pre style="width: 300px; overflow-x: auto">{"z" * 88}</pre>'
    )
    write_pages(tmp_path, {"good.html": good, "bad.html": bad})
    (tmp_path / "index.html").write_text('<meta http-equiv="refresh" content="0; url=gone.html">')
    found = check_browser.check(tmp_path)
    assert found[tmp_path / "good.html"] == []
    assert found[tmp_path / "index.html"] == ["broken link: gone.html"]
    problems = found[tmp_path / "bad.html"]
    console = sorted(problems[:2])  # the console also reports the missing image
    assert "undefinedFunction is not defined" in console[0]
    assert "missing.png - Failed to load resource" in console[1]
    assert problems[2:] == [
        "image did not load: missing.png",
        "unrendered LaTeX: '\\\\(x^{2\\\\)'",
        "MathJax error: Ambiguous use of \\over",
        "MathJax error: undefined macro \\undefinedmacro",
        f"code wider than its box: {'z' * 60!r}",
        "broken anchor: good.html#nowhere",
        "broken link: gone.html",
    ]
    assert check_browser.main([str(tmp_path)]) == 1
    assert "3 pages checked in Chromium, 10 problems" in capsys.readouterr().out


def test_a_folder_without_a_built_book_is_refused(tmp_path, capsys):
    assert check_browser.main([str(tmp_path)]) == 1
    assert "no built book" in capsys.readouterr().out


def test_a_missing_browser_is_named(monkeypatch):
    monkeypatch.delenv("CHROMEDRIVER", raising=False)
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(SystemExit, match="none of chromedriver on PATH"):
        check_browser.find_program("CHROMEDRIVER", ("chromedriver",))
