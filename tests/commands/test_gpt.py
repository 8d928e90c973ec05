"""The gpt command end to end: train, resume, sample, and its errors."""

import importlib
import re

import numpy as np
import pytest

from gpt_from_scratch.checkpoint import CheckpointError
from gpt_from_scratch.commands.gpt import load_model, main, resume, save_every_eval
from gpt_from_scratch.gpt import (
    TrainConfig,
    fit,
    make_optimizer,
)
from gpt_from_scratch.runs import RunFolder

TEXT = "To be, or not to be, that is the question.\n" * 4


def train_into(out, model, vocab, data, config):
    run = RunFolder(out)
    optimizer = make_optimizer(model, config)
    with run.lock():
        callbacks = [save_every_eval(run, model, optimizer, vocab, config)]
        return fit(model, data, data, config, optimizer=optimizer, callbacks=callbacks)


def test_checkpoint_of_another_configuration_is_a_clear_error(tmp_path, tiny_gpt):
    model, vocab, data = tiny_gpt()
    config = TrainConfig(max_iters=2, batch_size=2, eval_interval=2, eval_iters=1)
    train_into(tmp_path, model, vocab, data, config)
    other, _, _ = tiny_gpt(block_size=4)
    with pytest.raises(CheckpointError, match="block_size: checkpoint 8, asked 4"):
        resume(RunFolder(tmp_path), other, make_optimizer(other, config), vocab)
    loaded, loaded_vocab, meta = load_model(tmp_path)
    assert loaded_vocab == vocab and meta["step"] == 2
    for (name, a), (_, b) in zip(model.named_parameters(), loaded.named_parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)


def test_command_line_train_then_sample(tmp_path, capsys):
    text_file = tmp_path / "input.txt"
    text_file.write_text(TEXT * 3, encoding="utf-8")
    out = tmp_path / "run"
    common = [
        "--input",
        str(text_file),
        "--out",
        str(out),
        "--n-layer",
        "1",
        "--n-embd",
        "16",
        "--n-head",
        "2",
        "--block-size",
        "8",
        "--batch-size",
        "4",
        "--eval-iters",
        "2",
        "--quiet",
    ]
    assert main(["train", *common, "--max-iters", "6", "--eval-interval", "3"]) == 0
    assert main(["train", *common, "--max-iters", "9", "--eval-interval", "3", "--resume"]) == 0
    assert "step      9" in capsys.readouterr().out
    code = main(
        [
            "sample",
            "--out",
            str(out),
            "--prompt",
            "To be",
            "--length",
            "20",
            "--seed",
            "1",
            "--top-k",
            "5",
            "--temperature",
            "0.8",
        ]
    )
    assert code == 0
    sample = capsys.readouterr().out
    assert sample.startswith("To be") and len(sample.rstrip("\n")) >= 25


@pytest.mark.parametrize(
    "argv, message",
    [
        (["sample", "--out", "{tmp}/nothing"], "nothing: holds no saved run"),
        (["train", "--input", "{tmp}/missing.txt", "--out", "{tmp}/r"], "no such file"),
        (["train", "--input", "{tmp}/binary.bin", "--out", "{tmp}/r"], "not UTF-8"),
        (["sample", "--out", "{tmp}/run", "--prompt", "To be?"], "'\\?' .*position 5"),
    ],
)
def test_command_line_errors(tmp_path, capsys, argv, message, tiny_gpt):
    (tmp_path / "binary.bin").write_bytes(b"\xff\xfe\x00")
    model, vocab, data = tiny_gpt()
    config = TrainConfig(max_iters=1, batch_size=2, eval_interval=1, eval_iters=1)
    (tmp_path / "run").mkdir()
    train_into(tmp_path / "run", model, vocab, data, config)
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.splitlines()) == 1
    assert re.search(message, err)


SIZES = "--n-layer 1 --n-embd 16 --n-head 2 --block-size 8 --batch-size 4 --eval-iters 2"


@pytest.fixture
def train(tmp_path):
    """A function: run ``gpt train`` on a short text into ``tmp_path / out``; its exit status."""
    text_file = tmp_path / "input.txt"
    text_file.write_text(TEXT * 3, encoding="utf-8")

    def run(out, *flags):
        argv = ["train", "--input", str(text_file), "--out", str(tmp_path / out)]
        return main([*argv, *SIZES.split(), "--quiet", "--dropout", "0.1", *map(str, flags)])

    return run


