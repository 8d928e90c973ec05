"""``python -m gpt_from_scratch.commands.data fetch [--all | NAME ...]``: find or download the
data sets, each checked against its SHA-256, and print where they are."""

from __future__ import annotations

import argparse

from gpt_from_scratch import data


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m gpt_from_scratch.commands.data",
        description="Find or download the data sets.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    fetch = sub.add_parser("fetch", help="make data sets available locally, verified")
    fetch.add_argument("names", nargs="*", help=f"data sets among: {', '.join(data.DATASETS)}")
    fetch.add_argument("--all", action="store_true", help="every data set")
    args = parser.parse_args(argv)
    names = list(data.DATASETS) if args.all or not args.names else args.names
    try:
        for name in names:
            print(f"{name:16s} {data.path(name)}")
    except data.DataError as err:
        parser.exit(1, f"error: {err}\n")


if __name__ == "__main__":
    main()
