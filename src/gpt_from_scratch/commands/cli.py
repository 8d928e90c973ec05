"""What every command shares: checked flags, one-line errors, exit codes and ``--debug``.

A command builds its :class:`Parser`, whose numeric flags use the checked types below (so a bad
value is refused before any work), and runs its body through :func:`run`:

- exit 0 when done;
- exit 2 for a usage error: a bad flag, or a :class:`UsageError` raised by the body;
- exit 1 for any other failure: a bad file, data set or checkpoint, a locked run folder, a
  non-finite loss, running out of memory;
- exit 130 for Ctrl-C, after the body has saved what it keeps.

Each failure prints one line, ``error: <what> (<where>)``, on standard error; ``--debug``
prints the traceback instead.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import traceback
from collections.abc import Callable
from typing import NoReturn

from gpt_from_scratch import data
from gpt_from_scratch.checkpoint import CheckpointError
from gpt_from_scratch.data import DataError, read_text_file
from gpt_from_scratch.runs import RunFolder, RunLockedError

EXIT_FAILURE, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130
# Above this an integer flag is surely a typo; a flag may set its own, lower bound.
LARGEST_COUNT = 10**9
SEED_LIMIT = 2**32


class UsageError(ValueError):
    """The command was asked for something it cannot do; the message says why."""


class Interrupted(Exception):
    """Ctrl-C, caught by a command after saving; the message says what was kept."""


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors are one line, and which takes ``--debug``."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # SUPPRESS: a subcommand's parser must not reset a --debug given before it
        self.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks"
        )

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {message} (see {self.prog} --help)\n")


def integer(low: int = 1, high: int = LARGEST_COUNT) -> Callable[[str], int]:
    """An argparse type: an integer in [low, high]."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be in [{low}, {high}], got {value}")
        return value

    parse.__name__ = "integer"
    return parse


def real(low: float = 0.0, high: float = math.inf, *, low_open: bool = True):
    """An argparse type: a finite number above ``low`` (or equal, if not ``low_open``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        above = value > low if low_open else value >= low
        if not math.isfinite(value) or not above or value > high:
            bound = f"{'>' if low_open else '>='} {low:g}"
            bound += f" and <= {high:g}" if math.isfinite(high) else ""
            raise argparse.ArgumentTypeError(f"must be a finite number {bound}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


count = integer(1)
seed = integer(0, SEED_LIMIT - 1)
positive = real(0.0)
fraction = real(0.0, 1.0, low_open=False)


def read_text_input(source: str, empty: str = "the file is empty") -> str:
    """The text of a UTF-8 file, or of a data set named by the data module; a missing,
    binary or empty one is an error naming it (``empty`` says why an empty one is)."""
    text = read_text_file(data.file_or_dataset(source))
    if not text:
        raise ValueError(f"{source}: {empty}")
    return text


def available_memory() -> int:
    """Bytes of memory this process could still get: MemAvailable on Linux."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_memory(needed: int, what: str) -> None:
    """A :class:`UsageError` if ``needed`` bytes (an estimate) exceed the available memory."""
    available = available_memory()
    if needed > available:
        raise UsageError(
            f"{what} needs about {needed / 2**30:.1f} GiB of memory, more than the "
            f"{available / 2**30:.1f} GiB available; choose smaller sizes"
        )


def claim(run: RunFolder, resuming: bool, *, also: tuple[str, ...] = ()) -> None:
    """Refuse to train into a folder that holds something else, or to resume nothing.

    ``also`` names files of the command's own that a run folder may hold (its log).
    """
    if resuming and not run.holds_run():
        raise UsageError(f"--out {run.path} holds no saved run to --resume; start one without")
    if not resuming and run.holds_run():
        raise UsageError(
            f"--out {run.path} already holds a run: pass --resume to continue it, "
            "or delete the folder (or choose another --out) to start afresh"
        )
    allowed = also if resuming else ()
    strangers = [name for name in run.leftovers() if name not in allowed]
    if strangers:
        raise UsageError(
            f"--out {run.path} holds files that are not a run ({', '.join(strangers)}); "
            "choose an empty or new folder"
        )


def kept(run: RunFolder) -> str:
    """Where the run stands on disk, for messages."""
    if not run.holds_run():
        return f"no checkpoint was saved in {run.path}"
    return f"the run is saved at step {run.load('last')[1]['step']} in {run.path}"


def stop_if_diverged(run: RunFolder):
    """A training-loop callback that stops at the first loss that is not a finite number.

    Put it before the callbacks that save, so that no checkpoint after the failure is kept.
    """

    def callback(step: int, history) -> None:
        if not math.isfinite(history.loss[-1]):
            raise ValueError(
                f"the training loss became {history.loss[-1]} at step {step}; "
                f"{kept(run)} (try a lower --lr)"
            )

    return callback


def run(body: Callable[[argparse.Namespace], int | None], args: argparse.Namespace) -> int:
    """Run a command's body and turn what it raises into one line and an exit status."""
    try:
        return body(args) or 0
    except Exception as err:
        if getattr(args, "debug", False):
            traceback.print_exc()
        else:
            print(f"error: {describe(err)}", file=sys.stderr)
        if isinstance(err, Interrupted):
            return EXIT_INTERRUPTED
        return EXIT_USAGE if isinstance(err, UsageError) else EXIT_FAILURE
    except KeyboardInterrupt:
        print("error: interrupted (Ctrl-C)", file=sys.stderr)
        return EXIT_INTERRUPTED


def describe(err: Exception) -> str:
    """The one line that says what went wrong."""
    message = " ".join(str(err).split())
    if isinstance(err, (UsageError, Interrupted, CheckpointError, DataError, RunLockedError)):
        return message
    if isinstance(err, MemoryError):
        return f"out of memory ({message or 'an array did not fit'}); choose smaller sizes"
    if isinstance(err, OSError) and err.filename is not None:
        return f"{err.filename}: {err.strerror or message}"
    if isinstance(err, (ValueError, OSError)):
        return message
    return f"{type(err).__name__}: {message} (an unexpected failure; --debug shows where)"
