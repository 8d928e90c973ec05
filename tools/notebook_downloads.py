"""A Sphinx extension: each chapter's page offers its executed notebook for download, and one
archive holds every executed notebook.

sphinx-book-theme lists a page's ``.ipynb`` in its download menu only when the page context
names one (``ipynb_source``), which it sets only when launch buttons are configured. This
extension copies each executed notebook (myst-nb writes them to ``<build>/jupyter_execute``)
next to the page sources, ``_sources/<page>.ipynb``, names it in the context, and adds the
archive, ``notebooks.zip`` at the top of the HTML folder, to every download menu.
_config.yml registers it under ``sphinx: local_extensions``.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import nbformat
from jupyter_cache import get_cache

ARCHIVE = "notebooks.zip"


def executed_notebook(app, pagename: str) -> Path:
    """Where myst-nb wrote the executed notebook of ``pagename`` (it may not exist)."""
    return Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"


def restore_cached_outputs(app, env) -> None:
    """Put the outputs back into the executed notebooks of pages served from the cache.

    For a page whose outputs come from the execution cache, myst-nb writes the notebook it read
    to ``jupyter_execute``, not the one merged with the cached outputs; merged here, the
    downloads and tools/check_outputs.py see what the page shows.
    """
    if app.config.nb_execution_mode != "cache":
        return
    cache = get_cache(env.mystnb_config.execution_cache_path)
    for name in env.found_docs:
        path = executed_notebook(app, name)
        if not path.exists():
            continue
        notebook = nbformat.read(path, as_version=4)
        if any(cell.get("outputs") for cell in notebook.cells):
            continue
        try:
            _, merged = cache.merge_match_into_notebook(notebook)
        except KeyError:  # not in the cache: nothing to restore
            continue
        partial = path.with_suffix(".ipynb.partial")
        partial.write_text(nbformat.writes(merged), encoding="utf-8")
        os.replace(partial, path)


def offer_notebook(app, pagename, templatename, context, doctree) -> None:
    """Copy the page's executed notebook into ``_sources`` and name it for the theme's menu."""
    notebook = executed_notebook(app, pagename)
    if not notebook.exists():
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(notebook, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def offer_archive(app, pagename, templatename, context, doctree) -> None:
    """Add the archive of every executed notebook to the page's download menu."""
    for group in context.get("header_buttons", []):
        if group.get("label") == "download-buttons":  # before its last entry, print to PDF
            group["buttons"].insert(-1, archive_button(context["pathto"](ARCHIVE, 1)))


def archive_button(url: str) -> dict:
    """A link in the theme's button format (sphinx_book_theme.header_buttons)."""
    return {
        "type": "link",
        "url": url,
        "text": "all notebooks (.zip)",
        "tooltip": "Download every executed notebook of the book",
        "icon": "fas fa-file-archive",
        "label": "download-notebooks-button",
    }


def write_archive(app, exception) -> None:
    """After an HTML build, write every executed notebook of the book into one zip file."""
    if exception is not None or app.builder.format != "html":
        return
    archive = Path(app.outdir) / ARCHIVE
    partial = archive.with_suffix(".zip.partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zipped:
        for name in sorted(app.env.found_docs):
            notebook = executed_notebook(app, name)
            if notebook.exists():
                zipped.write(notebook, f"{name}.ipynb")
    os.replace(partial, archive)


def setup(app):
    # The theme builds its download menu at priority 501: name the notebook before, add after.
    app.connect("env-updated", restore_cached_outputs)
    app.connect("html-page-context", offer_notebook, priority=400)
    app.connect("html-page-context", offer_archive, priority=600)
    app.connect("build-finished", write_archive)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
