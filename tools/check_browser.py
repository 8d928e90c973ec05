"""Open every page of the built book in headless Chromium and fail on what a reader would see
broken: a JavaScript error, an image that did not load, a link to a page or an anchor of the
book that does not exist, LaTeX that MathJax left unrendered, or a block of code or output
that does not fit its box (the book writes them to 88 columns, which fit at ``WINDOW``).

    python tools/check_browser.py [_build/html]

It serves the folder on 127.0.0.1 (a free port), opens each page (every ``.html`` outside the
``_`` folders), waits for its images and for MathJax to finish, and reads the page as the
browser shows it. It prints one line per problem, ``page: what``, and exits with status 1 if
there is one. `make test` runs it after the strict build. The browser is Chromium (or Chrome)
and chromedriver from PATH, or the programs named by $CHROME_BINARY and $CHROMEDRIVER.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urljoin, urlsplit

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "chrome")
# TeX delimiters that MathJax removes when it renders; left in the text, a formula failed.
RAW_LATEX = ("\\(", "\\[", "$$", "\\begin{")
# A page that only sends the browser on (Jupyter Book's index.html) is checked as a link.
REDIRECT = re.compile(r'<meta http-equiv="refresh" content="\d+;\s*url=([^"]+)"', re.IGNORECASE)
NOTHING_SEEN = {
    "images": (), "ids": (), "latex": (), "math_errors": (), "wide_code": (), "console": ()
}
# The browser's window: a laptop screen, where the page's text column is about 770 px wide.
WINDOW = (1400, 1000)

# Runs in the page: waits for its images and MathJax, then reports what the reader sees.
READ_PAGE = r"""
const [RAW, done] = arguments;
const PLAIN = "pre, code, script, style, textarea, mjx-container, .highlight";
const until = async (ready, ms) => {
  for (const end = Date.now() + ms; !ready() && Date.now() < end; )
    await new Promise((wake) => setTimeout(wake, 50));
};
(async () => {
  const images = Array.from(document.images);
  images.forEach((img) => (img.loading = "eager"));
  await Promise.all(images.map((img) => img.decode().catch(() => null)));
  if (document.querySelector(".math")) {
    await until(() => window.MathJax && MathJax.startup && MathJax.startup.promise, 10000);
    if (window.MathJax && MathJax.startup) await MathJax.startup.promise;
  }
  const latex = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node; (node = walker.nextNode()); ) {
    if (!node.parentElement.closest(PLAIN) && RAW.some((mark) => node.data.includes(mark)))
      latex.push(node.data.trim().slice(0, 60));
  }
  done({
    images: images.filter((img) => img.naturalWidth === 0).map((img) => img.getAttribute("src")),
    links: Array.from(document.querySelectorAll("a[href]"), (a) => a.href),
    ids: Array.from(document.querySelectorAll("[id], a[name]"), (e) => e.id || e.name),
    latex,
    math_errors: [
      ...Array.from(document.querySelectorAll("mjx-merror"),
        (e) => e.getAttribute("data-mjx-error") || e.textContent),
      // MathJax writes an undefined macro's name in red (its noundefined extension).
      ...Array.from(document.querySelectorAll('mjx-assistive-mml mtext[mathcolor="red"]'),
        (e) => `undefined macro ${e.textContent}`),
    ],
    // A shown block (a hidden one has no width) that scrolls sideways.
    wide_code: Array.from(document.querySelectorAll("pre"))
      .filter((pre) => pre.clientWidth > 0 && pre.scrollWidth > pre.clientWidth + 1)
      .map((pre) => pre.innerText.split("\n")[0].slice(0, 60)),
  });
})();
"""


def pages(root: Path) -> list[Path]:
    """Every page of the built book: the ``.html`` files outside the ``_`` folders."""
    found = root.rglob("*.html")
    return sorted(p for p in found if not any(s.startswith("_") for s in p.relative_to(root).parts))


def page_problems(seen: dict) -> list[str]:
    """The problems of one page that the page alone shows, from what ``READ_PAGE`` returned
    and the browser's console (``seen["console"]``)."""
    problems = [f"JavaScript error: {message}" for message in seen["console"]]
    problems += [f"image did not load: {src}" for src in seen["images"]]
    problems += [f"unrendered LaTeX: {text!r}" for text in seen["latex"]]
    problems += [f"MathJax error: {error}" for error in seen["math_errors"]]
    problems += [f"code wider than its box: {line!r}" for line in seen["wide_code"]]
    return problems


