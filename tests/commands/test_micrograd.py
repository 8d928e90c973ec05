"""python -m gpt_from_scratch.micrograd trains on two moons and reports loss and accuracy."""

from gpt_from_scratch.commands.micrograd import main


def test_cli_trains_and_reports(capsys):
    main(["--points", "10", "--steps", "2"])
    captured = capsys.readouterr()
    assert captured.out.startswith("final loss ") and "accuracy" in captured.out
    assert "2/2" in captured.err  # the progress bar reached the last step
