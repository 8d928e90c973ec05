"""Run folders: a pointer naming whole step folders, kept recent and best, one writer at a time
(even across processes), and the leftovers of a killed run swept away when the lock is taken."""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gpt_from_scratch import runs
from gpt_from_scratch.checkpoint import CheckpointError
from gpt_from_scratch.runs import LOCK, POINTER, RunFolder, RunLockedError, step_name
from gpt_from_scratch.tensor import Tensor, manual_seed, nn, optim


def arrays_of(step):
    return {"model": {"w": np.full((2, 3), step, np.float32)}, "extra": {"n": np.array([step])}}


def save(run, step, best=False):
    return run.save(step, arrays_of(step), {"loss": 10.0 - step}, best=best)


def names(*steps):
    return [step_name(step) for step in steps]


def entries(pointer):
    return [pointer["last"], pointer["best"], *pointer["recent"]]


# -- saving and loading ---------------------------------------------------------------------------


def test_save_and_load_last_and_best(tmp_path):
    run = RunFolder(tmp_path / "run", keep=2)
    with run.lock():
        assert save(run, 1, best=True) == tmp_path / "run" / "steps" / step_name(1)
        save(run, 2, best=True)
        save(run, 3)
    reader = RunFolder(tmp_path / "run")  # another instance, with no lock, reads the same
    for which, step in [("last", 3), ("best", 2)]:
        arrays, meta = reader.load(which)
        assert meta["loss"] == 10.0 - step
        assert arrays.keys() == {"model", "extra"}
        assert arrays["model"]["w"].tobytes() == arrays_of(step)["model"]["w"].tobytes()
        assert arrays["extra"]["n"].dtype == np.int64
        assert reader.folder(which) == tmp_path / "run" / "steps" / step_name(step)
    assert reader.step_folders() == names(2, 3)


def test_the_first_save_is_the_best_whatever_it_is_told(tmp_path):
    run = RunFolder(tmp_path, keep=1)
    with run.lock():
        save(run, 5, best=False)
    assert run.pointer()["best"] == run.pointer()["last"]
    assert run.load("best")[1]["loss"] == 5.0


def test_an_expected_type_is_checked(tmp_path):
    run = RunFolder(tmp_path)
    with run.lock():
        run.save(1, arrays_of(1), {"type": "wavenet"}, best=True)
    assert run.load("best", expected_type="wavenet")[1]["type"] == "wavenet"
    with pytest.raises(CheckpointError, match="holds a 'wavenet' model, not a 'mlp' model"):
        run.load("last", expected_type="mlp")


@pytest.mark.parametrize(
    "keep, best_steps, kept",
    [
        (1, [1], [1, 5]),
        (1, [1, 3], [3, 5]),
        (1, [5], [5]),
        (2, [1], [1, 4, 5]),
        (2, [1, 5], [4, 5]),
        (2, [1, 4], [4, 5]),
        (3, [1, 2], [2, 3, 4, 5]),
        (10, [3], [1, 2, 3, 4, 5]),
    ],
)
def test_keep_prunes_to_the_recent_steps_plus_the_best(tmp_path, keep, best_steps, kept):
    run = RunFolder(tmp_path, keep=keep)
    with run.lock():
        for step in range(1, 6):
            save(run, step, best=step in best_steps)
    assert run.step_folders() == names(*kept)
    pointer = run.pointer()
    assert [e["folder"] for e in pointer["recent"]] == names(*range(1, 6))[-keep:]
    assert pointer["best"]["folder"] == step_name(max(best_steps))
    assert run.load("best")[1]["loss"] == 10.0 - max(best_steps)
    assert run.load("last")[1]["loss"] == 5.0
    for folder in run.step_folders():  # every kept folder is whole
        assert sorted(p.name for p in (tmp_path / "steps" / folder).iterdir()) == [
            "extra.safetensors",
            "meta.json",
            "model.safetensors",
        ]


@pytest.mark.parametrize("keep", [0, -1])
def test_keep_must_be_at_least_one(tmp_path, keep):
    with pytest.raises(ValueError, match="at least 1 recent checkpoint"):
        RunFolder(tmp_path, keep=keep)


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(3, 2)


