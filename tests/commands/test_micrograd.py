"""python -m gpt_from_scratch.micrograd trains on two moons and reports loss and accuracy."""

import importlib

from gpt_from_scratch.commands.micrograd import main


def test_cli_trains_and_reports(capsys):
    assert main(["--points", "10", "--steps", "2"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("final loss ") and "accuracy" in captured.out
    assert "2/2" in captured.err  # the progress bar reached the last step


def test_a_loss_that_is_not_a_number_stops_the_run_with_one_line(capsys, monkeypatch):
    train = importlib.import_module("gpt_from_scratch.micrograd.train")
    step = train.training_step

    def diverging(*args, **kwargs):
        _, scores = step(*args, **kwargs)
        return float("nan"), scores

    monkeypatch.setattr(train, "training_step", diverging)
    assert main(["--points", "10", "--steps", "5"]) == 1
    err = capsys.readouterr().err
    assert err.endswith("error: the training loss became nan at step 1 (try a lower --lr)\n")
