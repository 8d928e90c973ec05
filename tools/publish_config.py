"""Write the book's configuration for publishing: _config.yml plus the repository's URL, so
that every page has repository, issue and edit buttons.

    python tools/publish_config.py CONFIG URL OUT

Jupyter Book 1.x takes no configuration override on its command line: `make build
REPOSITORY_URL=URL` (and `make test`) writes the merged file from _config.yml and builds with
`jupyter-book build . --config OUT`.
The GitHub workflow passes its own repository's URL, so no URL is committed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

BUTTONS = ("use_repository_button", "use_issues_button", "use_edit_page_button")


def publish_config(config: dict, url: str, config_dir: Path) -> dict:
    """``config`` with the repository at ``url`` and its buttons on. Local extensions' folders
    become absolute, since Jupyter Book reads them relative to the file that names them."""
    merged = dict(config)
    merged["repository"] = {"url": url, "branch": "main", "path_to_book": ""}
    merged["html"] = {**config.get("html", {}), **dict.fromkeys(BUTTONS, True)}
    sphinx = dict(config.get("sphinx", {}))
    if "local_extensions" in sphinx:
        folders = sphinx["local_extensions"].items()
        sphinx["local_extensions"] = {name: str(config_dir / path) for name, path in folders}
        merged["sphinx"] = sphinx
    return merged


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: publish_config.py CONFIG URL OUT", file=sys.stderr)
        return 2
    source, url, out = Path(argv[0]), argv[1].rstrip("/"), Path(argv[2])
    if not url.startswith(("https://", "http://")):
        print(f"error: the repository URL is not https://HOST/OWNER/NAME: {url!r}", file=sys.stderr)
        return 2
    config = yaml.safe_load(source.read_text(encoding="utf-8"))
    merged = publish_config(config, url, source.resolve().parent)
    out.parent.mkdir(parents=True, exist_ok=True)
    header = f"# Written by tools/publish_config.py from {source}: edit that file, not this one.\n"
    out.write_text(header + yaml.safe_dump(merged, sort_keys=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