def test_save_training_round_trips_a_model_and_its_optimizer(tmp_path):
    manual_seed(0)
    model = Tiny()
    optimizer = optim.AdamW(model.parameters(), lr=0.1)
    model.layer(Tensor(np.ones((4, 3)))).sum().backward()
    optimizer.step()
    run = RunFolder(tmp_path)
    with run.lock():
        run.save_training(1, {"type": "tiny"}, model, optimizer, best=True)
    arrays, meta = run.load("best", expected_type="tiny")
    assert arrays["model"].keys() == {"layer.weight", "layer.bias"}
    assert arrays["optimizer"].keys() == {
        f"layer.{p}.{slot}" for p in ("weight", "bias") for slot in ("exp_avg", "exp_avg_sq")
    }
    assert meta["optimizer"]["t"] == 1
    for name, value in model.state_dict().items():
        assert arrays["model"][name].tobytes() == value.tobytes(), name


# -- the pointer ----------------------------------------------------------------------------------


def test_the_pointer_records_each_folders_meta_hash(tmp_path):
    run = RunFolder(tmp_path, keep=2)
    with run.lock():
        save(run, 1, best=True)
        save(run, 2)
    for entry in entries(run.pointer()):
        meta = tmp_path / "steps" / entry["folder"] / "meta.json"
        assert hashlib.sha256(meta.read_bytes()).hexdigest() == entry["meta_sha256"]


@pytest.mark.parametrize("which", ["last", "best"])
def test_a_tampered_meta_json_is_refused(tmp_path, which):
    """A meta.json edited into another valid one (its array hashes still right) is caught
    by the pointer's hash of it."""
    run = RunFolder(tmp_path, keep=1)
    with run.lock():
        save(run, 1, best=True)
        save(run, 2)
    path = run.folder(which) / "meta.json"
    meta = json.loads(path.read_text())
    meta["loss"] = -1.0
    path.write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="do not match the run's pointer file") as error:
        run.load(which)
    assert str(path) in str(error.value)


def test_a_tampered_array_file_is_refused(tmp_path):
    run = RunFolder(tmp_path)
    with run.lock():
        save(run, 1, best=True)
    path = run.folder("last") / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(CheckpointError, match="model.safetensors: contents do not match"):
        run.load("last")


def test_a_missing_step_folder_is_refused(tmp_path):
    run = RunFolder(tmp_path)
    with run.lock():
        save(run, 1, best=True)
    shutil.rmtree(run.folder("last"))
    with pytest.raises(CheckpointError, match="no checkpoint here"):
        run.load("last")


def valid_pointer():
    entry = {"folder": step_name(1), "meta_sha256": "0" * 64}
    return {"version": 1, "last": entry, "best": entry, "recent": [entry]}


def pointer_with(**changes):
    return json.dumps({**valid_pointer(), **changes}).encode()


def pointer_without(key):
    pointer = valid_pointer()
    del pointer[key]
    return json.dumps(pointer).encode()


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"{not json",
        b"\xff\xfe\x00",
        b"[]",
        b"null",
        b'"last"',
        pointer_with(version=2),
        pointer_without("version"),
        pointer_without("best"),
        pointer_without("recent"),
        pointer_with(recent=5),
        pointer_with(recent=["step-00000001"]),
        pointer_with(last={"folder": step_name(1)}),
        pointer_with(best={"folder": 1, "meta_sha256": "0"}),
        pointer_with(last=None),
        pointer_with(last={"folder": "../..", "meta_sha256": "0" * 64}),
        pointer_with(best={"folder": "step-1/../../x", "meta_sha256": "0" * 64}),
    ],
    ids=lambda content: content.decode(errors="replace")[:40],
)
def test_a_damaged_pointer_is_a_clear_error(tmp_path, content):
    run = RunFolder(tmp_path)
    with run.lock():
        save(run, 1, best=True)
    (tmp_path / POINTER).write_bytes(content)
    for read in (run.pointer, run.load, run.folder):
        with pytest.raises(CheckpointError, match="checkpoints.json: the run's pointer is damaged"):
            read()


def test_taking_the_lock_with_a_damaged_pointer_removes_no_checkpoint(tmp_path):
    run = RunFolder(tmp_path, keep=1)
    with run.lock():
        save(run, 1, best=True)
        save(run, 2)
    (tmp_path / POINTER).write_text("{damaged")
    with pytest.raises(CheckpointError, match="pointer is damaged"), run.lock():
        pass
    assert run.step_folders() == names(1, 2)


def test_no_pointer_is_no_run(tmp_path):
    run = RunFolder(tmp_path / "run")
    assert not run.holds_run()
    with pytest.raises(CheckpointError, match="holds no saved run .checkpoints.json is missing"):
        run.load("best")


# -- the lock -------------------------------------------------------------------------------------


