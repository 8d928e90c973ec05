"""The small commands, and ``python -m gpt_from_scratch.<part>`` as an entry into each command."""

import hashlib
import runpy
import sys

import numpy as np
import pytest

from gpt_from_scratch import data
from gpt_from_scratch.commands import activations, manual_backprop
from gpt_from_scratch.commands import data as data_command
from gpt_from_scratch.commands.progress import progress_bar, show_progress
from gpt_from_scratch.data import DataSet
from gpt_from_scratch.makemore.train import History


@pytest.fixture
def tiny_dataset(tmp_path, monkeypatch):
    source = tmp_path / "tiny.txt"
    source.write_text("emma\nolivia\n")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    monkeypatch.setitem(
        data.DATASETS, "tiny", DataSet("tiny", "tiny.txt", source.as_uri(), digest, "")
    )
    monkeypatch.delenv(data.ENV_DATA, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / data.CACHE_NAME / "tiny.txt"


def test_fetch_prints_where_each_data_set_is(tiny_dataset, capsys):
    assert data_command.main(["fetch", "tiny"]) == 0
    assert str(tiny_dataset) in capsys.readouterr().out


def test_fetch_reports_an_unknown_data_set_in_one_line_before_any_download(tiny_dataset, capsys):
    assert data_command.main(["fetch", "tiny", "nonexistent"]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("error: unknown data set 'nonexistent'")
    assert captured.err.count("\n") == 1 and captured.out == ""
    assert not tiny_dataset.exists()


@pytest.mark.parametrize("part", ["micrograd", "makemore", "gpt", "bpe"])
def test_python_dash_m_part_enters_its_command(part, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [part, "--help"])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_module(f"gpt_from_scratch.{part}", run_name="__main__")
    assert exit_info.value.code == 0
    assert f"python -m gpt_from_scratch.{part}" in capsys.readouterr().out


@pytest.mark.parametrize(
    "module, argv",
    [
        ("micrograd", ["--steps", "0"]),
        ("bpe", ["encode", "missing.model", "hi"]),
        ("commands.data", ["fetch", "nonexistent"]),
        ("commands.activations", ["--seed", "-1"]),
        ("commands.manual_backprop", ["--n-hidden", "0"]),
    ],
)
def test_python_dash_m_exits_with_the_commands_status(module, argv, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [module, *argv])
    # runpy runs a fresh copy of the module as __main__, as python -m does
    monkeypatch.delitem(sys.modules, f"gpt_from_scratch.{module}", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_module(f"gpt_from_scratch.{module}", run_name="__main__")
    assert exit_info.value.code in (1, 2)
    assert capsys.readouterr().err.startswith("error: ")


def test_the_progress_callback_shows_the_recent_loss(capsys):
    history = History(loss=[2.0] * 100, lr=[0.1] * 100)
    with progress_bar(100) as bar:
        callback = show_progress(bar)
        for step in range(1, 101):
            callback(step, history)
    err = capsys.readouterr().err
    assert "100/100" in err and "loss=2.0000" in err and "lr=0.1" in err


def test_the_activations_command_trains_every_recipe_asked_for(dataset, capsys):
    dataset("names")
    assert activations.main(["--init", "kaiming", "batchnorm", "--steps", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and all("initial loss" in line and "dev" in line for line in lines)
    assert all(np.isfinite(float(line.rsplit(" ", 1)[1])) for line in lines)


def test_the_manual_backprop_command_reports_train_and_dev(dataset, capsys):
    dataset("names")
    assert manual_backprop.main(["--steps", "3", "--n-hidden", "8"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["train", "dev"]