def snapshot(folder):
    """Every file under ``folder`` with its bytes: to check that nothing changed on disk."""
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def interrupt_at_step(monkeypatch, n):
    """Make the training loop see Ctrl-C at its ``n``-th step (counting from 1)."""
    loop = importlib.import_module("gpt_from_scratch.makemore.train")  # the module
    real, calls = loop.train_step, []

    def step(*args, **kwargs):
        calls.append(None)
        if len(calls) == n:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "train_step", step)


def test_a_resumed_run_ends_bit_identical_to_an_uninterrupted_one(
    train, tmp_path, capsys, monkeypatch
):
    """Ctrl-C at step 6 keeps the checkpoint of step 4; resumed, the run ends as the straight
    one, with dropout on so that the saved random state matters too."""
    flags = ("--max-iters", 8, "--eval-interval", 2)
    assert train("straight", *flags) == 0
    interrupt_at_step(monkeypatch, 6)
    capsys.readouterr()
    assert train("resumed", *flags) == 130
    err = capsys.readouterr().err
    assert "interrupted; the run is saved at step 4" in err and "--resume" in err
    monkeypatch.undo()
    assert RunFolder(tmp_path / "resumed").load("last")[1]["step"] == 4
    assert train("resumed", *flags, "--resume") == 0
    a, meta_a = RunFolder(tmp_path / "straight").load("last")
    b, meta_b = RunFolder(tmp_path / "resumed").load("last")
    assert meta_b["step"] == 8 and a.keys() == b.keys() == {"model", "optimizer"}
    for stem in a:
        assert a[stem].keys() == b[stem].keys(), stem
        for name in a[stem]:
            assert a[stem][name].tobytes() == b[stem][name].tobytes(), f"{stem}/{name}"
    assert meta_a["optimizer"] == meta_b["optimizer"] and meta_a["rng"] == meta_b["rng"]
    assert meta_a["history"]["loss"] == meta_b["history"]["loss"]
    assert meta_a["history"]["evals"] == meta_b["history"]["evals"]


def test_keep_holds_the_recent_checkpoints_and_sample_reads_the_best(train, tmp_path):
    assert train("run", "--max-iters", 10, "--eval-interval", 2, "--keep", 1, "--lr", 5) == 0
    run = RunFolder(tmp_path / "run")
    _, last = run.load("last")
    val = dict(last["history"]["evals"]["val"])
    best_step = min(val, key=lambda step: (val[step], -step))  # the last of equal bests
    assert last["step"] == 10 and [int(s) for s in val] == [2, 4, 6, 8, 10]
    assert run.step_folders() == sorted({f"step-{best_step:08d}", "step-00000010"})
    model, _, meta = load_model(tmp_path / "run")
    assert meta["step"] == best_step
    for name, array in run.load("best")[0]["model"].items():
        assert model.state_dict()[name].tobytes() == array.tobytes(), name


def test_a_new_run_never_overwrites_an_old_one(train, tmp_path, capsys):
    assert train("run", "--max-iters", 2, "--eval-interval", 2) == 0
    before = snapshot(tmp_path / "run")
    capsys.readouterr()
    assert train("run", "--max-iters", 2, "--eval-interval", 2) == 2
    assert "already holds a run: pass --resume" in capsys.readouterr().err
    assert snapshot(tmp_path / "run") == before


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_damaged_checkpoint_is_refused_and_nothing_changes(train, tmp_path, capsys, damage):
    assert train("run", "--max-iters", 2, "--eval-interval", 2) == 0
    weights = RunFolder(tmp_path / "run").folder("last") / "model.safetensors"
    data = weights.read_bytes()
    if damage == "truncate":
        weights.write_bytes(data[: len(data) // 2])
    else:
        weights.write_bytes(data[:-10] + bytes([data[-10] ^ 0xFF]) + data[-9:])
    before = snapshot(tmp_path / "run")
    capsys.readouterr()
    assert train("run", "--max-iters", 4, "--eval-interval", 2, "--resume") == 1
    assert main(["sample", "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(str(weights) in line for line in err)
    assert all("contents do not match meta.json (truncated, corrupt" in line for line in err)
    assert snapshot(tmp_path / "run") == before


def test_resume_refuses_another_text_and_changes_nothing(train, tmp_path, capsys):
    assert train("run", "--max-iters", 2, "--eval-interval", 2) == 0
    before = snapshot(tmp_path / "run")
    # the same number of characters, so the model's size is the same: only the text differs
    (tmp_path / "input.txt").write_text(TEXT.replace("T", "Z") * 3, encoding="utf-8")
    capsys.readouterr()
    assert train("run", "--max-iters", 4, "--eval-interval", 2, "--resume") == 1
    assert "trained on another text (its vocabulary differs)" in capsys.readouterr().err
    assert snapshot(tmp_path / "run") == before
