"""``python -m gpt_from_scratch.commands.data fetch [--all | NAME ...]``: find or download the
data sets, each checked against its SHA-256, and print where they are.

Exit status: 0 done, 2 a bad flag, 1 an unknown, missing or corrupt data set, 130 Ctrl-C; each
failure is one ``error:`` line (``--debug`` shows the traceback).
"""

from __future__ import annotations

import argparse
import sys

from gpt_from_scratch import data
from gpt_from_scratch.commands import cli


def fetch(args: argparse.Namespace) -> None:
    names = list(data.DATASETS) if args.all or not args.names else args.names
    for name in names:
        data.dataset(name)  # an unknown name is refused before anything is downloaded
    for name in names:
        print(f"{name:16s} {data.path(name)}")


def build_parser() -> argparse.ArgumentParser:
    parser = cli.Parser(
        prog="python -m gpt_from_scratch.commands.data",
        description="Find or download the data sets.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_fetch = sub.add_parser("fetch", help="make data sets available locally, verified")
    p_fetch.add_argument("names", nargs="*", help=f"data sets among: {', '.join(data.DATASETS)}")
    p_fetch.add_argument("--all", action="store_true", help="every data set")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command; the exit status is :mod:`~gpt_from_scratch.commands.cli`'s."""
    return cli.run(fetch, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
