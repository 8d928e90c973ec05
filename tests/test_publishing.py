"""Publishing the book: the configuration with the repository's URL, the notebook downloads
(tools/), and the GitHub workflow."""

from __future__ import annotations

import importlib.util
import json
import os
import re
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