def test_a_step_that_is_saved_already_is_never_overwritten(tmp_path):
    run = RunFolder(tmp_path)
    with run.lock():
        save(run, 1, best=True)
        before = (run.folder("last") / "meta.json").read_bytes()
        with pytest.raises(ValueError, match="step 1 is saved already"):
            save(run, 1)
    assert (run.folder("last") / "meta.json").read_bytes() == before


def test_save_without_the_lock_is_refused(tmp_path):
    run = RunFolder(tmp_path / "run")
    with pytest.raises(RuntimeError, match="save.. needs the run's lock"):
        save(run, 1, best=True)
    assert not (tmp_path / "run").exists()
    with run.lock():
        save(run, 1, best=True)
    before = run.pointer()
    with pytest.raises(RuntimeError, match="needs the run's lock"):  # not after it either
        save(run, 2)
    assert run.pointer() == before and run.step_folders() == names(1)


TRY_LOCK = """
import sys
from gpt_from_scratch.runs import RunFolder, RunLockedError
try:
    with RunFolder(sys.argv[1]).lock():
        print("locked")
except RunLockedError as err:
    print("refused:", err)
"""

HOLD_LOCK = """
import sys
import numpy as np
from gpt_from_scratch.runs import RunFolder
run = RunFolder(sys.argv[1])
with run.lock():
    run.save(1, {"model": {"w": np.ones(2)}}, {"loss": 1.0}, best=True)
    print("holding", flush=True)
    sys.stdin.read()
"""


def try_lock_in_another_process(path: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", TRY_LOCK, str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_another_process_is_refused_naming_the_holder_until_it_lets_go(tmp_path):
    run = RunFolder(tmp_path / "run")
    with run.lock():
        assert (tmp_path / "run" / LOCK).read_text() == f"{os.getpid()}\n"
        said = try_lock_in_another_process(tmp_path / "run")
        assert said.startswith("refused:"), said
        assert f"another run (process {os.getpid()}) is writing here" in said
        save(run, 1, best=True)  # the refused process changed nothing
    assert try_lock_in_another_process(tmp_path / "run") == "locked"
    assert run.step_folders() == names(1) and run.load("last")[1]["loss"] == 9.0


def test_the_lock_of_a_killed_process_is_free_again(tmp_path):
    path = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline() == "holding\n", holder.stderr.read()
        with pytest.raises(RunLockedError, match=f"another run .process {holder.pid}. is writing"):
            with RunFolder(path).lock():
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=60)
    run = RunFolder(path)
    with run.lock():  # the kernel released the flock with the process
        assert (path / LOCK).read_text() == f"{os.getpid()}\n"
        save(run, 2)
    assert run.step_folders() == names(1, 2)


def test_the_same_process_cannot_take_the_lock_twice(tmp_path):
    run = RunFolder(tmp_path)
    with run.lock():
        with pytest.raises(RunLockedError, match=f"process {os.getpid()}"):
            with RunFolder(tmp_path).lock():
                pass
        save(run, 1, best=True)  # the refusal did not release the first lock
    assert run.holds_run()


def test_a_run_that_fails_before_its_first_save_leaves_no_folder(tmp_path):
    run = RunFolder(tmp_path / "parent" / "run")
    with run.lock():
        assert (tmp_path / "parent" / "run" / LOCK).is_file()
    assert not (tmp_path / "parent" / "run").exists()
    with pytest.raises(ValueError, match="diverged"), run.lock():
        raise ValueError("the loss diverged before the first save")
    assert not (tmp_path / "parent" / "run").exists()


def test_an_existing_folder_is_left_as_it_was_found(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    run = RunFolder(tmp_path)
    with run.lock():
        assert run.leftovers() == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_holds_run_and_leftovers(tmp_path):
    run = RunFolder(tmp_path / "run")
    assert not run.holds_run() and run.step_folders() == []
    with run.lock():
        assert not run.holds_run() and run.leftovers() == []
        save(run, 1, best=True)
        assert run.holds_run()
    assert run.holds_run() and run.leftovers() == []  # the lock file stays, and is no leftover
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == sorted([LOCK, POINTER, "steps"])
    (tmp_path / "run" / "log.jsonl").write_text("{}\n")
    (tmp_path / "run" / "notes").mkdir()
    assert run.leftovers() == ["log.jsonl", "notes"]


# -- what a killed run leaves ---------------------------------------------------------------------


def test_taking_the_lock_removes_what_a_killed_run_left(tmp_path):
    run = RunFolder(tmp_path, keep=1)
    with run.lock():
        save(run, 1, best=True)
        save(run, 2)
    steps = tmp_path / "steps"
    # a whole step folder saved just before a kill, that the pointer never came to name
    shutil.copytree(steps / step_name(2), steps / step_name(3))
    # the staging folder of a checkpoint being written
    staging = steps / f".{step_name(4)}.12345.0badcafe.tmp"
    staging.mkdir()
    (staging / "model.safetensors").write_bytes(b"half")
    # the temporary file of a pointer (or log) being replaced
    (tmp_path / ".checkpoints.json.12345.0badcafe.tmp").write_text('{"version"')
    (tmp_path / ".log.jsonl.12345.deadbeef.tmp").write_text("")
    (tmp_path / "notes.txt").write_text("not the run's: kept")
    before = {name: (steps / name / "meta.json").read_bytes() for name in names(1, 2)}
    assert run.step_folders() == names(1, 2, 3)

    with run.lock():
        assert sorted(p.name for p in steps.iterdir()) == names(1, 2)
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
            [LOCK, POINTER, "notes.txt", "steps"]
        )
    assert {name: (steps / name / "meta.json").read_bytes() for name in names(1, 2)} == before
    assert run.load("last")[1]["loss"] == 8.0 and run.load("best")[1]["loss"] == 9.0


