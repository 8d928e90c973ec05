"""A Sphinx extension: each script appears once in a page.

Sphinx 7 writes an inline script that an extension adds after the builder starts twice
(sphinx-doc/sphinx#13402, fixed in Sphinx 8.2): sphinx-thebe's ``const THEBE_JS_URL = ...``
then fails in the browser as a redeclaration. _config.yml registers this extension under
``sphinx: local_extensions``; it drops the second copy from every page's scripts.
"""

from __future__ import annotations


def script_key(script) -> tuple:
    """What makes two scripts the same: Sphinx writes an inline one's missing file as ''."""
    return (script.filename or "", script.priority, *sorted(script.attributes.items()))


def drop_repeated_scripts(app, pagename, templatename, context, doctree) -> None:
    unique = {}
    for script in context["script_files"]:
        unique.setdefault(script_key(script), script)
    context["script_files"][:] = unique.values()


def setup(app):
    # After every other handler, which may add scripts of their own to the page.
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
