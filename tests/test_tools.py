"""tools/: a long command's run, recorded for the book; the book's outputs checked for width."""

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_recorded_run_holds_its_command_time_and_history(tmp_path):
    text = tmp_path / "text.txt"
    text.write_text("To be, or not to be, that is the question.\n" * 8, encoding="utf-8")
    record = tmp_path / "record.json"
    command = (
        f"python -m gpt_from_scratch.gpt train --input {text} --out {tmp_path / 'run'} "
        "--n-layer 1 --n-head 1 --n-embd 8 --block-size 4 --batch-size 2 --eval-iters 1 "
        "--max-iters 4 --eval-interval 2 --quiet"
    ).split()
    tool = [sys.executable, str(ROOT / "tools" / "record_run.py"), str(record), "--"]
    subprocess.run([*tool, *command], check=True, capture_output=True)
    result = json.loads(record.read_text())
    assert result["command"] == " ".join(command)
    assert result["step"] == 4 and result["wall_seconds"] > 0
    assert [step for step, _ in result["history"]["evals"]["val"]] == [2, 4]
    assert len(result["history"]["loss"]) == 4
    assert result["train_config"]["max_iters"] == 4 and result["config"]["n_layer"] == 1


def test_a_recorded_makemore_run_holds_its_evaluations(tmp_path):
    words = tmp_path / "words.txt"
    words.write_text("\n".join(["anna", "bob", "carla", "dave", "emma", "fred"] * 20) + "\n")
    record = tmp_path / "record.json"
    command = (
        f"python -m gpt_from_scratch.makemore --type bigram --input {words} "
        f"--out {tmp_path / 'run'} --steps 20 --eval-every 10 --num-samples 1"
    ).split()
    tool = [sys.executable, str(ROOT / "tools" / "record_run.py"), str(record), "--"]
    subprocess.run([*tool, *command], check=True, capture_output=True)
    result = json.loads(record.read_text())
    assert [entry["step"] for entry in result["log"]] == [10, 20, 20]
    assert result["log"][-1]["final"] is True
    best = min(entry["dev_loss"] for entry in result["log"])
    assert result["best_dev_loss"] == best


def test_a_command_without_a_run_folder_is_refused(tmp_path):
    tool = [sys.executable, str(ROOT / "tools" / "record_run.py"), str(tmp_path / "r.json")]
    done = subprocess.run([*tool, "--", "python", "-c", "pass"], capture_output=True, text=True)
    assert done.returncode == 1 and "needs --out" in done.stderr
    assert not (tmp_path / "r.json").exists()


def test_outputs_wider_than_the_page_are_found_with_their_chapter_and_cell(tmp_path):
    spec = importlib.util.spec_from_file_location("check_outputs", ROOT / "tools/check_outputs.py")
    check_outputs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check_outputs)
    main, wide_lines = check_outputs.main, check_outputs.wide_lines
    wide = "x" * 89
    notebook = {
        "cells": [
            {"outputs": [{"output_type": "stream", "text": ["fits\n", wide + "\n"]}]},
            {"outputs": [{"output_type": "execute_result", "data": {"text/plain": [wide]}}]},
            {"outputs": [{"data": {"text/plain": [wide], "image/png": "..."}}]},
        ]
    }
    assert wide_lines(notebook) == [(0, wide), (1, wide)]
    executed = tmp_path / "jupyter_execute" / "book"
    executed.mkdir(parents=True)
    (executed / "ok.ipynb").write_text(json.dumps({"cells": notebook["cells"][2:]}))
    assert main([str(tmp_path)]) == 0
    (executed / "wide.ipynb").write_text(json.dumps(notebook))
    assert main([str(tmp_path)]) == 1
    assert main([str(tmp_path / "nothing")]) == 1


def test_an_executed_notebook_without_any_output_is_reported(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("check_outputs", ROOT / "tools/check_outputs.py")
    check_outputs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check_outputs)
    executed = tmp_path / "jupyter_execute"
    executed.mkdir()
    code = {"cell_type": "code", "source": "print(1)", "outputs": []}
    (executed / "prose.ipynb").write_text(json.dumps({"cells": [{"cell_type": "markdown"}]}))
    assert check_outputs.main([str(tmp_path)]) == 0
    (executed / "unexecuted.ipynb").write_text(json.dumps({"cells": [code]}))
    assert check_outputs.main([str(tmp_path)]) == 1
    assert "unexecuted.ipynb: no cell has an output" in capsys.readouterr().out


def test_a_changed_library_clears_the_execution_cache_and_the_doctrees(tmp_path):
    spec = importlib.util.spec_from_file_location("invalidate", ROOT / "tools/invalidate_cache.py")
    invalidate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(invalidate)
    invalidate.CACHE, invalidate.DOCTREES = tmp_path / ".jupyter_cache", tmp_path / ".doctrees"
    invalidate.STAMP = tmp_path / ".src-hash"
    invalidate.STAMP.write_text("the hash of an older src/\n")
    for folder in (invalidate.CACHE, invalidate.DOCTREES):
        folder.mkdir()
    invalidate.main()
    assert not invalidate.CACHE.exists() and not invalidate.DOCTREES.exists()
    assert invalidate.STAMP.read_text().strip() == invalidate.source_hash()
    for folder in (invalidate.CACHE, invalidate.DOCTREES):
        folder.mkdir()
    invalidate.main()  # src/ unchanged: both are kept
    assert invalidate.CACHE.exists() and invalidate.DOCTREES.exists()