@pytest.mark.parametrize("with_run", [False, True])
def test_taking_the_lock_removes_nothing_a_run_did_not_write(tmp_path, with_run):
    """A file or folder in steps/ that is not named like a step is not the run's to remove."""
    run = RunFolder(tmp_path, keep=1)
    if with_run:
        with run.lock():
            save(run, 1, best=True)
    (tmp_path / "steps").mkdir(exist_ok=True)
    (tmp_path / "steps" / "notes.txt").write_text("mine")
    (tmp_path / "steps" / "figures").mkdir()
    (tmp_path / "steps" / "figures" / "loss.png").write_bytes(b"png")
    with run.lock():
        if with_run:
            save(run, 2)
    assert (tmp_path / "steps" / "notes.txt").read_text() == "mine"
    assert (tmp_path / "steps" / "figures" / "loss.png").read_bytes() == b"png"
    assert run.step_folders() == (names(1, 2) if with_run else [])


def test_a_killed_first_save_leaves_nothing_once_the_lock_is_taken(tmp_path):
    """A step folder without a pointer: the run had not saved, and the folder goes."""
    run = RunFolder(tmp_path / "run")
    with run.lock():
        save(run, 1, best=True)
    (tmp_path / "run" / POINTER).unlink()
    with run.lock():
        assert run.step_folders() == []
    assert not (tmp_path / "run" / "steps").exists()


# -- reading while a writer moves the pointer -----------------------------------------------------


@pytest.fixture
def counted_loads(monkeypatch):
    """A function: make ``runs.load_checkpoint`` call ``before(folder)`` first; the list of
    folder names it was called with."""
    calls = []

    def install(before):
        real = runs.load_checkpoint

        def load(folder, *args, **kwargs):
            calls.append(Path(folder).name)
            before(folder)
            return real(folder, *args, **kwargs)

        monkeypatch.setattr(runs, "load_checkpoint", load)
        return calls

    return install


def test_load_reads_the_pointer_again_when_a_writer_moves_it(tmp_path, counted_loads):
    writer = RunFolder(tmp_path, keep=1)
    reader = RunFolder(tmp_path)
    with writer.lock():
        save(writer, 1, best=True)

        def writer_saves_in_between(folder):
            if len(calls) == 1:  # the folder just read from the pointer goes away
                save(writer, 2, best=True)

        calls = counted_loads(writer_saves_in_between)
        arrays, meta = reader.load("last")
    assert calls == names(1, 2)
    assert meta["loss"] == 8.0 and arrays["model"]["w"][0, 0] == 2


def test_load_gives_up_when_the_pointer_keeps_moving(tmp_path, counted_loads):
    writer = RunFolder(tmp_path, keep=1)
    with writer.lock():
        save(writer, 1, best=True)
        calls = counted_loads(lambda folder: save(writer, len(calls) + 1, best=True))
        with pytest.raises(CheckpointError, match="no checkpoint here"):
            RunFolder(tmp_path).load("best")
    assert calls == names(1, 2, 3)


def test_load_does_not_retry_a_damaged_folder_the_pointer_still_names(tmp_path, counted_loads):
    run = RunFolder(tmp_path)
    with run.lock():
        save(run, 1, best=True)
    (run.folder("last") / "extra.safetensors").write_bytes(b"")
    calls = counted_loads(lambda folder: None)
    with pytest.raises(CheckpointError, match="extra.safetensors: contents do not match"):
        run.load("last")
    assert calls == names(1)
