"""The command line trains, saves, loads and encodes; a bad file is one line and exit 1."""

from gpt_from_scratch.commands.bpe import main

TEXT = "low lower lowest newer wider " * 50


def test_train_then_encode(tmp_path, capsys):
    text_file = tmp_path / "text.txt"
    text_file.write_text(TEXT, encoding="utf-8")
    prefix = tmp_path / "toy"
    assert main(["train", str(text_file), "--vocab-size", "270", "--out", str(prefix)]) == 0
    assert "trained 14 merges" in capsys.readouterr().out
    assert main(["encode", str(prefix) + ".model", "lower"]) == 0
    assert capsys.readouterr().out.splitlines()[1] == "low|er"


def test_a_model_without_a_split_pattern_encodes_as_a_basic_tokenizer(tmp_path, capsys):
    text_file = tmp_path / "text.txt"
    text_file.write_text(TEXT, encoding="utf-8")
    prefix = tmp_path / "basic"
    argv = ["train", str(text_file), "--vocab-size", "270", "--pattern", "none"]
    assert main([*argv, "--out", str(prefix)]) == 0
    capsys.readouterr()
    assert main(["encode", str(prefix) + ".model", "lower"]) == 0
    ids, pieces = capsys.readouterr().out.splitlines()
    assert ids != "[]" and "".join(pieces.split("|")) == "lower"


def test_a_bad_model_file_is_a_clean_error(tmp_path, capsys):
    bad = tmp_path / "bad.model"
    bad.write_text("not a model\n", encoding="utf-8")
    assert main(["encode", str(bad), "x"]) == 1
    assert "bad.model, line 1: unknown version" in capsys.readouterr().err


def test_an_empty_training_text_is_refused_before_any_work(tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    assert main(["train", str(empty), "--out", str(tmp_path / "toy")]) == 1
    assert (
        capsys.readouterr().err
        == f"error: {empty}: the file is empty; there is nothing to learn merges from\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.txt"]
