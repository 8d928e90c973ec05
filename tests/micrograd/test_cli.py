"""python -m gpt_from_scratch.micrograd trains on two moons and reports loss and accuracy."""

import sys

from gpt_from_scratch.micrograd.__main__ import main


def test_cli_trains_and_reports(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["micrograd", "--points", "10", "--steps", "2"])
    main()
    out = capsys.readouterr().out
    assert out.startswith("final loss ") and "accuracy" in out
