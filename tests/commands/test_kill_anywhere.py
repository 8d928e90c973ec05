"""Kill a training run at every disk-write boundary, and check that nothing is ever lost.

A tiny ``gpt train`` and ``makemore`` run saves a checkpoint at every step. The hook of
:mod:`gpt_from_scratch.files` (``GPT_FROM_SCRATCH_CRASH_AT=N:SIGNAL``) makes the process send
itself SIGKILL or SIGINT at its Nth boundary: before and after every file write, fsync and
rename. After each kill the run folder must load and sample, and ``--resume`` must finish the
run with exactly the weights, optimizer state and losses of an uninterrupted one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from gpt_from_scratch.commands import gpt, makemore
from gpt_from_scratch.files import CRASH_AT
from gpt_from_scratch.runs import RunFolder

SIGNALS = {"SIGKILL": -signal.SIGKILL, "SIGINT": 130}


def gpt_train(text: Path, out: Path) -> list[str]:
    sizes = "--n-layer 1 --n-head 1 --n-embd 8 --block-size 4 --batch-size 2 --eval-iters 1"
    steps = "--max-iters 2 --eval-interval 1 --keep 1 --quiet"
    return ["train", "--input", str(text), "--out", str(out), *f"{sizes} {steps}".split()]


def makemore_train(words: Path, out: Path) -> list[str]:
    sizes = "--type mlp --block-size 2 --n-embd 2 --n-hidden 8 --batch-size 4"
    steps = "--steps 2 --eval-every 1 --keep 1 --quiet --num-samples 1"
    return ["-i", str(words), "-o", str(out), *f"{sizes} {steps}".split()]


COMMANDS = {
    "gpt": (gpt, gpt_train, lambda out: ["sample", "--out", str(out), "--length", "5"]),
    "makemore": (
        makemore,
        makemore_train,
        lambda out: ["-o", str(out), "--sample-only", "--num-samples", "2"],
    ),
}


def run_command(module, argv: list[str], crash_at: str) -> int:
    """Run a command in a fresh process (with the crash hook set); its exit status."""
    env = {**os.environ, CRASH_AT: crash_at}
    # A process started in the background inherits SIGINT ignored; Ctrl-C must reach it.
    code = (
        "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        f"from {module.__name__} import main; sys.exit(main({argv!r}))"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=120)
    return done.returncode


def final_state(out: Path) -> tuple[dict, list]:
    """The last checkpoint's arrays, and what its metadata says of the run (not its times)."""
    arrays, meta = RunFolder(out).load("last")
    history = meta.get("history", {})
    said = [meta["step"], meta.get("dev_loss"), meta.get("rng")]
    return arrays, [*said, history.get("loss"), history.get("evals")]


def same_arrays(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        a[f].keys() == b[f].keys() and all(np.array_equal(a[f][n], b[f][n]) for n in a[f])
        for f in a
    )


@pytest.fixture
def inputs(tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("To be, or not to be, that is the question.\n" * 8, encoding="utf-8")
    words = tmp_path / "words.txt"
    words.write_text("\n".join(["emma", "olivia", "ava", "isabella", "sophia"] * 8) + "\n")
    return {"gpt": text, "makemore": words}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_kill_at_any_boundary_loses_nothing_and_resumes_exactly(command, inputs, tmp_path):
    module, train_argv, sample_argv = COMMANDS[command]
    reference = tmp_path / "reference"
    labels = tmp_path / "boundaries.txt"
    assert run_command(module, train_argv(inputs[command], reference), f"count:{labels}") == 0
    boundaries = labels.read_text().splitlines()
    assert len(boundaries) > 30, boundaries
    expected_arrays, expected_losses = final_state(reference)

    cases = [(n, name) for n in range(1, len(boundaries) + 1) for name in SIGNALS]

    def kill(case):
        n, name = case
        out = tmp_path / f"killed-{n}-{name}"
        status = run_command(module, train_argv(inputs[command], out), f"{n}:{name}")
        return case, out, status

    with ThreadPoolExecutor(max_workers=2) as pool:
        killed = list(pool.map(kill, cases))

    for (n, name), out, status in killed:
        where = f"{name} at boundary {n} ({boundaries[n - 1]})"
        assert status == SIGNALS[name], where
        run = RunFolder(out)
        if run.holds_run():
            run.load("last"), run.load("best")
            assert module.main(sample_argv(out)) == 0, where
            assert module.main([*train_argv(inputs[command], out), "--resume"]) == 0, where
        else:
            assert module.main(train_argv(inputs[command], out)) == 0, where
        arrays, losses = final_state(out)
        assert same_arrays(arrays, expected_arrays), where
        assert losses == expected_losses, where


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_second_run_into_a_busy_folder_stops_at_once_naming_the_first(
    command, inputs, tmp_path, capsys
):
    module, train_argv, _ = COMMANDS[command]
    out = tmp_path / "run"
    argv = train_argv(inputs[command], out)
    code = f"import sys; from {module.__name__} import main; sys.exit(main({argv!r}))"
    # The first run stops itself (SIGSTOP) at its first write, holding the folder's lock.
    env = {**os.environ, CRASH_AT: "1:SIGSTOP"}
    first = subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE)
    try:
        while not (out / "lock").exists() or not (out / "lock").read_text().strip():
            assert first.poll() is None, first.stderr.read()
            time.sleep(0.01)
        with open(f"/proc/{first.pid}/stat") as stat:
            while stat.read().split()[2] != "T":  # not yet stopped
                stat.seek(0)
                time.sleep(0.01)
        assert module.main(argv) == 1
        assert f"another run (process {first.pid}) is writing here" in capsys.readouterr().err
    finally:
        first.send_signal(signal.SIGCONT)
        assert first.wait(timeout=120) == 0
    assert RunFolder(out).load("last")[1]["step"] == 2
