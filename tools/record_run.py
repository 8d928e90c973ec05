"""Run a training command whose run is too long for a book build, and record its result.

The book shows such runs (the full-length GPT of "Let's build GPT", for one) from the JSON this
script writes: the command, the day, the machine, the wall time, the last checkpoint's
history and settings, and the evaluations of ``log.jsonl`` where the command keeps one
(makemore does). Re-run it to refresh the numbers:

    python tools/record_run.py book/gpt/results/gpt_train_2000.json -- \
        python -m gpt_from_scratch.gpt train --input tinyshakespeare --out runs/gpt-book

The command must write a run folder (``--out``); a folder left from an earlier recording is
removed first, so the record is of one uninterrupted run.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

from gpt_from_scratch.files import atomic_write
from gpt_from_scratch.runs import RunFolder


def out_folder(command: list[str]) -> Path:
    if "--out" not in command:
        raise SystemExit("error: the recorded command needs --out, its run folder")
    return Path(command[command.index("--out") + 1])


def evaluations(out: Path) -> list[dict] | None:
    log = out / "log.jsonl"
    if not log.exists():
        return None
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def record(command: list[str]) -> dict:
    out = out_folder(command)
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run(command, check=True)
    seconds = time.perf_counter() - started
    _, meta = RunFolder(out).load("last")
    _, best = RunFolder(out).load("best")
    return {
        "command": " ".join(["python", *command[1:]] if command[0] == sys.executable else command),
        "date": datetime.date.today().isoformat(),
        "machine": ", ".join(
            part
            for part in (platform.machine(), f"{os.cpu_count()} cores", platform.processor())
            if part
        ),
        "wall_seconds": round(seconds, 1),
        "step": meta["step"],
        "best_step": best["step"],
        "config": meta.get("config"),
        "train_config": meta.get("train_config", meta.get("training")),
        "history": meta.get("history"),
        "best_dev_loss": best.get("best_dev_loss"),
        "log": evaluations(out),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("json", type=Path, help="where to write the record")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the command")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if command[:1] == ["python"]:
        command = [sys.executable, *command[1:]]
    result = record(command)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(args.json, (json.dumps(result, indent=1) + "\n").encode())
    print(f"wrote {args.json}: step {result['step']} in {result['wall_seconds']} s")


if __name__ == "__main__":
    main()