def link_target(url: str, base: str, root: Path) -> tuple[Path, str] | None:
    """The file under ``root`` and the fragment that ``url`` points at, or None when the link
    leaves the book (another host or scheme)."""
    if not url.startswith(base):
        return None
    parts = urlsplit(url)
    path = root / unquote(parts.path).lstrip("/")
    if path.is_dir():
        path = path / "index.html"
    return path, unquote(parts.fragment)


def broken_links(links: list[str], base: str, root: Path, ids: dict[Path, set[str]]) -> list[str]:
    """The links of one page to a file of the book that does not exist, or to an anchor that
    is not an id of the page it names (``ids``: every opened page's ids)."""
    problems = []
    for url in dict.fromkeys(links):
        target = link_target(url, base, root)
        if target is None:
            continue
        path, fragment = target
        shown = url[len(base) :]
        if not path.is_file():
            problems.append(f"broken link: {shown}")
        elif fragment and path in ids and fragment not in ids[path]:
            problems.append(f"broken anchor: {shown}")
    return problems


def console_errors(driver, base: str) -> list[str]:
    """The browser console's errors since the last call, with the server's address cut."""
    entries = driver.get_log("browser")
    return [e["message"].replace(base, "") for e in entries if e["level"] == "SEVERE"]


def redirect(page: Path) -> str | None:
    """Where ``page`` sends the browser at once, or None for a page of its own."""
    found = REDIRECT.search(page.read_text(encoding="utf-8", errors="replace"))
    return found.group(1) if found else None


def read_page(driver, base: str, root: Path, page: Path) -> dict:
    """What the reader of ``page`` sees, as ``READ_PAGE`` reports it, and the console's errors;
    a page that sends the browser on shows one link, to its target."""
    url = base + quote(page.relative_to(root).as_posix())
    target = redirect(page)
    if target:
        return {**NOTHING_SEEN, "links": [urljoin(url, target)]}
    driver.get(url)
    seen = driver.execute_async_script(READ_PAGE, list(RAW_LATEX))
    seen["console"] = console_errors(driver, base)
    return seen


@contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve ``root`` on a free loopback port; yields its base URL (ending in ``/``)."""

    class Quiet(SimpleHTTPRequestHandler):
        def do_GET(self) -> None:
            # The browser asks for /favicon.ico on its own; no page links it.
            if self.path == "/favicon.ico" and not (root / "favicon.ico").exists():
                self.send_response(204)
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=root))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def find_program(variable: str, names: tuple[str, ...]) -> str:
    """The program named by ``$variable``, else the first of ``names`` on PATH."""
    found = os.environ.get(variable) or next(filter(None, map(shutil.which, names)), None)
    if not found:
        raise SystemExit(f"error: none of {', '.join(names)} on PATH (or set ${variable})")
    return found


@contextmanager
def headless_chromium() -> Iterator:
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = find_program("CHROME_BINARY", BROWSERS)
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(flag)
    options.add_argument("--window-size={},{}".format(*WINDOW))
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(find_program("CHROMEDRIVER", ("chromedriver",)))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def check(root: Path) -> dict[Path, list[str]]:
    """Every page of the book under ``root`` with its problems (an empty list when none)."""
    root = root.resolve()
    with serve(root) as base, headless_chromium() as driver:
        seen = {page: read_page(driver, base, root, page) for page in pages(root)}
    ids = {page: set(result["ids"]) for page, result in seen.items()}
    return {
        page: page_problems(result) + broken_links(result["links"], base, root, ids)
        for page, result in seen.items()
    }


def main(argv: list[str]) -> int:
    root = Path(argv[0] if argv else "_build/html")
    if not (root / "index.html").is_file():
        print(f"error: no built book in {root} (no index.html; build the book first)")
        return 1
    found = check(root)
    for page, problems in found.items():
        for problem in problems:
            print(f"{page.relative_to(root.resolve())}: {problem}")
    count = sum(map(len, found.values()))
    print(f"{len(found)} pages checked in Chromium, {count} problems")
    return 1 if count else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
