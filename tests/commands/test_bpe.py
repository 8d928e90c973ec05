"""The command line trains, saves, loads and encodes."""

import pytest

from gpt_from_scratch.commands.bpe import main


def test_train_then_encode(tmp_path, capsys):
    text_file = tmp_path / "text.txt"
    text_file.write_text("low lower lowest newer wider " * 50, encoding="utf-8")
    prefix = tmp_path / "toy"
    main(["train", str(text_file), "--vocab-size", "270", "--out", str(prefix)])
    assert "trained 14 merges" in capsys.readouterr().out
    main(["encode", str(prefix) + ".model", "lower"])
    assert capsys.readouterr().out.splitlines()[1] == "low|er"


def test_a_bad_model_file_is_a_clean_error(tmp_path, capsys):
    bad = tmp_path / "bad.model"
    bad.write_text("not a model\n", encoding="utf-8")
    with pytest.raises(SystemExit):
        main(["encode", str(bad), "x"])
    assert "bad.model, line 1: unknown version" in capsys.readouterr().err
